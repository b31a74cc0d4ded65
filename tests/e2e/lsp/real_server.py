"""How the end-to-end tests start the real server, and the settings they use."""

from __future__ import annotations

import os
import sys

SERVER = [sys.executable, "-m", "code_diffusion", "serve"]
MODEL = os.environ.get("CODE_DIFFUSION_E2E_MODEL")
"""A checkpoint directory to write code with instead of the embedded model (e.g. a newer one)."""
WRITER = [*SERVER, "--model", MODEL] if MODEL else SERVER
"""The server the generation tests use."""
SHORT = {"steps": 8, "maxLength": 16, "numSamples": 2}
"""Live settings that keep generation short on a busy CPU."""
FAST = {**SHORT, "inline.minChance": 0}
"""The same, with every ghost-text candidate shown: the tests that use it check how an answer
travels whatever the model writes (holding back unlikely ghost text has its own tests)."""
LOAD_TIMEOUT = 300.0
"""Seconds torch and the embedded model may take to load on a loaded two-core machine."""
