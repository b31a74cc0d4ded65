-- "Fill in body" on a `pass` body: through :CodeDiffusionFillBody (workspace/executeCommand,
-- the server applies the edit with workspace/applyEdit), then, after undo, through
-- vim.lsp.buf.code_action() (codeAction + codeAction/resolve).
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local row = tonumber(os.getenv('CD_ROW')) -- 1-based line of the `pass`
local before

-- A warning or error from the plugin (e.g. "not applied") fails the test with its text.
local notify = vim.notify
vim.notify = function(msg, level, ...)
  H.out('notify: ' .. tostring(msg))
  if (level or 0) >= vim.log.levels.WARN then
    H.fail(msg)
  end
  return notify(msg, level, ...)
end

local function body_filled()
  local lines = H.lines()
  return not vim.deep_equal(lines, before) and lines[row] ~= before[row]
end

local function check_filled(how)
  local lines = H.lines()
  H.out(how .. ':\n' .. table.concat(lines, '\n'))
  H.check(lines[row - 1] == before[row - 1], 'the def line changed')
  H.check(not vim.tbl_contains(lines, before[row]), '`pass` is still there')
  H.check(
    table.concat(lines, '\n'):find('%S', #table.concat(before, '\n', 1, row - 1) + 1),
    'empty body'
  )
end

H.run({
  H.wait_ready(),
  function()
    require('code_diffusion.ghost').toggle(false)
    before = H.lines()
    H.check(vim.trim(before[row]) == 'pass', 'line ' .. row .. ' is not `pass`')
    H.check(vim.fn.exists(':CodeDiffusionFillBody') == 2, 'no :CodeDiffusionFillBody')
    vim.api.nvim_win_set_cursor(0, { row, 4 })
    vim.cmd('CodeDiffusionFillBody')
  end,
  { desc = 'the edit of :CodeDiffusionFillBody', wait = body_filled },
  function()
    check_filled('after :CodeDiffusionFillBody')
    vim.cmd('silent undo')
  end,
  function()
    H.check(vim.deep_equal(H.lines(), before), 'undo did not restore the stub')
    vim.api.nvim_win_set_cursor(0, { row, 4 })
    vim.lsp.buf.code_action({
      apply = true,
      filter = function(action)
        return action.title == 'Fill in body'
      end,
    })
  end,
  { desc = 'the edit of the "Fill in body" code action', wait = body_filled },
  function()
    check_filled('after the code action')
  end,
  function()
    H.pass('code action edit applied')
  end,
})
