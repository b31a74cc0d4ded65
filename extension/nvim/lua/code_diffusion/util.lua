--- Small shared helpers.

local M = {}

M.NAME = 'code_diffusion'

--- Is `client` a code-diffusion server (by config name, or by the name the server reports)?
---@param client vim.lsp.Client
---@return boolean
function M.is_ours(client)
  return client.name == M.NAME
    or (client.server_info ~= nil and client.server_info.name == 'code-diffusion')
end

--- The code-diffusion client attached to `bufnr` (default: current buffer); with `any`, any
--- running one.
---@param bufnr? integer
---@param any? boolean
---@return vim.lsp.Client?
function M.client(bufnr, any)
  local filter = any and {} or { bufnr = bufnr or vim.api.nvim_get_current_buf() }
  for _, client in ipairs(vim.lsp.get_clients(filter)) do
    if M.is_ours(client) then
      return client
    end
  end
  return nil
end

--- `vim.notify` with the plugin's prefix.
---@param msg string
---@param level? integer
function M.notify(msg, level)
  local prefix = require('code_diffusion.config').options.notify_prefix
  vim.notify(prefix .. msg, level or vim.log.levels.INFO)
end

return M
