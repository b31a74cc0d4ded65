-- :checkhealth code_diffusion in this environment: Python, import, version and model are OK.
local H = dofile(os.getenv('CD_TEST_DIR') .. '/helpers.lua')

H.run({
  function()
    vim.cmd('checkhealth code_diffusion')
  end,
  function()
    local text = H.text()
    H.out(text)
    for _, want in ipairs({
      'OK Python found',
      'OK import code_diffusion works',
      'OK server version: code%-diffusion ',
      'OK embedded model present',
    }) do
      H.check(text:find(want), 'missing: ' .. want)
    end
    H.check(not text:find('ERROR'), 'the health check reports an error')
  end,
  function()
    H.pass('checkhealth')
  end,
})
