-- With no suggestion shown, <Tab> in insert mode indents as usual, with the server attached
-- and answering.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')
local ghost = require('code_diffusion.ghost')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local row = tonumber(os.getenv('CD_ROW')) -- 1-based line to type at (its end)
local before

H.run({
  H.wait_ready(),
  function()
    H.check(vim.bo.expandtab and vim.bo.softtabstop == 4, 'python ftplugin indent settings')
    H.check(vim.fn.maparg('<Tab>', 'i') ~= '', '<Tab> is not mapped by the plugin')
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    H.feed('A')
  end,
  -- The server answers for this position (with or without a suggestion) ...
  {
    desc = 'the answer to the inline completion request',
    wait = function()
      local p = ghost.progress()
      return p ~= nil and p.answered > 0 and not p.pending
    end,
  },
  function()
    -- ... and a suggestion it showed is dismissed: nothing is on screen now, and nothing will be
    -- until the next edit.
    H.out('suggestion shown: ' .. tostring(ghost.visible()))
    H.feed('<C-]>')
  end,
  function()
    H.check(not ghost.visible(), 'suggestion still shown after dismiss')
    before = H.lines()[row]
    H.feed('<Tab>')
  end,
  function()
    -- expandtab + softtabstop=4: spaces up to the next multiple of 4 columns.
    local expected = before .. string.rep(' ', 4 - vim.fn.strdisplaywidth(before) % 4)
    H.out(('line %d after <Tab>: %q'):format(row, H.lines()[row]))
    H.check(
      H.lines()[row] == expected,
      ('<Tab> gave %q, expected %q'):format(H.lines()[row], expected)
    )
    H.feed('<Esc>')
  end,
  function()
    -- Real tabs with noexpandtab, and with ghost text turned off altogether.
    vim.cmd('CodeDiffusionToggle')
    vim.bo.expandtab = false
    vim.bo.softtabstop = 0
    vim.api.nvim_buf_set_lines(0, row - 1, row, false, { '' })
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    H.feed('i<Tab><Tab><Esc>')
  end,
  function()
    H.check(H.lines()[row] == '\t\t', ('expected two tabs, got %q'):format(H.lines()[row]))
  end,
  function()
    H.pass('tab falls through')
  end,
})
