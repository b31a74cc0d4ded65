"""extension/nvim/lsp/code_diffusion.lua agrees with the settings table of docs/protocol.md."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from nvim_harness import HERE, NVIM, PLUGIN_DIR, REPO

pytestmark = pytest.mark.nvim


def protocol_settings() -> dict[str, tuple[str, object]]:
    """docs/protocol.md's settings table: key -> (scope, default)."""
    text = (REPO / "docs" / "protocol.md").read_text()
    table = text[text.index("| key | type | default | scope | allowed |") :]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        key, _type, default, scope, _allowed = (c.strip() for c in line.strip("|").split("|"))
        rows[key.strip("`")] = (scope, json.loads(default.strip("`")))
    return rows


def test_lsp_config_matches_protocol(tmp_path):
    proc = subprocess.run(
        [
            NVIM,
            "--headless",
            "--clean",
            "-l",
            str(HERE / "dump_lsp_config.lua"),
            str(PLUGIN_DIR / "lsp" / "code_diffusion.lua"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    assert config["cmd"] == ["python3", "-m", "code_diffusion", "serve"]
    assert "python" in config["filetypes"]
    rows = protocol_settings()
    restart = {k: v for k, (scope, v) in rows.items() if scope == "restart"}
    live = {k: v for k, (scope, v) in rows.items() if scope == "live"}
    assert config["init_options"] == restart
    assert config["settings"] == {"codeDiffusion": live}
