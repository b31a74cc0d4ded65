"""The real language server with the fake model, for the LSP unit tests (run as a script).

Environment knobs: ``FAKE_STEP_DELAY`` (seconds per denoising step), ``FAKE_LOAD_DELAY``
(seconds the load takes), ``FAKE_EMPTY`` (``1``: every fill fails with no candidates),
``FAKE_CRASH`` (``1``: every fill raises ``RuntimeError``), ``FAKE_INVALID`` (``1``: every
fill refuses its request with ``InvalidRequestError``), ``FAKE_CHANCES`` (``0.05,0.9``: the
candidates' estimated chances of being right, in order).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/ holds fakes.py

from code_diffusion.engine.errors import InvalidRequestError
from code_diffusion.lsp import create_server
from code_diffusion.lsp.logging import configure_logging
from fakes import FakeGenerator, fake_loader, no_candidates_error


def main() -> int:
    failure = (no_candidates_error() if os.environ.get("FAKE_EMPTY")
               else RuntimeError("the fake model broke") if os.environ.get("FAKE_CRASH")
               else InvalidRequestError("steps", "steps must be ≤ 4, got 8")
               if os.environ.get("FAKE_INVALID") else None)
    generator = FakeGenerator(step_delay=float(os.environ.get("FAKE_STEP_DELAY", "0")),
                              fail_with=failure,
                              chances=tuple(float(x) for x in
                                            os.environ.get("FAKE_CHANCES", "").split(",") if x))
    transport = sys.stdout.buffer
    sys.stdout = sys.stderr
    configure_logging(None)
    server = create_server(fake_loader(generator,
                                       delay=float(os.environ.get("FAKE_LOAD_DELAY", "0"))))
    server.start_io(sys.stdin.buffer, transport)
    return server.exit_code


if __name__ == "__main__":
    sys.exit(main())
