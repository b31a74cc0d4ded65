--- :checkhealth code_diffusion

local M = {}

local health = vim.health

--- Run `cmd` and return (ok, trimmed stdout or stderr).
---@param cmd string[]
---@return boolean, string
local function run(cmd)
  local ok, proc = pcall(vim.system, cmd, { text = true })
  if not ok then
    return false, tostring(proc)
  end
  local res = proc:wait(30000)
  if res.signal ~= 0 and res.code == 0 then
    return false, 'timed out'
  end
  local out =
    vim.trim(res.code == 0 and (res.stdout or '') or ((res.stderr or '') .. (res.stdout or '')))
  return res.code == 0, out
end

--- The Python interpreter in the server command, if it is `<python> -m code_diffusion ...`.
---@param cmd string[]
---@return string?
local function python_of(cmd)
  if cmd[2] == '-m' and cmd[3] == 'code_diffusion' then
    return cmd[1]
  end
  return nil
end

---@param config vim.lsp.Config
local function check_model(config, python)
  local init = config.init_options or {}
  if type(init.codeDiffusion) == 'table' then
    init = vim.tbl_extend('force', init, init.codeDiffusion)
  end
  local path = init.modelPath
  if type(path) == 'string' and path ~= '' then
    path = vim.fn.expand(path)
    if vim.fn.isdirectory(path) == 0 then
      health.error(('modelPath %q is not a directory'):format(path), {
        'Point init_options.modelPath at a local model directory (config.json + weights),',
        'or set it to "" to use the embedded model.',
      })
      return
    end
    local weights = vim.fn.glob(path .. '/*.safetensors', false, true)
    local pickles = vim.fn.glob(path .. '/*.bin', false, true)
    if vim.fn.filereadable(path .. '/config.json') == 0 then
      health.error(('modelPath %q has no config.json'):format(path))
    elseif #weights > 0 then
      health.ok(('model directory %s (%d safetensors file(s))'):format(path, #weights))
    elseif #pickles > 0 then
      local allowed = init.allowUnsafeWeights == true
      local report = allowed and health.warn or health.error
      report(('model directory %s has only pickle weights (.bin)'):format(path), {
        allowed and 'allowUnsafeWeights is on: they will be loaded'
          or 'set init_options.allowUnsafeWeights = true to load them, or convert to safetensors',
      })
    else
      health.error(('model directory %s has no weights (*.safetensors)'):format(path))
    end
    return
  end
  if not python then
    health.info('modelPath is empty: the server uses its embedded model')
    return
  end
  local code = 'import os, code_diffusion as c; '
    .. "print(os.path.join(os.path.dirname(c.__file__), 'models', 'embedded'))"
  local ok, dir = run({ python, '-c', code })
  if ok and vim.fn.filereadable(dir .. '/model.safetensors') == 1 then
    health.ok('embedded model present: ' .. dir)
  else
    health.error('embedded model not found' .. (ok and (' in ' .. dir) or ''), {
      'Reinstall code-diffusion, or set init_options.modelPath to a local checkpoint.',
    })
  end
end

function M.check()
  health.start('code-diffusion: Neovim')
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.11 or newer is needed (vim.lsp.config / vim.lsp.enable)')
  end
  if vim.lsp.inline_completion then
    health.ok('built-in vim.lsp.inline_completion found: used for ghost text')
  else
    health.info('ghost text is drawn by this plugin (no built-in vim.lsp.inline_completion)')
  end

  health.start('code-diffusion: server')
  local config = vim.lsp.config.code_diffusion
  if not config then
    health.error("no LSP config 'code_diffusion'", {
      'Add extension/nvim to runtimepath (it has lsp/code_diffusion.lua), or copy that file to',
      '~/.config/nvim/lsp/code_diffusion.lua.',
    })
    return
  end
  local enabled = vim.lsp.is_enabled and vim.lsp.is_enabled('code_diffusion')
  if enabled then
    health.ok("vim.lsp.enable('code_diffusion') is on")
  else
    health.warn('the config is not enabled', {
      "call require('code_diffusion').setup() or vim.lsp.enable('code_diffusion')",
    })
  end
  local cmd = config.cmd
  if type(cmd) ~= 'table' or not cmd[1] then
    health.info('cmd is not a command list; skipping the interpreter checks')
    return
  end
  health.info('cmd: ' .. table.concat(cmd, ' '))
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(('%q is not an executable on $PATH'):format(cmd[1]), {
      "set setup({ python = '/path/to/venv/bin/python' }) to the interpreter with code-diffusion",
    })
    return
  end
  local python = python_of(cmd)
  if python then
    health.ok('Python found: ' .. exe)
    local ok, out =
      run({ python, '-c', 'import code_diffusion; print(code_diffusion.__version__)' })
    if ok then
      health.ok('import code_diffusion works (' .. out .. ')')
    else
      health.error('import code_diffusion fails: ' .. out, {
        ('%s -m pip install code-diffusion'):format(python),
        'or point setup({ python = ... }) at the interpreter where it is installed',
      })
      return
    end
    local vok, version = run({ python, '-m', 'code_diffusion', '--version' })
    if vok then
      health.ok('server version: ' .. version)
    else
      health.error('`python -m code_diffusion --version` failed: ' .. version)
    end
  else
    local vok, version = run({ cmd[1], '--version' })
    if vok then
      health.ok('server version: ' .. version)
    else
      health.warn(('`%s --version` failed: %s'):format(cmd[1], version))
    end
  end
  check_model(config, python)

  health.start('code-diffusion: this buffer')
  local client = require('code_diffusion.util').client()
  if not client then
    health.info('no code-diffusion client attached to the current buffer')
    return
  end
  health.ok(('client %d attached (root %s)'):format(client.id, tostring(client.root_dir)))
  local status = require('code_diffusion.status').by_client[client.id]
  if not status then
    health.info('no status received yet')
  elseif status.state == 'error' then
    health.error('server state: error: ' .. tostring(status.message), {
      ':CodeDiffusionRestart reloads the model; :CodeDiffusionLog shows the log',
    })
  else
    health.ok('server state: ' .. require('code_diffusion.status').statusline())
  end
end

return M
