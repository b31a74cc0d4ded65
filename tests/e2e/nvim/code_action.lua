-- A code action's edit lands in the buffer, twice: through its :CodeDiffusion* command
-- (workspace/executeCommand; the server applies the edit with workspace/applyEdit), then, after
-- undo, through vim.lsp.buf.code_action() (codeAction + codeAction/resolve).
--
-- CD_ATTEMPTS (JSON) lists what to try, in order: "Fill in body" on `pass` lines, then
-- "Regenerate selection" on ranges. The server declines an edit that does not parse (and says
-- why); the small embedded model does not manage every one, so the first edit the server
-- applies is the one checked.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local attempts = vim.json.decode((assert(os.getenv('CD_ATTEMPTS'), 'CD_ATTEMPTS not set')))
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

local TITLES = { fill_body = 'Fill in body', regenerate = 'Regenerate selection' }

--- The region an attempt rewrites: 1-based start row, 0-based start col, end row, end col
--- (exclusive). Fill in body: the whole `pass` line.
local function region(a)
  if a.action == 'fill_body' then
    return a.row, 0, a.row, #before[a.row]
  end
  return unpack(a.range)
end

local function offset(lines, row, col)
  return #table.concat(vim.list_slice(lines, 1, row - 1), '\n') + (row > 1 and 1 or 0) + col
end

local function changed()
  return not vim.deep_equal(H.lines(), before)
end

--- Only the region changed, into something that is not blank.
local function check_edit(a, how)
  local text, old = H.text(), table.concat(before, '\n')
  H.out(how .. ':\n' .. text)
  local r1, c1, r2, c2 = region(a)
  local head, tail = offset(before, r1, c1), #old - offset(before, r2, c2)
  H.check(text:sub(1, head) == old:sub(1, head), 'text before the edited region changed')
  H.check(text:sub(#text - tail + 1) == old:sub(#old - tail + 1), 'text after it changed')
  local new = text:sub(head + 1, #text - tail)
  H.check(new:find('%S') and new ~= old:sub(head + 1, #old - tail), 'no new text: ' .. new)
end

--- Run the attempt's :CodeDiffusion* command.
local function run_command(a)
  if a.action == 'fill_body' then
    H.check(vim.trim(before[a.row]) == 'pass', 'line ' .. a.row .. ' is not `pass`')
    vim.api.nvim_win_set_cursor(0, { a.row, 4 })
    vim.cmd('CodeDiffusionFillBody')
  else
    -- Select the range in visual mode and type the command (":" gives :'<,'>).
    local r1, c1, r2, c2 = unpack(a.range)
    H.feed(('%dG%d|v%dG%d|:CodeDiffusionRegenerate<CR>'):format(r1, c1 + 1, r2, c2))
  end
end

local function run_code_action(a)
  local r1, c1, r2, c2 = region(a)
  local opts = {
    apply = true,
    filter = function(action)
      return action.title == TITLES[a.action]
    end,
  }
  if a.action == 'fill_body' then
    vim.api.nvim_win_set_cursor(0, { a.row, 4 })
  else
    opts.range = { start = { r1, c1 }, ['end'] = { r2, c2 - 1 } } -- end: the last character
  end
  vim.lsp.buf.code_action(opts)
end

local function code_action_steps(a)
  return {
    function()
      check_edit(a, 'after the command')
      vim.cmd('silent undo')
    end,
    function()
      H.check(vim.deep_equal(H.lines(), before), 'undo did not restore the text')
      declined = nil
      run_code_action(a)
    end,
    { desc = 'the edit of the "' .. TITLES[a.action] .. '" code action', wait = changed },
    function()
      check_edit(a, 'after the code action')
    end,
    function()
      H.pass('code action edit applied (' .. TITLES[a.action] .. ')')
    end,
  }
end

local function attempt(i)
  local a = attempts[i]
  return {
    function()
      before = H.lines()
      declined = nil
      H.out(('trying %s at %s'):format(TITLES[a.action], vim.inspect(a.row or a.range)))
      run_command(a)
    end,
    {
      desc = 'the edit of the command, or the server declining',
      wait = function()
        return changed() or declined ~= nil
      end,
    },
    function()
      if changed() then
        return code_action_steps(a)
      end
      H.check(i < #attempts, 'the server applied none of the edits')
      return attempt(i + 1)
    end,
  }
end

H.run({
  H.wait_ready(),
  function()
    require('code_diffusion.ghost').toggle(false)
    for _, name in ipairs({ 'CodeDiffusionFillBody', 'CodeDiffusionRegenerate' }) do
      H.check(vim.fn.exists(':' .. name) == 2, 'no :' .. name)
    end
  end,
  unpack(attempt(1)),
})
