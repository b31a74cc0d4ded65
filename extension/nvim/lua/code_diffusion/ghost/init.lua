--- Ghost text: `textDocument/inlineCompletion` drawn with extmarks (Neovim 0.11).
---
--- One state per buffer. Typing or moving the cursor in insert mode cancels the request in
--- flight and, after `debounce_ms`, asks again. A suggestion is drawn at the cursor: its first
--- line as inline virtual text (overlay when it replaces the auto-inserted closers after the
--- cursor), the other lines as virtual lines below. Typing the suggestion's next characters keeps
--- it (no new request); anything else drops it. Keymaps act only while a suggestion is shown and
--- otherwise fall through to what the key did before.
---
--- This module is the public face; the work is done by
--- - `code_diffusion.ghost.state`: the per-buffer state and the request in flight;
--- - `code_diffusion.ghost.items`: the server's items, turned into what is left to insert;
--- - `code_diffusion.ghost.render`: the extmarks, and narrowing the candidates as the user types;
--- - `code_diffusion.ghost.request`: asking, answering, reacting to edits (debounce, type-through);
--- - `code_diffusion.ghost.accept`: accepting the whole suggestion, a word or a line.

local api = vim.api
local accept = require('code_diffusion.ghost.accept')
local items = require('code_diffusion.ghost.items')
local render = require('code_diffusion.ghost.render')
local request = require('code_diffusion.ghost.request')
local state = require('code_diffusion.ghost.state')

local states = state.states

local M = {}

M.ns = state.ns
M.normalize = items.normalize
M.show = request.show
M.request = request.request

--- Hide the suggestion and forget its candidates.
---@param bufnr? integer
function M.clear(bufnr)
  render.clear(bufnr or api.nvim_get_current_buf())
end

--- True while a suggestion is drawn in `bufnr`.
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  return st ~= nil and st.extmark ~= nil and state.current(st) ~= nil
end

--- The suggestion shown, for statuslines and tests.
---@param bufnr? integer
---@return {text: string, index: integer, count: integer, row: integer, col: integer, replace: integer}?
function M.get(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  local item = st and state.current(st)
  if not item or not st.extmark then
    return nil
  end
  return {
    text = item.text,
    index = st.index,
    count = #st.items,
    row = st.anchor[1],
    col = st.anchor[2],
    replace = item.replace,
  }
end

--- Whether a request waits for its debounce or for the server, and how many answers came.
---@param bufnr? integer
---@return {pending: boolean, answered: integer}?
function M.progress(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  if not st then
    return nil
  end
  return { pending = st.armed or st.req_id ~= nil, answered = st.answered }
end

--- Accept the suggestion shown: `what` is "all" (default), "word" or "line".
---@param what? "all"|"word"|"line"
---@return boolean accepted
function M.accept(what)
  local bufnr = api.nvim_get_current_buf()
  if not M.visible(bufnr) then
    return false
  end
  accept.accept(bufnr, what)
  return true
end

--- Hide the suggestion and cancel the request in flight.
---@return boolean dismissed
function M.dismiss()
  local bufnr = api.nvim_get_current_buf()
  local st = states[bufnr]
  if not st then
    return false
  end
  local shown = M.visible(bufnr)
  state.cancel(st)
  render.clear(bufnr)
  return shown
end

--- Show the next (`step` = 1) or previous (-1) candidate.
---@param step integer
function M.cycle(step)
  local bufnr = api.nvim_get_current_buf()
  local st = states[bufnr]
  if not st or #st.items < 2 then
    return
  end
  st.index = (st.index - 1 + step) % #st.items + 1
  render.render(bufnr)
end

-- Keymaps ------------------------------------------------------------------------------------

local ACTIONS = {
  accept = function()
    M.accept('all')
  end,
  accept_word = function()
    M.accept('word')
  end,
  accept_line = function()
    M.accept('line')
  end,
  dismiss = M.dismiss,
  next = function()
    M.cycle(1)
  end,
  prev = function()
    M.cycle(-1)
  end,
  trigger = function()
    M.request(nil, state.TRIGGER_INVOKED)
  end,
}

--- Run a keymap action (called through <Cmd>, outside the expr mapping's text lock).
---@param name string
function M._run(name)
  ACTIONS[name]()
end

--- Map the configured keys in `bufnr`. Each acts only while a suggestion is shown (`trigger`
--- always); otherwise the key does what it did before.
---@param bufnr integer
---@param keymaps code_diffusion.Keymaps
function M.set_keymaps(bufnr, keymaps)
  local keys = require('code_diffusion.keymaps')
  for name, lhs in pairs(keymaps) do
    if lhs and ACTIONS[name] then
      keys.map(bufnr, lhs, name, function()
        return name == 'trigger' or (M.visible(bufnr) and vim.fn.pumvisible() == 0)
      end, ('<Cmd>lua require("code_diffusion.ghost")._run(%q)<CR>'):format(name))
    end
  end
end

-- Attach / detach ----------------------------------------------------------------------------

--- `CodeDiffusionGhost`, linked to `Comment` unless the user or colorscheme defines it.
function M.define_highlight()
  api.nvim_set_hl(0, 'CodeDiffusionGhost', { link = 'Comment', default = true })
end

--- Start ghost text in `bufnr` for `client`.
---@param bufnr integer
---@param client vim.lsp.Client
---@param opts code_diffusion.GhostConfig
---@param keymaps? code_diffusion.Keymaps
function M.attach(bufnr, client, opts, keymaps)
  M.detach(bufnr)
  local group = api.nvim_create_augroup('code_diffusion.ghost.' .. bufnr, { clear = true })
  states[bufnr] = {
    client = client,
    opts = opts,
    augroup = group,
    items = {},
    index = 0,
    armed = false,
    answered = 0,
  }
  M.define_highlight()
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI', 'InsertEnter' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      request.on_change(bufnr)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      local st = states[bufnr]
      if st then
        state.cancel(st)
        render.clear(bufnr)
      end
    end,
  })
  if keymaps then
    M.set_keymaps(bufnr, keymaps)
  end
end

--- Stop ghost text in `bufnr` (keymaps stay and fall through).
---@param bufnr integer
function M.detach(bufnr)
  local st = states[bufnr]
  if not st then
    return
  end
  state.cancel(st)
  render.clear(bufnr)
  if st.timer then
    st.timer:close()
  end
  pcall(api.nvim_del_augroup_by_id, st.augroup)
  states[bufnr] = nil
end

--- Turn automatic suggestions on or off in every buffer.
---@param enabled? boolean Toggle when nil.
---@return boolean enabled
function M.toggle(enabled)
  if enabled == nil then
    enabled = not state.enabled
  end
  state.enabled = enabled
  if not enabled then
    for bufnr, st in pairs(states) do
      state.cancel(st)
      render.clear(bufnr)
    end
  end
  return enabled
end

--- Whether `bufnr` has ghost text attached.
---@param bufnr integer
function M.attached(bufnr)
  return states[bufnr] ~= nil
end

return M
