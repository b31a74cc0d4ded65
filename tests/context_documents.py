"""Python documents for the context tests: the answer to a hole in ``HOLE`` stands only in
``OTHER``, after the same three lines (the LSP and Neovim end-to-end tests share them); in
``TWINS`` the answer is a twin method's line with one name changed (the renaming tests)."""

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

# Two twin methods; the hole (``|``) is the twin of ``_lists.insert(pos + 1, half)``, on
# ``_keys`` (line 13, column 9).
TWINS = """class Lists:
    def grow(self, pos, half):
        _lists = self._lists
        _maxes = self._maxes
        _lists.insert(pos + 1, half)
        _maxes.insert(pos + 1, half[-1])


class Keys:
    def grow(self, pos, half):
        _keys = self._keys
        _maxes = self._maxes
        |
        _maxes.insert(pos + 1, half[-1])
"""
