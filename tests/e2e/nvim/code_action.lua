-- "Fill in body" on a `pass` body: through :CodeDiffusionFillBody (workspace/executeCommand;
-- the server applies the edit with workspace/applyEdit), then, after undo, through
-- vim.lsp.buf.code_action() (codeAction + codeAction/resolve).
--
-- CD_ROWS lists the `pass` lines of several stubs; the script uses the first one the embedded
-- model fills (it declines a body that does not parse, and says so).
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local rows = H.rows()
local before, declined

-- "not applied" (a warning) is the server declining; an error fails the test.
local notify = vim.notify
vim.notify = function(msg, level, ...)
  H.out('notify: ' .. tostring(msg))
  if (level or 0) >= vim.log.levels.ERROR then
    H.fail(msg)
  elseif (level or 0) >= vim.log.levels.WARN then
    declined = msg
  end
  return notify(msg, level, ...)
end

local function changed()
  return not vim.deep_equal(H.lines(), before)
end

--- Only the body at `row` changed: the lines before it and the lines after it are the same.
local function check_filled(row, how)
  local lines = H.lines()
  H.out(how .. ':\n' .. table.concat(lines, '\n'))
  for i = 1, row - 1 do
    H.check(lines[i] == before[i], ('line %d changed'):format(i))
  end
  local tail = #before - row -- lines after the `pass`
  for k = 0, tail - 1 do
    H.check(lines[#lines - k] == before[#before - k], 'the code after the body changed')
  end
  local body = vim.list_slice(lines, row, #lines - tail)
  H.check(#body > 0 and table.concat(body, '\n'):find('%S'), 'empty body')
  H.check(not vim.deep_equal(body, { before[row] }), '`pass` is still there')
end

local function code_action_steps(row)
  return {
    function()
      check_filled(row, 'after :CodeDiffusionFillBody')
      vim.cmd('silent undo')
    end,
    function()
      H.check(vim.deep_equal(H.lines(), before), 'undo did not restore the stub')
      declined = nil
      vim.api.nvim_win_set_cursor(0, { row, 4 })
      vim.lsp.buf.code_action({
        apply = true,
        filter = function(action)
          return action.title == 'Fill in body'
        end,
      })
    end,
    { desc = 'the edit of the "Fill in body" code action', wait = changed },
    function()
      check_filled(row, 'after the code action')
    end,
    function()
      H.pass('code action edit applied')
    end,
  }
end

local function attempt(i)
  local row = rows[i]
  return {
    function()
      before = H.lines()
      declined = nil
      H.check(vim.trim(before[row]) == 'pass', 'line ' .. row .. ' is not `pass`')
      vim.api.nvim_win_set_cursor(0, { row, 4 })
      vim.cmd('CodeDiffusionFillBody')
    end,
    {
      desc = 'the edit of :CodeDiffusionFillBody, or the server declining',
      wait = function()
        return changed() or declined ~= nil
      end,
    },
    function()
      if changed() then
        return code_action_steps(row)
      end
      H.out(('no body for line %d: %s'):format(row, declined))
      H.check(i < #rows, 'the server filled none of the bodies')
      return attempt(i + 1)
    end,
  }
end

H.run({
  H.wait_ready(),
  function()
    require('code_diffusion.ghost').toggle(false)
    H.check(vim.fn.exists(':CodeDiffusionFillBody') == 2, 'no :CodeDiffusionFillBody')
  end,
  unpack(attempt(1)),
})
