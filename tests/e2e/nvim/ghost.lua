-- Ghost text appears at the cursor in insert mode and <Tab> accepts it into the buffer.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')
local ghost = require('code_diffusion.ghost')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local row = tonumber(os.getenv('CD_ROW')) -- 1-based line to type on (append at its end)
local shown, before

--- Byte offset of (0-based row, byte col) in the buffer text joined with "\n".
local function offset(lines, r, c)
  local n = 0
  for i = 1, r do
    n = n + #lines[i] + 1
  end
  return n + c
end

H.run({
  H.wait_ready(),
  function()
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    H.feed('A')
  end,
  {
    desc = 'the answer to the inline completion request',
    wait = function()
      local p = ghost.progress()
      return p ~= nil and p.answered > 0 and not p.pending
    end,
  },
  function()
    H.check(ghost.visible(), 'the server answered with no suggestion at line ' .. row)
  end,
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
    H.check(d.virt_text_hide == false or d.virt_text_hide == nil, 'ghost text hidden')
    shown = ghost.get()
    before = H.lines()
    H.out('ghost: ' .. vim.inspect(shown.text))
    H.feed('<Tab>')
  end,
  function()
    local lines = before
    local joined = table.concat(lines, '\n')
    local at = offset(lines, shown.row, shown.col)
    local expected = joined:sub(1, at) .. shown.text .. joined:sub(at + shown.replace + 1)
    local got = H.text()
    H.out('buffer after <Tab>:\n' .. got)
    H.check(got == expected, 'accepted text differs; expected:\n' .. expected)
    H.feed('<Esc>')
  end,
  function()
    H.pass('ghost text shown and accepted')
  end,
})
