-- Plugin logic without a server: ghost text drawing, accepting, type-through, cancellation,
-- the <Tab> fallthrough, status and ranges. The "client" is a stub that records requests and
-- answers when the test says so.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')
local ghost = require('code_diffusion.ghost')
local api = vim.api

local GHOST_OPTS = {
  enabled = true,
  auto_trigger = true,
  debounce_ms = 0,
  builtin = false,
  hl_group = 'CodeDiffusionGhost',
}
local KEYMAPS = require('code_diffusion.config').defaults.keymaps

local function stub_client()
  local c =
    { id = 1, name = 'code_diffusion', offset_encoding = 'utf-16', requests = {}, cancelled = {} }
  function c:request(method, params, handler)
    self.requests[#self.requests + 1] = { method = method, params = params, handler = handler }
    return true, #self.requests
  end
  function c:cancel_request(id)
    self.cancelled[#self.cancelled + 1] = id
    return true
  end
  --- Answer the latest request.
  function c:answer(result)
    local req = self.requests[#self.requests]
    req.handler(nil, result)
  end
  return c
end

local client
--- A fresh scratch python buffer with `lines`, ghost text attached to a new stub client.
local function buffer(lines, opts)
  vim.cmd('enew!')
  local bufnr = api.nvim_get_current_buf()
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo.expandtab = false
  vim.bo.softtabstop = 0
  for k, v in pairs(opts or {}) do
    vim.bo[bufnr][k] = v
  end
  api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  client = stub_client()
  ghost.attach(bufnr, client, vim.deepcopy(GHOST_OPTS), KEYMAPS)
  return bufnr
end

local function mark()
  local marks = api.nvim_buf_get_extmarks(0, ghost.ns, 0, -1, { details = true })
  H.check(#marks <= 1, 'more than one ghost extmark')
  return marks[1] and marks[1][4]
end

local function requested()
  return #client.requests > 0
    and client.requests[#client.requests].method == 'textDocument/inlineCompletion'
end

local function item(text, range)
  return { items = { { insertText = text, range = range } } }
end

local function eq(a, b, what)
  H.check(
    vim.deep_equal(a, b),
    ('%s: expected %s, got %s'):format(what, vim.inspect(b), vim.inspect(a))
  )
end

local n_requests, n_cancelled
local steps = {
  -- 1. No suggestion: <Tab> inserts a real tab (noexpandtab) ...
  function()
    buffer({ 'def f():', '' }, { expandtab = false })
    ghost.toggle(false) -- no automatic requests: nothing can be shown
    api.nvim_win_set_cursor(0, { 2, 0 })
    H.feed('i<Tab>x<Esc>')
  end,
  function()
    eq(H.lines()[2], '\tx', 'noexpandtab <Tab>')
    eq(#client.requests, 0, 'requests while toggled off')
    -- ... and the indent with expandtab/softtabstop.
    buffer({ 'def f():', '' }, { expandtab = true, softtabstop = 4, shiftwidth = 4 })
    api.nvim_win_set_cursor(0, { 2, 0 })
    H.feed('i<Tab>x<Esc>')
  end,
  function()
    eq(H.lines()[2], '    x', 'expandtab <Tab>')
    -- A mapping the user had on <Tab> still runs when no suggestion is shown.
    vim.cmd('enew!')
    vim.keymap.set('i', '<Tab>', function()
      return 'USER'
    end, { expr = true, buffer = 0 })
    local bufnr = api.nvim_get_current_buf()
    client = stub_client()
    ghost.attach(bufnr, client, vim.deepcopy(GHOST_OPTS), KEYMAPS)
    H.feed('i<Tab><Esc>')
  end,
  function()
    eq(H.lines()[1], 'USER', 'previous <Tab> mapping')
    ghost.toggle(true)
  end,

  -- 2. A suggestion is requested after typing, drawn inline, and <Tab> accepts it.
  function()
    buffer({ 'def add(a, b):', '    ' })
    api.nvim_win_set_cursor(0, { 2, 4 })
    H.feed('A')
  end,
  { desc = 'inline completion request', wait = requested },
  function()
    local params = client.requests[#client.requests].params
    eq(params.position, { line = 1, character = 4 }, 'request position')
    eq(params.context.triggerKind, 2, 'automatic trigger kind')
    client:answer(item('return a + b'))
    local d = mark()
    H.check(d, 'no ghost extmark')
    eq(d.virt_text, { { 'return a + b', 'CodeDiffusionGhost' } }, 'virt_text')
    eq(d.virt_text_pos, 'inline', 'virt_text_pos')
    H.feed('<Tab>')
  end,
  function()
    eq(H.lines(), { 'def add(a, b):', '    return a + b' }, 'accepted buffer')
    eq(api.nvim_win_get_cursor(0), { 2, 16 }, 'cursor after accept')
    H.check(not ghost.visible(), 'ghost still shown after accept')
    H.feed('<Esc>')
  end,

  -- 3. New input cancels the request in flight; its late answer is dropped.
  function()
    buffer({ 'x = ' })
    api.nvim_win_set_cursor(0, { 1, 3 })
    H.feed('A')
  end,
  { desc = 'first request', wait = requested },
  function()
    n_requests, n_cancelled = #client.requests, #client.cancelled
    H.feed('1')
  end,
  {
    desc = 'second request',
    wait = function()
      return #client.requests > n_requests
    end,
  },
  function()
    eq(vim.list_slice(client.cancelled, n_cancelled + 1), { n_requests }, 'cancelled request ids')
    client.requests[n_requests].handler(nil, item('stale'))
    H.check(not ghost.visible(), 'a cancelled request drew ghost text')
    client:answer(item('23'))
    eq(ghost.get().text, '23', 'latest answer shown')
    eq(ghost.progress(), { pending = false, answered = 1 }, 'progress after the answer')
    H.feed('<Esc>')
  end,
  function()
    H.check(not ghost.visible(), 'ghost text survives InsertLeave')
    eq(#client.cancelled >= 1, true, 'cancelled')
  end,

  -- 4. Auto-inserted closers: the range replaces them, nothing is duplicated.
  function()
    buffer({ 'print()' })
    api.nvim_win_set_cursor(0, { 1, 6 })
    H.feed('i')
  end,
  { desc = 'request in print()', wait = requested },
  function()
    local range = { start = { line = 0, character = 6 }, ['end'] = { line = 0, character = 7 } }
    client:answer(item('"hi")', range))
    local d = mark()
    eq(d.virt_text, { { '"hi"', 'CodeDiffusionGhost' } }, 'closer not drawn twice')
    eq(d.virt_text_pos, 'inline', 'inline before the closer')
    H.feed('<Tab>')
  end,
  function()
    eq(H.lines(), { 'print("hi")' }, 'closer replaced')
    H.feed('<Esc>')
  end,
  -- Multi-line with a closer: overlay the closer, the rest as virtual lines.
  function()
    buffer({ 'foo()' })
    api.nvim_win_set_cursor(0, { 1, 4 })
    H.feed('i')
  end,
  { desc = 'request in foo()', wait = requested },
  function()
    local range = { start = { line = 0, character = 4 }, ['end'] = { line = 0, character = 5 } }
    client:answer(item('a,\n    b)', range))
    local d = mark()
    eq(d.virt_text_pos, 'overlay', 'overlay over the closer')
    eq(d.virt_text, { { 'a,', 'CodeDiffusionGhost' } }, 'first line')
    eq(d.virt_lines, { { { '    b)', 'CodeDiffusionGhost' } } }, 'virtual lines')
    H.feed('<Tab>')
  end,
  function()
    eq(H.lines(), { 'foo(a,', '    b)' }, 'multi-line accept')
    H.feed('<Esc>')
  end,

  -- 5. Type-through keeps the suggestion; partial accepts; cycling; dismiss.
  function()
    buffer({ 'def add(a, b):', '    ' })
    api.nvim_win_set_cursor(0, { 2, 4 })
    H.feed('A')
  end,
  { desc = 'request for partial accept', wait = requested },
  function()
    client:answer({
      items = {
        { insertText = 'total = a + b\n    return total' },
        { insertText = 'return a + b' },
      },
    })
    n_requests = #client.requests
    H.feed('tot')
  end,
  function()
    eq(ghost.get().text, 'al = a + b\n    return total', 'typed through')
    eq(ghost.get().count, 1, 'candidates that no longer match are dropped')
    eq(#client.requests, n_requests, 'no new request while typing the suggestion')
    H.feed('<M-Right>')
  end,
  function()
    eq(H.lines()[2], '    total', 'accept word')
    H.feed('<M-l>')
  end,
  function()
    eq(H.lines(), { 'def add(a, b):', '    total = a + b', '' }, 'accept line')
    eq(ghost.get().text, '    return total', 'rest after accept line')
    eq(mark().virt_text, { { '    return total', 'CodeDiffusionGhost' } }, 'rest drawn')
    H.feed('<C-]>')
  end,
  function()
    H.check(not ghost.visible(), 'dismiss')
    -- With nothing shown, <Tab> is a tab again.
    H.feed('<Tab>')
  end,
  function()
    eq(H.lines()[3], '\t', '<Tab> after dismiss')
    H.feed('<Esc>')
  end,
  function()
    buffer({ 'x = ' })
    api.nvim_win_set_cursor(0, { 1, 3 })
    H.feed('A')
  end,
  { desc = 'request for cycling', wait = requested },
  function()
    client:answer({ items = { { insertText = '1' }, { insertText = '2' }, { insertText = '1' } } })
    eq(ghost.get().count, 2, 'duplicates merged')
    H.feed('<M-]>')
  end,
  function()
    eq(ghost.get().text, '2', 'next candidate')
    H.feed('<M-[>')
  end,
  function()
    eq(ghost.get().text, '1', 'previous candidate')
    H.feed('<Esc>')
  end,

  -- 6. Status notifications and the statusline.
  function()
    local status = require('code_diffusion.status')
    status.handler(nil, { state = 'loading', progress = 40, model = vim.NIL }, { client_id = 99 })
    eq(status.by_client[99], { state = 'loading', progress = 40 }, 'null keys dropped')
    status.handler(nil, { state = 'ready', lastLatencyMs = 83.6 }, { client_id = 99 })
    eq(status.by_client[99].lastLatencyMs, 83.6, 'latency kept')
  end,

  -- 7. Command ranges: cursor, linewise, charwise with a multibyte character (UTF-16).
  function()
    vim.cmd('enew!')
    api.nvim_buf_set_lines(0, 0, -1, false, { 'a = "é"', 'b = 2' })
    local commands = require('code_diffusion.commands')
    api.nvim_win_set_cursor(0, { 1, 4 })
    eq(commands.range(0, 'utf-16'), {
      start = { line = 0, character = 4 },
      ['end'] = { line = 0, character = 4 },
    }, 'cursor range')
    eq(commands.range(0, 'utf-16', { range = 2, line1 = 1, line2 = 2 }), {
      start = { line = 0, character = 0 },
      ['end'] = { line = 1, character = 5 },
    }, 'line range')
    H.feed('0f"vf"<Esc>')
  end,
  function()
    local commands = require('code_diffusion.commands')
    eq(commands.range(0, 'utf-16', { range = 2, line1 = 1, line2 = 1 }), {
      start = { line = 0, character = 4 },
      ['end'] = { line = 0, character = 7 },
    }, 'charwise range')
  end,

  -- 8. setup() twice is harmless.
  function()
    require('code_diffusion').setup({ lsp = false })
    require('code_diffusion').setup({ lsp = false, ghost = { debounce_ms = 10 } })
    eq(
      #api.nvim_get_autocmds({ group = 'code_diffusion', event = 'LspAttach' }),
      1,
      'one LspAttach'
    )
    eq(require('code_diffusion.config').options.ghost.debounce_ms, 10, 'options replaced')
    local ok = pcall(require('code_diffusion').setup, { ghost = { debounce_ms = 'soon' } })
    H.check(not ok, 'a bad option type is rejected')
  end,
  -- 9. Where Neovim has vim.lsp.inline_completion (0.12+), it is used, and <Tab> still falls
  -- through when it has nothing to accept. (A stand-in module: this nvim is 0.11.)
  function()
    local calls = {}
    local accept = false
    vim.lsp.inline_completion = {
      enable = function(on, filter)
        calls[#calls + 1] = { on = on, bufnr = filter.bufnr }
      end,
      get = function()
        return accept
      end,
      select = function() end,
    }
    vim.cmd('enew!')
    local bufnr = api.nvim_get_current_buf()
    local fake =
      { id = 7, name = 'code_diffusion', server_capabilities = { inlineCompletionProvider = {} } }
    require('code_diffusion').on_attach(fake, bufnr)
    eq(calls, { { on = true, bufnr = bufnr } }, 'built-in enabled for the buffer')
    H.check(not ghost.attached(bufnr), 'extmark ghost text attached as well')
    H.feed('i<Tab><Esc>')
  end,
  function()
    eq(H.lines(), { '\t' }, '<Tab> with nothing to accept')
    vim.lsp.inline_completion = nil
  end,
  function()
    H.pass('unit')
  end,
}

H.run(steps)
