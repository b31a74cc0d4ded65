"""Server commands and settings shared by the reliability tests."""

from __future__ import annotations

import sys
from pathlib import Path

from code_diffusion.reliability.rpc import PROBE, SERVE, RawClient

HERE = Path(__file__).resolve().parent
FAKE_PROBE = [sys.executable, str(HERE / "fake_probe_server.py")]
LOAD_TIMEOUT = 600.0
"""Seconds torch and the embedded model may take to load on a loaded two-core machine."""
FAST = {"steps": 8, "maxLength": 16, "numSamples": 1, "debounceMs": 0}
"""Live settings that keep each model run short."""

__all__ = ["FAKE_PROBE", "FAST", "LOAD_TIMEOUT", "PROBE", "SERVE", "started"]


def started(command: list[str], options: dict | None = None, *,
            configuration: dict | None = None, env: dict[str, str] | None = None
            ) -> RawClient:
    """A server process, initialized; the caller waits for the state it expects."""
    client = RawClient(command, env=env,
                       configuration={"codeDiffusion": {**FAST, **(configuration or {})}})
    client.initialize(options or {})
    return client
