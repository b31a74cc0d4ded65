"""Reliability tests: the real server (``python -m code_diffusion serve``, or the probed server
of ``code_diffusion.reliability.probe``) with the embedded model, over stdio.

They assert behaviour only (answers, errors, exits, counters), never what the model writes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_servers import LOAD_TIMEOUT, SERVE, started

from code_diffusion.reliability.rpc import RawClient


@pytest.fixture(scope="module")
def real_server() -> Iterator[RawClient]:
    """One ``code-diffusion serve`` with the embedded model, shared by the bad-input tests."""
    client = started(SERVE)
    client.wait_state("ready", LOAD_TIMEOUT)
    yield client
    assert client.process.poll() is None, f"the server died: {client.stderr()[-3000:]}"
    assert client.shutdown() == 0
