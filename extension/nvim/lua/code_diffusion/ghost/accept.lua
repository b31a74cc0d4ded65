--- Accepting a suggestion, whole or in part (the next word, the rest of the line).

local api = vim.api
local render = require('code_diffusion.ghost.render')
local state = require('code_diffusion.ghost.state')

local M = {}

--- Insert `piece` (a prefix of the current suggestion) at the anchor.
---@param bufnr integer
---@param st code_diffusion.GhostState
---@param piece string
local function insert_piece(bufnr, st, piece)
  local item = state.current(st)
  local row, col = st.anchor[1], st.anchor[2]
  local whole = piece == item.text
  if whole and item.snippet and item.raw then
    render.clear(bufnr)
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
    render.clear(bufnr)
  else
    render.advance(bufnr, st, piece, { new_row, new_col })
  end
end

--- The next word of `text`: leading whitespace (newlines included) and one word or one run of
--- punctuation.
function M.next_word(text)
  return text:match('^%s*[%w_]+') or text:match('^%s*[^%w_%s]+') or text:match('^%s+') or text
end

--- The rest of the current line and its newline; a suggestion that starts with a newline gives
--- that newline and the next line.
function M.next_line(text)
  local nl = text:find('\n', 1, true)
  if nl == 1 then
    local nl2 = text:find('\n', 2, true)
    return nl2 and text:sub(1, nl2 - 1) or text
  end
  return nl and text:sub(1, nl) or text
end

--- Accept the suggestion of `bufnr` (the caller checked one is shown): `what` is "all"
--- (default), "word" or "line".
---@param bufnr integer
---@param what? "all"|"word"|"line"
function M.accept(bufnr, what)
  local st = state.states[bufnr]
  local item = state.current(st)
  local piece = item.text
  if what == 'word' then
    piece = M.next_word(item.text)
  elseif what == 'line' then
    piece = M.next_line(item.text)
  end
  local command = piece == item.text and item.command or nil
  insert_piece(bufnr, st, piece)
  if command and st.client.exec_cmd then
    st.client:exec_cmd(command, { bufnr = bufnr })
  end
end

return M
