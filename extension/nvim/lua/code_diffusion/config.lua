--- Options of `require("code_diffusion").setup()`, with their defaults.
---
--- Every key is optional; `setup()` deep-merges what you pass over `M.defaults`.
--- The server's own settings (`init_options` and `settings`) default to the values in
--- `lsp/code_diffusion.lua`; only the keys you set here are changed.

local M = {}

---@class code_diffusion.InitOptions Restart-only server options (sent in initializationOptions).
---@field modelPath? string Local model directory; "" = the embedded model.
---@field device? "auto"|"cpu"|"cuda"|string|"mps" `cuda:N` picks a GPU.
---@field precision? "auto"|"float32"|"bfloat16"|"float16" `auto`: bfloat16 on a CPU with native bf16.
---@field trustRemoteCode? boolean Run a checkpoint's own Python code.
---@field allowUnsafeWeights? boolean Load pickle (.bin/.pt) weights.
---@field logLevel? "error"|"warning"|"info"|"debug"
---@field backend? "local"|"remote" `remote`: an HTTP completions server (docs/scale-out.md).
---@field remote? table url, model, path, apiKeyEnv, timeoutMs, retries, stream,
---  allowPrefixOnly, steps, blockLength, threshold (docs/protocol.md).

---@class code_diffusion.Settings Live server settings (answered to workspace/configuration).
---@field enableInlineCompletion? boolean Ghost text from the server on/off.
---@field temperature? number 0 – 2.
---@field repetitionPenalty? number Repetition penalty inside the hole, 1 – 3 (1: off).
---@field steps? integer Denoising steps, 1 – 512.
---@field maxLength? integer Tokens per suggestion, 1 – 256.
---@field numSamples? integer Deprecated: candidates of every request kind, 1 – 8 (0: each its own).
---@field inline? table `{ numSamples = 1, minChance = 0.2 }`: ghost text's candidates, 1 – 8,
---  shown only from this estimated chance of being right (0 – 1; 0: every one).
---@field menu? table `{ numSamples = 3 }`: the completion menu's candidates, 1 – 8.
---@field actions? table `{ numSamples = 3 }`: code actions' candidates, 1 – 8.
---@field debounceMs? integer Server-side debounce, 0 – 2000.
---@field useRewards? boolean Rank candidates by syntax, confidence and suffix overlap.
---@field showNotifications? "off"|"onError"|"onWarning"|"always"
---@field context? table enabled, workspace, maxFiles, maxFileBytes, priorWeight
---  (docs/protocol.md); the defaults are dotted keys (`['context.workspace']`).

---@class code_diffusion.GhostConfig
---@field enabled boolean Show ghost text (inline completion) while typing.
---@field auto_trigger boolean Ask for a suggestion after each edit or cursor move in insert mode.
---  When false, only the `trigger` keymap asks.
---@field debounce_ms integer Wait this long after the last keystroke before asking.
---@field builtin boolean On Neovim 0.12+, use the built-in `vim.lsp.inline_completion`.
---@field hl_group string Highlight group of the ghost text (linked to `Comment` by default).

---@class code_diffusion.Keymaps Insert-mode keys; `false` leaves a key alone.
--- Each one only acts while a suggestion is shown; otherwise the key does what it did before
--- (so `<Tab>` still indents, and a mapping you already had on it still runs).
---@field accept string|false Accept the whole suggestion.
---@field accept_word string|false Accept the next word.
---@field accept_line string|false Accept the rest of the current line (and its newline).
---@field dismiss string|false Hide the suggestion.
---@field next string|false Show the next candidate.
---@field prev string|false Show the previous candidate.
---@field trigger string|false Ask for a suggestion now (works with auto_trigger = false too).

---@class code_diffusion.CompletionConfig
---@field enabled boolean Register the server with `vim.lsp.completion` (menu items, CTRL-X CTRL-O).
---@field autotrigger boolean Open the menu on the server's trigger characters.

---@class code_diffusion.Config
---@field lsp boolean Call `vim.lsp.config()` + `vim.lsp.enable("code_diffusion")` from setup().
---@field python? string Interpreter that has code_diffusion installed (sets `cmd`).
---@field cmd? string[] Full server command; wins over `python`.
---@field filetypes? string[] Filetypes to attach to (default: python).
---@field init_options code_diffusion.InitOptions
---@field settings code_diffusion.Settings
---@field ghost code_diffusion.GhostConfig
---@field keymaps code_diffusion.Keymaps
---@field completion code_diffusion.CompletionConfig
---@field commands boolean Create the :CodeDiffusion* commands in attached buffers.
---@field notify_prefix string Prefix of this plugin's messages.

---@type code_diffusion.Config
M.defaults = {
  lsp = true,
  python = nil,
  cmd = nil,
  filetypes = nil,
  init_options = {},
  settings = {},
  ghost = {
    enabled = true,
    auto_trigger = true,
    debounce_ms = 75,
    builtin = true,
    hl_group = 'CodeDiffusionGhost',
  },
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-l>',
    dismiss = '<C-]>',
    next = '<M-]>',
    prev = '<M-[>',
    trigger = '<M-\\>',
  },
  completion = {
    enabled = true,
    autotrigger = false,
  },
  commands = true,
  notify_prefix = '[code-diffusion] ',
}

--- The options in force (defaults until setup() runs).
---@type code_diffusion.Config
M.options = vim.deepcopy(M.defaults)

--- Merge user options over the defaults and check their types.
---@param opts? table
---@return code_diffusion.Config
function M.resolve(opts)
  opts = opts or {}
  vim.validate('opts', opts, 'table')
  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  vim.validate('lsp', merged.lsp, 'boolean')
  vim.validate('python', merged.python, 'string', true)
  vim.validate('cmd', merged.cmd, 'table', true)
  vim.validate('filetypes', merged.filetypes, 'table', true)
  vim.validate('init_options', merged.init_options, 'table')
  vim.validate('settings', merged.settings, 'table')
  vim.validate('ghost.enabled', merged.ghost.enabled, 'boolean')
  vim.validate('ghost.auto_trigger', merged.ghost.auto_trigger, 'boolean')
  vim.validate('ghost.debounce_ms', merged.ghost.debounce_ms, 'number')
  vim.validate('ghost.builtin', merged.ghost.builtin, 'boolean')
  vim.validate('ghost.hl_group', merged.ghost.hl_group, 'string')
  for name, lhs in pairs(merged.keymaps) do
    if lhs ~= false and type(lhs) ~= 'string' then
      error(('keymaps.%s: expected a key (string) or false, got %s'):format(name, vim.inspect(lhs)))
    end
  end
  vim.validate('completion.enabled', merged.completion.enabled, 'boolean')
  vim.validate('completion.autotrigger', merged.completion.autotrigger, 'boolean')
  vim.validate('commands', merged.commands, 'boolean')
  return merged
end

return M
