-- Helpers for the Neovim test scripts: output, failure, keys, and a step runner.
--
-- A script is a list of steps run in order. A function step runs and the next step starts
-- once the keys it fed have been processed; it may return a list of steps to run next. A table step `{ wait = fn, desc = '...' }` polls
-- `fn` until it returns true; the timeout is only a safety net, the tests assert states.
-- Any error or failed check ends nvim with `cquit! 1`.
local H = {}

--- Safety net for wait steps (the model may run on a slow, busy CPU).
H.WAIT_MS = tonumber(os.getenv('CD_WAIT_MS') or '') or 300000

function H.out(s)
  io.stdout:write(s .. '\n')
end

function H.fail(msg)
  H.out('FAIL ' .. tostring(msg))
  vim.cmd('cquit! 1')
end

function H.check(cond, msg)
  if not cond then
    error(msg, 2)
  end
end

--- Feed keys as if typed, with mappings.
function H.feed(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), 'mt', false)
end

function H.lines(bufnr)
  return vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false)
end

function H.text(bufnr)
  return table.concat(H.lines(bufnr), '\n')
end

--- The code-diffusion client of the current buffer once it is initialized.
function H.client()
  for _, c in ipairs(vim.lsp.get_clients({ bufnr = 0 })) do
    if c.name == 'code_diffusion' and c.initialized then
      return c
    end
  end
end

--- Wait step: the server attached to the current buffer and reports `ready`.
function H.wait_ready()
  return {
    desc = 'server attached and ready',
    wait = function()
      local c = H.client()
      local st = c and require('code_diffusion.status').by_client[c.id]
      return st ~= nil and st.state == 'ready'
    end,
  }
end

---@param steps (function|{wait: fun(): boolean, desc: string, timeout?: integer})[]
function H.run(steps)
  local i = 0
  local function next_step()
    i = i + 1
    local step = steps[i]
    if step == nil then
      return
    end
    if type(step) == 'function' then
      local ok, more = pcall(step)
      if not ok then
        return H.fail(('step %d: %s'):format(i, more))
      end
      -- A step may return more steps: they run next.
      for j, extra in ipairs(type(more) == 'table' and more or {}) do
        table.insert(steps, i + j, extra)
      end
      return vim.defer_fn(next_step, 10)
    end
    local deadline = vim.uv.now() + (step.timeout or H.WAIT_MS)
    local function poll()
      local ok, res = pcall(step.wait)
      if not ok then
        return H.fail(('step %d (%s): %s'):format(i, step.desc, res))
      end
      if res then
        return vim.defer_fn(next_step, 10)
      end
      if vim.uv.now() > deadline then
        return H.fail(('step %d: gave up waiting for %s'):format(i, step.desc))
      end
      vim.defer_fn(poll, 20)
    end
    poll()
  end
  vim.schedule(next_step)
end

--- Wait step: the ghost text of the current buffer got an answer after `seen` answers and no
--- request is pending (the answer may hold a suggestion or not).
function H.wait_ghost_answer(seen)
  return {
    desc = 'the answer to the inline completion request',
    wait = function()
      local p = require('code_diffusion.ghost').progress()
      return p ~= nil and p.answered > seen() and not p.pending
    end,
  }
end

--- Rows to try, from CD_ROWS ("6,10,16"): a small model does not suggest something everywhere.
function H.rows()
  return vim.tbl_map(tonumber, vim.split(assert(os.getenv('CD_ROWS'), 'CD_ROWS not set'), ','))
end

function H.pass(msg)
  H.out('PASS ' .. msg)
  vim.cmd('qall!')
end

return H
