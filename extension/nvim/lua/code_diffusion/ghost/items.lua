--- The server's inline completion items, turned into what is left to insert at the cursor.

local M = {}

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

return M
