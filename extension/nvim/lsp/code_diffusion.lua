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
    precision = 'float32', -- float32 | auto (bfloat16 on a CPU with native bf16) | bfloat16 | float16
    trustRemoteCode = false, -- run a checkpoint's own Python code
    allowUnsafeWeights = false, -- load pickle (.bin/.pt) weights
    logLevel = 'info', -- error | warning | info | debug
    backend = 'local', -- local | remote (an HTTP completions server, see docs/scale-out.md)
    -- The remote backend (backend = 'remote'); a nested `remote = { url = ... }` overrides these.
    ['remote.url'] = '', -- e.g. http://127.0.0.1:8000 (code-diffusion serve-ray)
    ['remote.model'] = '', -- a name the server's /v1/models lists; '' = none sent
    ['remote.path'] = '/v1/completions', -- or /v1/fim/completions (Mercury)
    ['remote.apiKeyEnv'] = '', -- the NAME of the environment variable holding the key
    ['remote.timeoutMs'] = 30000,
    ['remote.retries'] = 2, -- for HTTP 429/503 only
    ['remote.stream'] = true,
    ['remote.allowPrefixOnly'] = false, -- send the prefix alone when the server cannot infill
    ['remote.steps'] = 0, -- diffusion extras; 0 = not sent
    ['remote.blockLength'] = 0,
    ['remote.threshold'] = 0.0,
  },
  -- Live: answered to workspace/configuration for section `codeDiffusion`.
  settings = {
    codeDiffusion = {
      enableInlineCompletion = true,
      temperature = 0.0,
      repetitionPenalty = 1.0, -- inside the hole, against `x, x, x, x`; 1 = off
      steps = 8,
      maxLength = 48,
      numSamples = 0, -- deprecated: 1 – 8 sets every kind below at once
      debounceMs = 50,
      useRewards = true,
      showNotifications = 'onError', -- off | onError | onWarning | always
      -- Candidates per request kind; a nested `inline = { numSamples = 2 }` overrides these.
      ['inline.numSamples'] = 1, -- ghost text shows one
      ['inline.minChance'] = 0.2, -- ghost text only from this estimated chance of being right
      ['menu.numSamples'] = 3, -- the completion menu lists them all
      ['actions.numSamples'] = 3, -- code actions apply the best
      -- Context: the document and the workspace folders (root_dir) as the model's context.
      -- A nested `context = { workspace = false }` overrides these.
      ['context.enabled'] = true,
      ['context.workspace'] = true, -- false: read no file from disk, use the open buffers only
      ['context.maxFiles'] = 10000,
      ['context.maxFileBytes'] = 1000000,
      ['context.priorWeight'] = 0.0, -- the cache prior's weight; 0 = off
    },
  },
}
