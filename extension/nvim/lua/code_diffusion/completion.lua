--- Completion menu items from the server through Neovim's own LSP completion.
---
--- `vim.lsp.completion` (0.11) inserts only the first word of a plain-text item's
--- `textEdit.newText` ("return a + b" inserts "return"). For this server's items the whole
--- candidate is the point, so when one of them is accepted the rest of its text is inserted too.

local api = vim.api

local M = {}

--- Python's own omnifunc, which the LSP one replaces in attached buffers.
local DEFAULT_OMNIFUNCS = { [''] = true, ['python3complete#Complete'] = true }

--- After a menu item of `client` is accepted: complete the inserted word to the full text.
---@param bufnr integer
---@param client_id integer
local function on_complete_done(bufnr, client_id)
  if vim.v.event.reason ~= 'accept' then
    return
  end
  local done = vim.v.completed_item
  local lsp_data = vim.tbl_get(done or {}, 'user_data', 'nvim', 'lsp')
  if not lsp_data or lsp_data.client_id ~= client_id then
    return
  end
  local item = lsp_data.completion_item or {}
  local new_text = vim.tbl_get(item, 'textEdit', 'newText') or item.insertText
  local word = done.word or ''
  local plain = item.insertTextFormat ~= 2 -- snippets are expanded by Neovim itself
  if
    not plain
    or type(new_text) ~= 'string'
    or new_text == word
    or not vim.startswith(new_text, word)
    or (item.additionalTextEdits and next(item.additionalTextEdits))
  then
    return
  end
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  if line:sub(col - #word + 1, col) ~= word then
    return
  end
  local rest = vim.split(new_text:sub(#word + 1), '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, row, col, row, col, rest)
  local last_row = row + #rest - 1
  local last_col = (#rest == 1 and col or 0) + #rest[#rest]
  api.nvim_win_set_cursor(0, { last_row + 1, last_col })
end

--- Enable LSP completion from `client` in `bufnr`.
---@param bufnr integer
---@param client vim.lsp.Client
---@param opts code_diffusion.CompletionConfig
function M.attach(bufnr, client, opts)
  if vim.lsp.completion and vim.lsp.completion.enable then
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = opts.autotrigger })
  end
  if DEFAULT_OMNIFUNCS[vim.bo[bufnr].omnifunc] then
    vim.bo[bufnr].omnifunc = 'v:lua.vim.lsp.omnifunc'
  end
  local group = api.nvim_create_augroup('code_diffusion.completion.' .. bufnr, { clear = true })
  api.nvim_create_autocmd('CompleteDone', {
    group = group,
    buffer = bufnr,
    callback = function()
      on_complete_done(bufnr, client.id)
    end,
  })
end

return M
