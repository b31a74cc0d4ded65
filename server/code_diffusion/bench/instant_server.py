"""The language server with a model that answers at once: the server's own round trip.

Started like ``python -m code_diffusion serve`` (a fresh interpreter, stdio), it is the real
server (every feature, the worker thread, the status notifications) over a model whose ``fill``
returns one fixed candidate without computing anything. A request's round trip is then what
the server itself costs: JSON-RPC parsing, the document snapshot, the hand-off to the worker
thread and back, and the answer's serialisation.
"""

from __future__ import annotations

import sys
from typing import Any

from code_diffusion.engine.interface import ModelInfo
from code_diffusion.engine.types import Candidate

INFO = ModelInfo(name="instant", family="bench", device="cpu", precision="float32")


class _Result:
    def passing(self) -> list[Candidate]:
        return [Candidate(text="value")]


class InstantModel:
    """``fill`` with the generator's signature that returns at once."""

    info = INFO

    def fill(self, text: str, start: int, end: int | None = None, **params: Any) -> _Result:
        return _Result()


def main() -> int:
    from code_diffusion.lsp import create_server
    from code_diffusion.lsp.logging import configure_logging

    transport = sys.stdout.buffer
    sys.stdout = sys.stderr
    configure_logging(None)
    server = create_server(lambda options, report: InstantModel())
    server.start_io(sys.stdin.buffer, transport)
    return server.exit_code


if __name__ == "__main__":
    sys.exit(main())
