-- Minimal init for the tests: the plugin from this checkout, filetype detection, setup().
-- CD_PLUGIN_DIR = extension/nvim; CD_SETUP = JSON options for setup().
vim.opt.runtimepath:prepend(assert(os.getenv('CD_PLUGIN_DIR'), 'CD_PLUGIN_DIR not set'))
vim.cmd('filetype plugin indent on')
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
require('code_diffusion').setup(vim.json.decode(os.getenv('CD_SETUP') or '{}'))
