"""The probed server with the fake model (``tests/fakes.py``), run as a script.

The fake's candidates are never empty, so the checks on answers with items (an answer must be
for the document's current version) have something to check. ``FAKE_STEP_DELAY`` sets the
seconds per denoising step (default 0.005).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds fakes.py

from code_diffusion.reliability.probe import build_server, serve
from fakes import FakeGenerator, fake_loader

if __name__ == "__main__":
    delay = float(os.environ.get("FAKE_STEP_DELAY", "0.005"))
    serve(build_server(fake_loader(FakeGenerator(step_delay=delay))))
