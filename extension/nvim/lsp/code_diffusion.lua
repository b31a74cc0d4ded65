-- code-diffusion: a language server that writes code with a masked-diffusion code model.
--
-- Neovim 0.11+:  put this directory on 'runtimepath' (or copy this file into
-- ~/.config/nvim/lsp/) and call
--
--   vim.lsp.enable('code_diffusion')
--
-- The server is `python3 -m code_diffusion serve` (install it with `pip install code-diffusion`
-- into the interpreter named in `cmd`). Restart-only options travel in `init_options`; live
-- settings are read by the server through workspace/configuration (section `codeDiffusion`),
-- which Neovim answers from `settings`. See docs/protocol.md for every key.

---@type vim.lsp.Config
return {
  cmd = { 'python3', '-m', 'code_diffusion', 'serve' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', '.git' },
  -- Restart-only: changing them needs :CodeDiffusionRestart (or a server restart).
  init_options = {
    modelPath = '', -- a local model directory; empty = the embedded model
    device = 'auto', -- auto | cpu | cuda | cuda:N | mps
    precision = 'float32', -- float32 | bfloat16 | float16
    trustRemoteCode = false, -- run a checkpoint's own Python code
    allowUnsafeWeights = false, -- load pickle (.bin/.pt) weights
    logLevel = 'info', -- error | warning | info | debug
  },
  -- Live: answered to workspace/configuration for section `codeDiffusion`.
  settings = {
    codeDiffusion = {
      enableInlineCompletion = true,
      temperature = 0.0,
      steps = 8,
      maxLength = 48,
      numSamples = 3,
      debounceMs = 50,
      useRewards = true,
      showNotifications = 'onError', -- off | onError | onWarning | always
    },
  },
}
