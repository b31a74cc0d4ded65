--- Insert-mode keys that act only when there is something to act on, and otherwise do what
--- they did before: the previous mapping of the key if there was one, or the key itself. So
--- `<Tab>` accepts a suggestion when one is shown, and indents (or runs your own <Tab>
--- mapping) when none is.

local M = {}

M.DESC = 'code-diffusion: '

--- What `lhs` did before we mapped it: a copy of its previous mapping under <Plug>, or the key.
---@param bufnr integer
---@param lhs string
---@param name string
---@return string
local function fallback_keys(bufnr, lhs, name)
  local plug = ('<Plug>(code-diffusion-fallback-%s)'):format(name)
  local prev = vim.fn.maparg(lhs, 'i', false, true)
  if vim.tbl_isempty(prev) then
    return lhs
  end
  if vim.startswith(prev.desc or '', M.DESC) then
    -- Mapped by an earlier attach: keep the fallback it saved, if any.
    return vim.fn.maparg(plug, 'i') ~= '' and plug or lhs
  end
  vim.keymap.set('i', plug, prev.callback or prev.rhs, {
    buffer = bufnr,
    expr = prev.expr == 1,
    remap = prev.noremap == 0,
    silent = prev.silent == 1,
    replace_keycodes = prev.replace_keycodes == 1 or nil,
    desc = M.DESC .. 'previous ' .. lhs,
  })
  return plug
end

--- Map `lhs` in insert mode in `bufnr`: while `active()` is true it gives `keys`, otherwise
--- whatever `lhs` did before.
---
--- The mapping is an expr mapping with remap on, so the fallback <Plug> copy is remapped; a
--- result that starts with `lhs` itself is not mapped again (`:help recursive_mapping`).
---@param bufnr integer
---@param lhs string
---@param name string
---@param active fun(): boolean
---@param keys string
function M.map(bufnr, lhs, name, active, keys)
  local fallback = fallback_keys(bufnr, lhs, name)
  vim.keymap.set('i', lhs, function()
    if active() then
      return keys
    end
    return fallback
  end, { buffer = bufnr, expr = true, remap = true, desc = M.DESC .. name })
end

return M
