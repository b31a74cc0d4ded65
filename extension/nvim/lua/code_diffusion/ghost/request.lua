--- Asking for suggestions: the request at the cursor, its answer, and what an edit or a cursor
--- move does to the suggestion shown (typing its next characters keeps it; anything else drops
--- it and asks again after `debounce_ms`).

local api = vim.api
local items = require('code_diffusion.ghost.items')
local render = require('code_diffusion.ghost.render')
local state = require('code_diffusion.ghost.state')

local M = {}

--- Draw the server's answer, if the cursor is still where it was asked.
---@param bufnr integer
---@param result any
---@param row integer
---@param col integer
function M.show(bufnr, result, row, col)
  local st = state.states[bufnr]
  if not st then
    return
  end
  local line = state.get_line(bufnr, row)
  st.items = items.normalize(result, line, row, col, st.client.offset_encoding or 'utf-16')
  st.index = #st.items > 0 and 1 or 0
  st.anchor = { row, col }
  render.render(bufnr)
end

--- Ask the server for a suggestion at the cursor now; cancels the one in flight.
---@param bufnr? integer
---@param kind? integer InlineCompletionTriggerKind (default: Invoked)
function M.request(bufnr, kind)
  bufnr = bufnr or api.nvim_get_current_buf()
  local st = state.states[bufnr]
  if not st or bufnr ~= api.nvim_get_current_buf() then
    return
  end
  state.cancel(st)
  local client = st.client
  if client.is_stopped and client:is_stopped() then
    return
  end
  local row, col = state.cursor0()
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding or 'utf-16')
  params.context = { triggerKind = kind or state.TRIGGER_INVOKED }
  local id
  local ok, req_id = client:request(state.METHOD, params, function(err, result)
    if st.req_id ~= id or state.states[bufnr] ~= st then
      return -- cancelled or superseded
    end
    st.req_id = nil
    st.answered = st.answered + 1
    if err then
      vim.lsp.log.warn('code_diffusion inlineCompletion', err)
      return
    end
    local r, c = state.cursor0()
    local fresh = api.nvim_get_current_buf() == bufnr
      and api.nvim_buf_get_changedtick(bufnr) == tick
      and r == row
      and c == col
      and state.in_insert_mode()
    if fresh then
      M.show(bufnr, result, row, col)
    end
  end, bufnr)
  if ok then
    id = req_id
    st.req_id = req_id
  end
end

--- What the user typed since the suggestion was drawn, if it is the suggestion's next
--- characters (and nothing else on the line changed); nil otherwise.
---@param bufnr integer
---@param st code_diffusion.GhostState
---@param item code_diffusion.GhostItem
---@param row integer
---@param col integer
---@return string?
local function typed_into(bufnr, st, item, row, col)
  local ar, ac = st.anchor[1], st.anchor[2]
  if not (row > ar or (row == ar and col > ac)) then
    return nil
  end
  local ok, chunks = pcall(api.nvim_buf_get_text, bufnr, ar, ac, row, col, {})
  local typed = ok and table.concat(chunks, '\n') or nil
  local line = state.get_line(bufnr, row)
  local old_after = st.line:sub(ac + 1)
  local prefix_kept = ar ~= row or line:sub(1, ac) == st.line:sub(1, ac)
  if
    typed
    and typed ~= ''
    and prefix_kept
    and #typed < #item.text
    and vim.startswith(item.text, typed)
    and line:sub(col + 1) == old_after
  then
    return typed
  end
  return nil
end

--- Start (or restart) the debounce timer that asks again.
---@param bufnr integer
---@param st code_diffusion.GhostState
local function arm(bufnr, st)
  st.timer = st.timer or vim.uv.new_timer()
  st.armed = true
  st.timer:start(
    st.opts.debounce_ms,
    0,
    vim.schedule_wrap(function()
      st.armed = false
      if state.states[bufnr] == st and state.in_insert_mode() and vim.fn.pumvisible() == 0 then
        M.request(bufnr, state.TRIGGER_AUTOMATIC)
      end
    end)
  )
end

--- After an edit or cursor move: keep the suggestion if the user typed its next characters,
--- otherwise drop it and ask again after the debounce.
---@param bufnr integer
function M.on_change(bufnr)
  local st = state.states[bufnr]
  if not st then
    return
  end
  local item = state.current(st)
  if item and st.anchor then
    local row, col = state.cursor0()
    if row == st.anchor[1] and col == st.anchor[2] and state.get_line(bufnr, row) == st.line then
      return -- nothing moved (e.g. our own accept)
    end
    local typed = typed_into(bufnr, st, item, row, col)
    if typed then
      render.advance(bufnr, st, typed, { row, col })
      return
    end
  end
  render.clear(bufnr)
  state.cancel(st)
  if state.enabled and st.opts.enabled and st.opts.auto_trigger then
    arm(bufnr, st)
  end
end

return M
