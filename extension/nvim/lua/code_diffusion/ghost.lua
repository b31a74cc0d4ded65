--- Ghost text: `textDocument/inlineCompletion` drawn with extmarks (Neovim 0.11).
---
--- One state per buffer. Typing or moving the cursor in insert mode cancels the request in
--- flight and, after `debounce_ms`, asks again. A suggestion is drawn at the cursor: its first
--- line as inline virtual text (overlay when it replaces the auto-inserted closers after the
--- cursor), the other lines as virtual lines below. Typing the suggestion's next characters keeps
--- it (no new request); anything else drops it. Keymaps act only while a suggestion is shown and
--- otherwise fall through to what the key did before.

local api = vim.api

local M = {}

M.ns = api.nvim_create_namespace('code_diffusion.ghost')

--- Automatic suggestions on/off for all buffers (:CodeDiffusionToggle).
M.enabled = true

local METHOD = 'textDocument/inlineCompletion'
local TRIGGER_INVOKED, TRIGGER_AUTOMATIC = 1, 2

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
local states = {}

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

local function cursor0()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function get_line(bufnr, row)
  return api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end

--- Replace each tab by spaces up to the next tab stop, starting at display column `vcol`.
---@param s string
---@param vcol integer
---@param ts integer
---@return string
local function expand_tabs(s, vcol, ts)
  if not s:find('\t', 1, true) then
    return s
  end
  local parts = {}
  for i, seg in ipairs(vim.split(s, '\t', { plain = true })) do
    if i > 1 then
      local n = ts - (vcol % ts)
      parts[#parts + 1] = string.rep(' ', n)
      vcol = vcol + n
    end
    parts[#parts + 1] = seg
    vcol = vcol + vim.fn.strdisplaywidth(seg)
  end
  return table.concat(parts)
end

--- A snippet's plain text, for display: `${1:x}` -> `x`, `$1`/`$0` -> ``.
---@param s string
local function snippet_text(s)
  local ok, grammar = pcall(require, 'vim.lsp._snippet_grammar')
  if ok then
    local parsed_ok, parsed = pcall(grammar.parse, s)
    if parsed_ok then
      return tostring(parsed)
    end
  end
  return (s:gsub('%${%d+:([^}]*)}', '%1'):gsub('%$%d+', ''))
end

--- LSP character offset -> byte column in `line`.
local function byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  return ok and col or #line
end

--- Turn the server's items into what is left to insert at the cursor.
---@param result lsp.InlineCompletionList|lsp.InlineCompletionItem[]|nil
---@param line string The cursor line.
---@param row integer
---@param col integer Cursor byte column.
---@param encoding string
---@return code_diffusion.GhostItem[]
function M.normalize(result, line, row, col, encoding)
  local raw = result and (result.items or result) or {}
  local items, seen = {}, {}
  for _, it in ipairs(raw) do
    local text, snippet = it.insertText, false
    if type(text) == 'table' then
      text, snippet = text.value, text.kind == 'snippet'
    end
    local display = snippet and snippet_text(text) or text
    local start, stop, ok = col, col, type(text) == 'string'
    if ok and it.range then
      local s, e = it.range.start, it.range['end']
      ok = s.line == row and e.line == row
      start = byte_col(line, s.character, encoding)
      stop = byte_col(line, e.character, encoding)
    end
    -- The part of the range before the cursor must be what the suggestion starts with.
    local typed = ok and line:sub(start + 1, col) or ''
    ok = ok and start <= col and stop >= col and vim.startswith(display, typed)
    if ok then
      local rest = display:sub(#typed + 1)
      local replaced = line:sub(col + 1, stop)
      if rest ~= '' and rest ~= replaced and not seen[rest] then
        seen[rest] = true
        items[#items + 1] = {
          text = rest,
          replace = stop - col,
          -- A snippet can only be expanded whole from the cursor: keep it only if it starts here.
          snippet = snippet and typed == '',
          raw = snippet and typed == '' and text or nil,
          command = it.command,
        }
      end
    end
  end
  return items
end

---@param st code_diffusion.GhostState
local function current(st)
  return st.items[st.index]
end

---@param bufnr integer
local function clear_extmark(bufnr)
  local st = states[bufnr]
  if st and st.extmark then
    pcall(api.nvim_buf_del_extmark, bufnr, M.ns, st.extmark)
    st.extmark = nil
  end
end

---@param bufnr integer
local function render(bufnr)
  local st = states[bufnr]
  local item = st and current(st)
  clear_extmark(bufnr)
  if not item then
    return
  end
  local row, col = st.anchor[1], st.anchor[2]
  local line = get_line(bufnr, row)
  local hl = st.opts.hl_group
  local ts = vim.bo[bufnr].tabstop
  local lines = vim.split(item.text, '\n', { plain = true })
  local vcol = vim.fn.strdisplaywidth(line:sub(1, col))
  local first = expand_tabs(lines[1], vcol, ts)
  local after = line:sub(col + 1)
  local replaced = after:sub(1, item.replace)
  local opts = { hl_mode = 'combine', priority = 200, virt_text_pos = 'inline' }
  -- Plain insertion (nothing replaced): the rest of the line moves right, as it will on accept.
  if replaced ~= '' and #lines == 1 and vim.endswith(first, replaced) then
    -- `foo(|)` + `x)`: draw `x` before the `)` that is already there.
    first = first:sub(1, #first - #replaced)
  elseif replaced ~= '' and replaced == after then
    -- Cover the replaced closers (they come back at the end of the suggestion).
    opts.virt_text_pos = 'overlay'
    local pad = vim.fn.strdisplaywidth(replaced) - vim.fn.strdisplaywidth(first)
    first = first .. string.rep(' ', math.max(pad, 0))
  end
  if first ~= '' then
    opts.virt_text = { { first, hl } }
  end
  if #lines > 1 then
    local virt_lines = {}
    for i = 2, #lines do
      virt_lines[#virt_lines + 1] = { { expand_tabs(lines[i], 0, ts), hl } }
    end
    opts.virt_lines = virt_lines
  end
  if opts.virt_text or opts.virt_lines then
    local ok, id = pcall(api.nvim_buf_set_extmark, bufnr, M.ns, row, col, opts)
    st.extmark = ok and id or nil
  end
  st.line = line
end

---@param st code_diffusion.GhostState
local function cancel(st)
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

--- Hide the suggestion and forget its candidates.
---@param bufnr? integer
function M.clear(bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  local st = states[bufnr]
  if not st then
    return
  end
  clear_extmark(bufnr)
  st.items, st.index, st.anchor, st.line = {}, 0, nil, nil
end

--- True while a suggestion is drawn in `bufnr`.
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  return st ~= nil and st.extmark ~= nil and current(st) ~= nil
end

--- The suggestion shown, for statuslines and tests.
---@param bufnr? integer
---@return {text: string, index: integer, count: integer, row: integer, col: integer, replace: integer}?
function M.get(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  local item = st and current(st)
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

--- Draw the server's answer, if the cursor is still where it was asked.
---@param bufnr integer
---@param result any
---@param row integer
---@param col integer
function M.show(bufnr, result, row, col)
  local st = states[bufnr]
  if not st then
    return
  end
  local line = get_line(bufnr, row)
  st.items = M.normalize(result, line, row, col, st.client.offset_encoding or 'utf-16')
  st.index = #st.items > 0 and 1 or 0
  st.anchor = { row, col }
  render(bufnr)
end

--- Ask the server for a suggestion at the cursor now; cancels the one in flight.
---@param bufnr? integer
---@param kind? integer InlineCompletionTriggerKind (default: Invoked)
function M.request(bufnr, kind)
  bufnr = bufnr or api.nvim_get_current_buf()
  local st = states[bufnr]
  if not st or bufnr ~= api.nvim_get_current_buf() then
    return
  end
  cancel(st)
  local client = st.client
  if client.is_stopped and client:is_stopped() then
    return
  end
  local row, col = cursor0()
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding or 'utf-16')
  params.context = { triggerKind = kind or TRIGGER_INVOKED }
  local id
  local ok, req_id = client:request(METHOD, params, function(err, result)
    if st.req_id ~= id or states[bufnr] ~= st then
      return -- cancelled or superseded
    end
    st.req_id = nil
    st.answered = st.answered + 1
    if err then
      vim.lsp.log.warn('code_diffusion inlineCompletion', err)
      return
    end
    local r, c = cursor0()
    local fresh = api.nvim_get_current_buf() == bufnr
      and api.nvim_buf_get_changedtick(bufnr) == tick
      and r == row
      and c == col
      and in_insert_mode()
    if fresh then
      M.show(bufnr, result, row, col)
    end
  end, bufnr)
  if ok then
    id = req_id
    st.req_id = req_id
  end
end

--- `typed` (a prefix of the current suggestion) is now in the buffer before `anchor`: keep what
--- is left of the candidates that start with it, and redraw at `anchor`.
---@param bufnr integer
---@param st code_diffusion.GhostState
---@param typed string
---@param anchor [integer, integer]
local function advance(bufnr, st, typed, anchor)
  local keep = current(st)
  local items = {}
  for _, it in ipairs(st.items) do
    if vim.startswith(it.text, typed) and #it.text > #typed then
      it.text = it.text:sub(#typed + 1)
      items[#items + 1] = it
      if it == keep then
        st.index = #items
      end
    end
  end
  st.items = items
  st.anchor = anchor
  render(bufnr)
end

--- After an edit or cursor move: keep the suggestion if the user typed its next characters,
--- otherwise drop it and ask again after the debounce.
---@param bufnr integer
local function on_change(bufnr)
  local st = states[bufnr]
  if not st then
    return
  end
  local item = current(st)
  if item and st.anchor then
    local row, col = cursor0()
    local ar, ac = st.anchor[1], st.anchor[2]
    if row == ar and col == ac and get_line(bufnr, row) == st.line then
      return -- nothing moved (e.g. our own accept)
    end
    if row > ar or (row == ar and col > ac) then
      local ok, chunks = pcall(api.nvim_buf_get_text, bufnr, ar, ac, row, col, {})
      local typed = ok and table.concat(chunks, '\n') or nil
      local line = get_line(bufnr, row)
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
        advance(bufnr, st, typed, { row, col })
        return
      end
    end
  end
  M.clear(bufnr)
  cancel(st)
  if not (M.enabled and st.opts.enabled and st.opts.auto_trigger) then
    return
  end
  st.timer = st.timer or vim.uv.new_timer()
  st.armed = true
  st.timer:start(
    st.opts.debounce_ms,
    0,
    vim.schedule_wrap(function()
      st.armed = false
      if states[bufnr] == st and in_insert_mode() and vim.fn.pumvisible() == 0 then
        M.request(bufnr, TRIGGER_AUTOMATIC)
      end
    end)
  )
end

--- Insert `piece` (a prefix of the current suggestion) at the anchor.
---@param bufnr integer
---@param st code_diffusion.GhostState
---@param piece string
local function insert_piece(bufnr, st, piece)
  local item = current(st)
  local row, col = st.anchor[1], st.anchor[2]
  local whole = piece == item.text
  if whole and item.snippet and item.raw then
    M.clear(bufnr)
    api.nvim_win_set_cursor(0, { row + 1, col })
    if item.replace > 0 then
      api.nvim_buf_set_text(bufnr, row, col, row, col + item.replace, { '' })
    end
    vim.snippet.expand(item.raw)
    return
  end
  local lines = vim.split(piece, '\n', { plain = true })
  local stop = col + (whole and item.replace or 0)
  api.nvim_buf_set_text(bufnr, row, col, row, stop, lines)
  local new_row = row + #lines - 1
  local new_col = (#lines == 1 and col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { new_row + 1, new_col })
  if whole then
    M.clear(bufnr)
  else
    advance(bufnr, st, piece, { new_row, new_col })
  end
end

--- The next word of `text`: leading whitespace (newlines included) and one word or one run of
--- punctuation.
local function next_word(text)
  return text:match('^%s*[%w_]+') or text:match('^%s*[^%w_%s]+') or text:match('^%s+') or text
end

--- The rest of the current line and its newline; a suggestion that starts with a newline gives
--- that newline and the next line.
local function next_line(text)
  local nl = text:find('\n', 1, true)
  if nl == 1 then
    local nl2 = text:find('\n', 2, true)
    return nl2 and text:sub(1, nl2 - 1) or text
  end
  return nl and text:sub(1, nl) or text
end

--- Accept the suggestion shown: `what` is "all" (default), "word" or "line".
---@param what? "all"|"word"|"line"
---@return boolean accepted
function M.accept(what)
  local bufnr = api.nvim_get_current_buf()
  local st = states[bufnr]
  local item = st and current(st)
  if not item or not M.visible(bufnr) then
    return false
  end
  local piece = item.text
  if what == 'word' then
    piece = next_word(item.text)
  elseif what == 'line' then
    piece = next_line(item.text)
  end
  local command = piece == item.text and item.command or nil
  insert_piece(bufnr, st, piece)
  if command and st.client.exec_cmd then
    st.client:exec_cmd(command, { bufnr = bufnr })
  end
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
  cancel(st)
  M.clear(bufnr)
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
  render(bufnr)
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
    M.request(nil, TRIGGER_INVOKED)
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
      on_change(bufnr)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      local st = states[bufnr]
      if st then
        cancel(st)
        M.clear(bufnr)
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
  cancel(st)
  M.clear(bufnr)
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
    enabled = not M.enabled
  end
  M.enabled = enabled
  if not enabled then
    for bufnr, st in pairs(states) do
      cancel(st)
      M.clear(bufnr)
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
