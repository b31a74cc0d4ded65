"""The ``code-diffusion`` command (also ``python -m code_diffusion``).

Each subcommand is a module ``code_diffusion.commands.<name>`` with ``add_parser(subparsers)`` and
``run(args) -> int``. Heavy imports (torch, transformers, pygls) happen inside ``run`` so that
``--help`` is instant. Errors the engine raises on purpose are printed as one sentence on stderr
with a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from code_diffusion import __version__

# The order of the subcommands in --help; any other module in code_diffusion.commands whose
# name does not start with "_" follows, alphabetically.
ORDER = ("generate", "info", "serve", "eval", "bench", "train")


def command_names() -> list[str]:
    import pkgutil

    from code_diffusion import commands

    found = {m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="code-diffusion",
        description="A language server that writes code with a masked-diffusion code model.",
    )
    parser.add_argument("--version", action="version", version=f"code-diffusion {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names():
        module = importlib.import_module(f"code_diffusion.commands.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"code_diffusion.commands.{args.command.replace('-', '_')}")
    from code_diffusion.engine.errors import CodeDiffusionError

    try:
        return int(module.run(args) or 0)
    except CodeDiffusionError as exc:
        flag = getattr(exc, "field", None)
        hint = f" (--{flag.replace('_', '-')})" if flag and f"--{flag}" not in str(exc) else ""
        print(f"code-diffusion {args.command}: error: {exc}{hint}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"code-diffusion {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
