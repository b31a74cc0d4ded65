--- Ghost text state: one table per buffer, shared by the other `code_diffusion.ghost.*` modules.

local api = vim.api

local M = {}

M.ns = api.nvim_create_namespace('code_diffusion.ghost')

--- Automatic suggestions on/off for all buffers (:CodeDiffusionToggle).
M.enabled = true

M.METHOD = 'textDocument/inlineCompletion'
M.TRIGGER_INVOKED, M.TRIGGER_AUTOMATIC = 1, 2

---@class code_diffusion.GhostItem
---@field text string What is left to insert at the anchor.
---@field replace integer Bytes after the anchor that accepting the whole item replaces.
---@field snippet boolean Expand `raw` as a snippet when the whole item is accepted.
---@field raw? string The snippet body.
---@field command? lsp.Command Run after the item is accepted.

---@class code_diffusion.GhostState
---@field client vim.lsp.Client
---@field opts code_diffusion.GhostConfig
---@field augroup integer
---@field timer? uv.uv_timer_t
---@field req_id? integer The request in flight.
---@field items code_diffusion.GhostItem[]
---@field index integer
---@field anchor? [integer, integer] 0-based row, byte column the suggestion is drawn at.
---@field line? string The anchor line when the suggestion was (re)drawn.
---@field extmark? integer
---@field armed boolean The debounce timer runs.
---@field answered integer Answers received (for tests and statuslines).

---@type table<integer, code_diffusion.GhostState>
M.states = {}

function M.in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

--- The cursor as a 0-based row and byte column.
function M.cursor0()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

function M.get_line(bufnr, row)
  return api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end

--- The candidate shown.
---@param st code_diffusion.GhostState
---@return code_diffusion.GhostItem?
function M.current(st)
  return st.items[st.index]
end

--- Stop the debounce timer and cancel the request in flight.
---@param st code_diffusion.GhostState
function M.cancel(st)
  if st.timer then
    st.timer:stop()
  end
  st.armed = false
  if st.req_id then
    local id = st.req_id
    st.req_id = nil
    pcall(st.client.cancel_request, st.client, id)
  end
end

return M
