--- Drawing a suggestion with extmarks: the first line as inline virtual text (overlay when it
--- replaces the auto-inserted closers after the cursor), the other lines as virtual lines below.

local api = vim.api
local state = require('code_diffusion.ghost.state')

local M = {}

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

---@param bufnr integer
local function clear_extmark(bufnr)
  local st = state.states[bufnr]
  if st and st.extmark then
    pcall(api.nvim_buf_del_extmark, bufnr, state.ns, st.extmark)
    st.extmark = nil
  end
end

--- The extmark options that draw `item` at column `col` of `line`.
---@param item code_diffusion.GhostItem
---@param line string
---@param col integer
---@param hl string
---@param ts integer
local function extmark_opts(item, line, col, hl, ts)
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
  return opts
end

--- Draw the current candidate of `bufnr` at its anchor (or nothing, if there is none).
---@param bufnr integer
function M.render(bufnr)
  local st = state.states[bufnr]
  local item = st and state.current(st)
  clear_extmark(bufnr)
  if not item then
    return
  end
  local row, col = st.anchor[1], st.anchor[2]
  local line = state.get_line(bufnr, row)
  local opts = extmark_opts(item, line, col, st.opts.hl_group, vim.bo[bufnr].tabstop)
  if opts.virt_text or opts.virt_lines then
    local ok, id = pcall(api.nvim_buf_set_extmark, bufnr, state.ns, row, col, opts)
    st.extmark = ok and id or nil
  end
  st.line = line
end

--- Hide the suggestion and forget its candidates.
---@param bufnr integer
function M.clear(bufnr)
  local st = state.states[bufnr]
  if not st then
    return
  end
  clear_extmark(bufnr)
  st.items, st.index, st.anchor, st.line = {}, 0, nil, nil
end

--- `typed` (a prefix of the current suggestion) is now in the buffer before `anchor`: keep what
--- is left of the candidates that start with it, and redraw at `anchor`.
---@param bufnr integer
---@param st code_diffusion.GhostState
---@param typed string
---@param anchor [integer, integer]
function M.advance(bufnr, st, typed, anchor)
  local keep = state.current(st)
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
  M.render(bufnr)
end

return M
