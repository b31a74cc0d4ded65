-- nvim --headless --clean -l dump_lsp_config.lua <path to lsp/code_diffusion.lua>: print it as JSON.
io.stdout:write(vim.json.encode(dofile(arg[1])))
