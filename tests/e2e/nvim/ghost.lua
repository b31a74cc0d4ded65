-- Ghost text appears at the cursor in insert mode and <Tab> accepts it into the buffer.
--
-- The embedded model is small and does not suggest something at every position, so the script
-- types at the end of each line of CD_ROWS in turn and uses the first one where the server
-- answers with a suggestion.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')
local ghost = require('code_diffusion.ghost')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local rows = H.rows()
local seen = 0

--- Byte offset of (0-based row, byte col) in the buffer text joined with "\n".
local function offset(lines, r, c)
  local n = 0
  for i = 1, r do
    n = n + #lines[i] + 1
  end
  return n + c
end

local function accept_steps()
  local shown, before
  return {
    function()
      local marks = vim.api.nvim_buf_get_extmarks(0, ghost.ns, 0, -1, { details = true })
      H.check(#marks == 1, 'expected one ghost extmark, got ' .. #marks)
      local d = marks[1][4]
      local drawn = {}
      for _, chunk in ipairs(d.virt_text or {}) do
        drawn[#drawn + 1] = chunk[1]
      end
      for _, vl in ipairs(d.virt_lines or {}) do
        for _, chunk in ipairs(vl) do
          drawn[#drawn + 1] = chunk[1]
        end
      end
      drawn = table.concat(drawn)
      H.check(drawn:find('%S') ~= nil, 'ghost extmark has no text: ' .. vim.inspect(d))
      shown = ghost.get()
      before = H.lines()
      H.out('ghost: ' .. vim.inspect(shown.text))
      H.feed('<Tab>')
    end,
    function()
      local joined = table.concat(before, '\n')
      local at = offset(before, shown.row, shown.col)
      local expected = joined:sub(1, at) .. shown.text .. joined:sub(at + shown.replace + 1)
      local got = H.text()
      H.out('buffer after <Tab>:\n' .. got)
      H.check(got == expected, 'accepted text differs; expected:\n' .. expected)
      H.feed('<Esc>')
    end,
    function()
      H.pass('ghost text shown and accepted')
    end,
  }
end

local function attempt(i)
  return {
    function()
      seen = ghost.progress() and ghost.progress().answered or 0
      vim.api.nvim_win_set_cursor(0, { rows[i], 0 })
      H.feed('A')
    end,
    H.wait_ghost_answer(function()
      return seen
    end),
    function()
      if ghost.visible() then
        return accept_steps()
      end
      H.out(('no suggestion at the end of line %d'):format(rows[i]))
      H.check(i < #rows, 'the server answered with no suggestion at any of the lines')
      H.feed('<Esc>')
      return attempt(i + 1)
    end,
  }
end

H.run({ H.wait_ready(), unpack(attempt(1)) })
