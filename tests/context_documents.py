"""Two Python documents for the context tests: the answer to a hole in ``HOLE`` stands only in
``OTHER``, after the same three lines (the LSP and Neovim end-to-end tests share them)."""

# A distinctive statement after three ordinary lines.
OTHER = "\n".join([
    "def read_settings(path):",
    "    with open(path) as handle:",
    "        raw = handle.read()",
    "    settings = decode_quirky_settings(raw, strict_mode=True, origin='disk')",
    "    return settings",
    "",
])
# The same three lines, then the hole, then the same line after it.
HOLE = "\n".join([
    "import os",
    "",
    "",
    "def reload_settings(path):",
    "    with open(path) as handle:",
    "        raw = handle.read()",
    "    ",
    "    return settings",
    "",
])
ANSWER = "settings = decode_quirky_settings(raw, strict_mode=True, origin='disk')"
