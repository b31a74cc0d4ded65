--- code-diffusion for Neovim 0.11+.
---
--- ```lua
--- require("code_diffusion").setup({
---   python = vim.fn.expand("~/.venvs/code-diffusion/bin/python"),
---   init_options = { modelPath = "" },      -- restart-only server options
---   settings = { temperature = 0.0 },       -- live server settings
--- })
--- ```
---
--- setup() is optional sugar over `vim.lsp.enable("code_diffusion")`: it merges your options
--- into the `code_diffusion` LSP config, and in each attached buffer it turns on ghost text,
--- LSP completion, the keymaps and the :CodeDiffusion* commands. Calling it again replaces the
--- previous options. See `config.lua` for every option and its default.

local config = require('code_diffusion.config')
local status = require('code_diffusion.status')
local util = require('code_diffusion.util')

local M = {}

--- Ghost text through Neovim's own `vim.lsp.inline_completion` (0.12+): accept and cycle
--- keys only (the built-in has no partial accept).
---@param bufnr integer
---@param client vim.lsp.Client
---@param keymaps code_diffusion.Keymaps
local function attach_builtin_ghost(bufnr, client, keymaps)
  local ic = vim.lsp.inline_completion
  ic.enable(true, { bufnr = bufnr, client_id = client.id })
  local select = ic.select or ic.jump
  local keys = require('code_diffusion.keymaps')
  if keymaps.accept then
    -- get() accepts the shown candidate and returns true, or returns false.
    keys.map(bufnr, keymaps.accept, 'accept', function()
      return ic.get({ bufnr = bufnr }) == true
    end, '')
  end
  for name, count in pairs({ next = 1, prev = -1 }) do
    if keymaps[name] and select then
      vim.keymap.set('i', keymaps[name], function()
        select({ bufnr = bufnr, count = count })
      end, { buffer = bufnr, desc = keys.DESC .. name })
    end
  end
end

--- Turn on ghost text, completion, keymaps and commands in a buffer the server attached to.
---@param client vim.lsp.Client
---@param bufnr integer
function M.on_attach(client, bufnr)
  local opts = config.options
  local caps = client.server_capabilities or {}
  if opts.ghost.enabled and caps.inlineCompletionProvider then
    if opts.ghost.builtin and vim.lsp.inline_completion then
      attach_builtin_ghost(bufnr, client, opts.keymaps)
    else
      require('code_diffusion.ghost').attach(bufnr, client, opts.ghost, opts.keymaps)
    end
  end
  if opts.completion.enabled and caps.completionProvider then
    require('code_diffusion.completion').attach(bufnr, client, opts.completion)
  end
  if opts.commands then
    require('code_diffusion.commands').create(bufnr)
  end
end

--- Configure and start the plugin. Idempotent: a second call replaces the options.
---@param opts? code_diffusion.Config|table
function M.setup(opts)
  local cfg = config.resolve(opts)
  config.options = cfg
  if vim.fn.has('nvim-0.11') == 0 then
    util.notify('Neovim 0.11 or newer is needed', vim.log.levels.ERROR)
    return
  end

  vim.lsp.handlers[status.METHOD] = status.handler

  if cfg.lsp then
    local overrides = {
      init_options = cfg.init_options,
      settings = { codeDiffusion = cfg.settings },
      capabilities = { textDocument = { inlineCompletion = { dynamicRegistration = false } } },
    }
    if cfg.cmd then
      overrides.cmd = cfg.cmd
    elseif cfg.python then
      overrides.cmd = { cfg.python, '-m', 'code_diffusion', 'serve' }
    end
    if cfg.filetypes then
      overrides.filetypes = cfg.filetypes
    end
    vim.lsp.config(util.NAME, overrides)
    vim.lsp.enable(util.NAME)
  end

  local group = vim.api.nvim_create_augroup('code_diffusion', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and util.is_ours(client) then
        M.on_attach(client, args.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and util.is_ours(client) then
        require('code_diffusion.ghost').detach(args.buf)
        if vim.tbl_count(client.attached_buffers) <= 1 then
          status.forget(client.id)
        end
      end
    end,
  })
  vim.api.nvim_create_autocmd('ColorScheme', {
    group = group,
    callback = require('code_diffusion.ghost').define_highlight,
  })
  -- Buffers attached before this call (setup() run late, or run again).
  for _, client in ipairs(vim.lsp.get_clients()) do
    if util.is_ours(client) then
      for bufnr in pairs(client.attached_buffers) do
        M.on_attach(client, bufnr)
      end
    end
  end
end

--- Statusline component: "" when no server runs, else e.g. "code-diffusion: ready 84 ms".
---@param bufnr? integer
---@return string
function M.statusline(bufnr)
  return status.statusline(bufnr)
end

--- Accept the suggestion shown (for your own keymaps; returns false if none is shown).
---@param what? "all"|"word"|"line"
---@return boolean
function M.accept(what)
  return require('code_diffusion.ghost').accept(what)
end

--- Is a suggestion shown in the current buffer? (for your own <Tab> logic)
---@return boolean
function M.visible()
  return require('code_diffusion.ghost').visible()
end

--- Code actions as functions (same as the :CodeDiffusion* commands).
function M.generate()
  require('code_diffusion.commands').run_action('generate')
end
function M.fill_body()
  require('code_diffusion.commands').run_action('fill_body')
end
function M.regenerate(range)
  require('code_diffusion.commands').run_action('regenerate', { range = range })
end
function M.repair()
  require('code_diffusion.commands').run_action('repair')
end

--- Change live server settings (sent as workspace/didChangeConfiguration).
---@param settings code_diffusion.Settings
function M.set_settings(settings)
  config.options.settings = vim.tbl_deep_extend('force', config.options.settings, settings)
  for _, client in ipairs(vim.lsp.get_clients()) do
    if util.is_ours(client) then
      client.settings = vim.tbl_deep_extend('force', client.settings or {}, {
        codeDiffusion = settings,
      })
      client:notify('workspace/didChangeConfiguration', { settings = client.settings })
    end
  end
end

return M
