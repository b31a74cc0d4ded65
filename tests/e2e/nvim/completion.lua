-- CTRL-X CTRL-O opens the menu with the server's candidates; CTRL-Y inserts the first one.
--
-- As in ghost.lua, the script tries the end of each line of CD_ROWS in turn and uses the first
-- where the server answers with candidates.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')

vim.cmd.edit(vim.fn.fnameescape(os.getenv('CD_FILE')))
local rows = H.rows()
vim.o.completeopt = 'menuone,noinsert'

-- Polls seen since the server answered textDocument/completion (nil: no answer yet).
local polls_since_answer
vim.api.nvim_create_autocmd('LspRequest', {
  callback = function(args)
    local req = args.data.request
    if req.method == 'textDocument/completion' and req.type == 'complete' then
      polls_since_answer = 0
    end
  end,
})

local function accept_steps()
  local before, first
  return {
    function()
      local items = vim.fn.complete_info({ 'items' }).items
      H.check(#items > 0, 'empty menu')
      local labels = vim.tbl_map(function(i)
        return i.abbr
      end, items)
      H.out('menu: ' .. vim.inspect(labels))
      first = vim.tbl_get(items[1], 'user_data', 'nvim', 'lsp', 'completion_item')
      H.check(
        first and first.textEdit,
        'menu item without an LSP textEdit: ' .. vim.inspect(items[1])
      )
      H.check(first.textEdit.newText:find('%S'), 'blank candidate')
      -- The buffer as it was when the menu opened (the textEdit is relative to it).
      before = H.lines()
      H.feed('<C-y>')
    end,
    function()
      H.feed('<Esc>')
    end,
    function()
      -- The buffer is the old text with the item's textEdit applied.
      local scratch = vim.api.nvim_create_buf(false, true)
      vim.api.nvim_buf_set_lines(scratch, 0, -1, false, before)
      vim.lsp.util.apply_text_edits({ first.textEdit }, scratch, 'utf-16')
      local expected = H.lines(scratch)
      H.out('buffer after <C-y>:\n' .. H.text())
      H.check(vim.deep_equal(H.lines(), expected), 'expected:\n' .. table.concat(expected, '\n'))
      H.check(not vim.deep_equal(H.lines(), before), 'nothing was inserted')
    end,
    function()
      H.pass('completion inserted a candidate')
    end,
  }
end

local function attempt(i)
  return {
    function()
      polls_since_answer = nil
      vim.api.nvim_win_set_cursor(0, { rows[i], 0 })
      H.feed('A<C-x><C-o>')
    end,
    {
      desc = 'the completion menu or an answer without one',
      wait = function()
        if polls_since_answer then
          polls_since_answer = polls_since_answer + 1
        end
        return vim.fn.pumvisible() == 1 or (polls_since_answer or 0) > 2
      end,
    },
    function()
      if vim.fn.pumvisible() == 1 then
        return accept_steps()
      end
      H.out(('no candidates at the end of line %d'):format(rows[i]))
      H.check(i < #rows, 'the server answered with no candidates at any of the lines')
      H.feed('<C-e><Esc>')
      return attempt(i + 1)
    end,
  }
end

H.run({
  H.wait_ready(),
  function()
    H.check(vim.bo.omnifunc == 'v:lua.vim.lsp.omnifunc', 'omnifunc is ' .. vim.bo.omnifunc)
    require('code_diffusion.ghost').toggle(false) -- only the menu in this test
  end,
  unpack(attempt(1)),
})
