"""A training run stopped by a signal sent to its whole process group (Ctrl+C in a terminal,
``pkill -f``, a service manager stopping the group) writes its checkpoint and leaves no process
behind: the batch worker ignores the signal and the trainer shuts it down after the save."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

SERVER = Path(__file__).resolve().parents[2] / "server"


def _context_run(tiny_run, folder: Path) -> Path:
    run = tiny_run(folder)
    body = "".join(f'def f{i}(x):\n    """Add {i}."""\n    y = x + {i}\n    return y * 2\n\n'
                   for i in range(40))
    for split in ("train", "valid"):
        (run / f"texts-{split}.jsonl").write_text(
            json.dumps({"source": "t", "relpath": "a.py", "text": body}) + "\n")
    return run


def _steps(run: Path) -> int:
    log = run / "log.jsonl"
    if not log.exists():
        return 0
    return max((json.loads(line).get("step", 0) for line in log.read_text().splitlines()
                if line.strip()), default=0)


def _group(pid: int) -> list[str]:
    return subprocess.run(["pgrep", "-g", str(pid)], capture_output=True,
                          text=True).stdout.split()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_process_group_saves_the_checkpoint(tmp_path, tiny_run, signum):
    run = _context_run(tiny_run, tmp_path)
    code = ("from code_diffusion.training.train import Trainer, TrainConfig; "
            f"Trainer(TrainConfig(run_dir={str(run)!r}, size='tiny', seq_len=128, batch_size=4, "
            "total_steps=100000, warmup_steps=1, eval_every=100000, threads=1, bf16=False, "
            "windows='context', minutes=5, checkpoint_minutes=100)).train()")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(SERVER)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _steps(run) < 3:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the run made no steps in 120 s"
            time.sleep(0.2)
        os.killpg(proc.pid, signum)  # the trainer and its batch worker alike
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "DataLoader worker" not in err, err
    saved = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert saved["step"] >= 3
    time.sleep(0.5)
    assert _group(proc.pid) == [], "a process of the run outlived it"
