"""A bare pygls server over stdio: the floor for the time to answer ``initialize``.

Started the same way as ``python -m code_diffusion serve`` (a fresh interpreter, stdio), it
registers nothing, so its ``initialize`` answer costs only Python, pygls and lsprotocol.
"""

from __future__ import annotations

from pygls.lsp.server import LanguageServer


def main() -> None:
    LanguageServer("bare-pygls", "1").start_io()


if __name__ == "__main__":
    main()
