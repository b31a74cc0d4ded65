--- The :CodeDiffusion* user commands and the Lua functions behind them.
---
--- Each code action runs `workspace/executeCommand` with `{uri, range, version}`. The server
--- computes the edit and applies it through `workspace/applyEdit` (Neovim's own handler), but
--- only if the buffer is still at `version`.

local util = require('code_diffusion.util')

local api = vim.api

local M = {}

---@class code_diffusion.Action
---@field command string Server command (workspace/executeCommand).
---@field title string Code action title.
---@field user_command string

---@type table<string, code_diffusion.Action>
M.actions = {
  generate = {
    command = 'codeDiffusion.generateFromComment',
    title = 'Generate from comment',
    user_command = 'CodeDiffusionGenerate',
  },
  fill_body = {
    command = 'codeDiffusion.fillBody',
    title = 'Fill in body',
    user_command = 'CodeDiffusionFillBody',
  },
  regenerate = {
    command = 'codeDiffusion.regenerateSelection',
    title = 'Regenerate selection',
    user_command = 'CodeDiffusionRegenerate',
  },
  repair = {
    command = 'codeDiffusion.repairSyntax',
    title = 'Repair syntax error',
    user_command = 'CodeDiffusionRepair',
  },
}

--- LSP position of a 0-based row and byte column.
local function position(bufnr, row, col, encoding)
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  col = math.min(col, #line)
  return { line = row, character = vim.lsp.util.character_offset(bufnr, row, col, encoding) }
end

--- The range a command works on: the charwise visual selection it was run from, the lines of
--- an explicit :range, or the cursor.
---@param bufnr integer
---@param encoding string
---@param cmd_opts? {range: integer, line1: integer, line2: integer}
---@return lsp.Range
function M.range(bufnr, encoding, cmd_opts)
  if cmd_opts and cmd_opts.range and cmd_opts.range > 0 then
    local l1, l2 = cmd_opts.line1, cmd_opts.line2
    local vs, ve = api.nvim_buf_get_mark(bufnr, '<'), api.nvim_buf_get_mark(bufnr, '>')
    if vim.fn.visualmode() == 'v' and vs[1] == l1 and ve[1] == l2 then
      local last = api.nvim_buf_get_lines(bufnr, ve[1] - 1, ve[1], false)[1] or ''
      local stop = math.min(ve[2], #last)
      if stop < #last then
        stop = stop + 1 + vim.str_utf_end(last, stop + 1) -- include the whole last character
      end
      return {
        start = position(bufnr, vs[1] - 1, vs[2], encoding),
        ['end'] = position(bufnr, ve[1] - 1, stop, encoding),
      }
    end
    local last = api.nvim_buf_get_lines(bufnr, l2 - 1, l2, false)[1] or ''
    return {
      start = { line = l1 - 1, character = 0 },
      ['end'] = position(bufnr, l2 - 1, #last, encoding),
    }
  end
  local pos = api.nvim_win_get_cursor(0)
  local p = position(bufnr, pos[1] - 1, pos[2], encoding)
  return { start = p, ['end'] = vim.deepcopy(p) }
end

---@param bufnr? integer
---@return vim.lsp.Client?
local function need_client(bufnr)
  local client = util.client(bufnr)
  if not client then
    util.notify('no code-diffusion server is attached to this buffer', vim.log.levels.WARN)
  end
  return client
end

--- Run a code action by name on `range` (default: see `M.range`).
---@param name "generate"|"fill_body"|"regenerate"|"repair"
---@param opts? {bufnr?: integer, range?: lsp.Range, cmd_opts?: table, on_done?: fun(err: any, result: {applied: boolean, reason: string?}?)}
function M.run_action(name, opts)
  opts = opts or {}
  local action = assert(M.actions[name], 'unknown action ' .. tostring(name))
  local bufnr = opts.bufnr or api.nvim_get_current_buf()
  local client = need_client(bufnr)
  if not client then
    return
  end
  local encoding = client.offset_encoding or 'utf-16'
  local range = opts.range or M.range(bufnr, encoding, opts.cmd_opts)
  if name == 'regenerate' and vim.deep_equal(range.start, range['end']) then
    -- No selection: regenerate the cursor line.
    local row = range.start.line
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    range =
      { start = { line = row, character = 0 }, ['end'] = position(bufnr, row, #line, encoding) }
  end
  local args = {
    uri = vim.uri_from_bufnr(bufnr),
    range = range,
    version = vim.lsp.util.buf_versions[bufnr],
  }
  api.nvim_echo({ { ('[code-diffusion] %s…'):format(action.title) } }, false, {})
  client:request('workspace/executeCommand', {
    command = action.command,
    arguments = { args },
  }, function(err, result)
    if err then
      util.notify(
        ('%s failed: %s'):format(action.title, err.message or vim.inspect(err)),
        vim.log.levels.ERROR
      )
    elseif type(result) == 'table' and result.applied == false then
      local reason = result.reason ~= vim.NIL and result.reason or 'no edit'
      util.notify(('%s: not applied (%s)'):format(action.title, reason), vim.log.levels.WARN)
    else
      api.nvim_echo({ { '' } }, false, {})
    end
    if opts.on_done then
      opts.on_done(err, result)
    end
  end, bufnr)
end

--- Reload the model with the current settings (`codeDiffusion.restartModel`).
---@param bufnr? integer
function M.restart(bufnr)
  local client = need_client(bufnr)
  if client then
    client:request(
      'workspace/executeCommand',
      { command = 'codeDiffusion.restartModel' },
      function(err)
        if err then
          util.notify('restart failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
        else
          util.notify('model reloading')
        end
      end,
      bufnr
    )
  end
end

--- Stop the server and start it again (it reads init_options again).
function M.restart_server()
  local function ours()
    return vim.tbl_filter(util.is_ours, vim.lsp.get_clients())
  end
  local names = {}
  for _, client in ipairs(ours()) do
    names[client.name] = true
    client:stop()
  end
  if not vim.wait(5000, function()
    return #ours() == 0
  end, 50) then
    for _, client in ipairs(ours()) do
      client:stop(true)
    end
  end
  for name in pairs(names) do
    vim.lsp.enable(name, false)
    vim.lsp.enable(name)
  end
  util.notify('server restarted')
end

--- Print the server's status (`codeDiffusion.status`).
---@param bufnr? integer
function M.show_status(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  client:request(
    'workspace/executeCommand',
    { command = 'codeDiffusion.status' },
    function(err, result)
      if err then
        util.notify('status failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
        return
      end
      local lines = {}
      for _, key in ipairs({
        'state',
        'model',
        'device',
        'precision',
        'lastLatencyMs',
        'progress',
        'message',
      }) do
        local v = type(result) == 'table' and result[key] or nil
        if v ~= nil and v ~= vim.NIL then
          lines[#lines + 1] = ('%s: %s'):format(key, tostring(v))
        end
      end
      local ws = type(result) == 'table' and result.workspace or nil
      if type(ws) == 'table' then
        lines[#lines + 1] = ('workspace: %d files indexed%s'):format(
          ws.files or 0,
          ws.indexing and ' (indexing)' or ''
        )
      end
      util.notify(table.concat(lines, '\n'))
    end,
    bufnr
  )
end

--- Create the buffer-local :CodeDiffusion* commands.
---@param bufnr integer
function M.create(bufnr)
  local function cmd(name, fn, opts)
    api.nvim_buf_create_user_command(bufnr, name, fn, opts)
  end
  for name, action in pairs(M.actions) do
    cmd(action.user_command, function(o)
      M.run_action(name, { bufnr = bufnr, cmd_opts = o })
    end, { range = true, desc = 'code-diffusion: ' .. action.title })
  end
  cmd('CodeDiffusionRestart', function(o)
    if o.bang then
      M.restart_server()
    else
      M.restart(bufnr)
    end
  end, { bang = true, desc = 'code-diffusion: reload the model (!: restart the server)' })
  cmd('CodeDiffusionStatus', function()
    M.show_status(bufnr)
  end, { desc = 'code-diffusion: show the server status' })
  cmd('CodeDiffusionToggle', function()
    local on = require('code_diffusion.ghost').toggle()
    util.notify('ghost text ' .. (on and 'on' or 'off'))
  end, { desc = 'code-diffusion: ghost text on/off' })
  cmd('CodeDiffusionLog', function()
    vim.cmd.tabnew(vim.fn.fnameescape(vim.lsp.get_log_path()))
  end, { desc = 'code-diffusion: open the LSP log' })
end

return M
