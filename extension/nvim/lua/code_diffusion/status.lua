--- The server's state, from `codeDiffusion/status` notifications, for statuslines.
---
--- ```lua
--- vim.o.statusline = "%f %= %{v:lua.require'code_diffusion'.statusline()} "
--- ```
---
--- Each notification also fires `User CodeDiffusionStatus` with the status in `data`.

local M = {}

M.METHOD = 'codeDiffusion/status'

---@class code_diffusion.Status
---@field state "loading"|"ready"|"busy"|"error"
---@field model? string
---@field device? string
---@field precision? string
---@field lastLatencyMs? number
---@field message? string
---@field progress? number 0 – 100 while loading.
---@field workspace? {files: integer, indexing: boolean} The workspace index.

---@type table<integer, code_diffusion.Status>
M.by_client = {}

--- Handler of `codeDiffusion/status` (registered in vim.lsp.handlers by setup()).
---@param params code_diffusion.Status
---@param ctx lsp.HandlerContext
function M.handler(_, params, ctx)
  if type(params) ~= 'table' then
    return
  end
  -- JSON null arrives as vim.NIL; keep plain nils.
  local status = {}
  for k, v in pairs(params) do
    if v ~= vim.NIL then
      status[k] = v
    end
  end
  M.by_client[ctx.client_id] = status
  vim.schedule(function()
    pcall(vim.api.nvim_exec_autocmds, 'User', {
      pattern = 'CodeDiffusionStatus',
      modeline = false,
      data = { client_id = ctx.client_id, status = status },
    })
    pcall(vim.cmd.redrawstatus)
  end)
end

--- The last status of the code-diffusion client attached to `bufnr` (or of any running one).
---@param bufnr? integer
---@return code_diffusion.Status?, vim.lsp.Client?
function M.get(bufnr)
  local util = require('code_diffusion.util')
  local client = util.client(bufnr) or util.client(nil, true)
  if not client then
    return nil
  end
  return M.by_client[client.id], client
end

--- Forget the status of a client that stopped.
---@param client_id integer
function M.forget(client_id)
  M.by_client[client_id] = nil
end

--- A short statusline string: "" when no server runs, else e.g. "code-diffusion: ready 84 ms",
--- "code-diffusion: loading 40%", "code-diffusion: busy", "code-diffusion: error".
---@param bufnr? integer
---@return string
function M.statusline(bufnr)
  local status, client = M.get(bufnr)
  if not client then
    return ''
  end
  if not status then
    return 'code-diffusion: starting'
  end
  local s = 'code-diffusion: ' .. tostring(status.state)
  if status.state == 'loading' and type(status.progress) == 'number' then
    s = s .. (' %d%%'):format(status.progress)
  elseif status.state == 'ready' and type(status.lastLatencyMs) == 'number' then
    s = s .. (' %d ms'):format(math.floor(status.lastLatencyMs + 0.5))
  end
  return s
end

return M
