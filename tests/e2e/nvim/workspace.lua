-- Ghost text from a file of the workspace folder that is not open: the server indexes the
-- folder (root_dir, found by its pyproject.toml) and offers the line that follows the same
-- neighbouring lines in that file. CD_ROW is the hole's row; CD_ANSWER the line expected.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')
local ghost = require('code_diffusion.ghost')
local status = require('code_diffusion.status')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local row = tonumber(os.getenv('CD_ROW'))
local answer = assert(os.getenv('CD_ANSWER'), 'CD_ANSWER not set')
local root = assert(os.getenv('CD_ROOT'), 'CD_ROOT not set')
local seen = 0

local function workspace()
  local c = H.client()
  local st = c and status.by_client[c.id]
  return st and st.workspace
end

H.run({
  H.wait_ready(),
  {
    desc = 'the workspace folder indexed',
    wait = function()
      local w = workspace()
      return w ~= nil and w ~= vim.NIL and not w.indexing and w.files >= 2
    end,
  },
  function()
    local c = H.client()
    H.check(c.root_dir == root, ('root_dir %s, expected %s'):format(c.root_dir, root))
    H.out(('workspace: %s'):format(vim.inspect(workspace())))
    seen = ghost.progress() and ghost.progress().answered or 0
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    H.feed('A')
  end,
  H.wait_ghost_answer(function()
    return seen
  end),
  function()
    H.check(ghost.visible(), 'no suggestion at the end of line ' .. row)
    local offered = {}
    for _ = 1, ghost.get().count do
      offered[#offered + 1] = ghost.get().text
      if ghost.get().text == answer then
        break
      end
      ghost.cycle(1)
    end
    H.out('offered: ' .. vim.inspect(offered))
    H.check(ghost.get().text == answer, 'the line from the workspace file was not offered')
    H.feed('<Tab>')
  end,
  function()
    local line = vim.api.nvim_buf_get_lines(0, row - 1, row, false)[1]
    H.check(line == '    ' .. answer, 'accepted line: ' .. vim.inspect(line))
    H.feed('<Esc>')
  end,
  function()
    H.pass('ghost text from the workspace')
  end,
})
