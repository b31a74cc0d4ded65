"""The training stages behind a set of weights, carried from a warm start to the export.

A run that warm-starts from a model directory takes the stages of that model's
``code_diffusion.json`` with it (in its checkpoint); its export lists them, then the run's own
stage, and gives the totals of steps and tokens over all of them. Weights trained in several
runs thus say how they were made without anyone writing it by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

METADATA_FILE = "code_diffusion.json"

STAGE_KEYS = ("steps", "tokens_seen", "seq_len", "lr", "windows", "copy_head", "reveal_share",
              "shares")
"""What a stage records of its run's configuration and progress."""


def stages_of(directory: Path) -> list[dict[str, Any]]:
    """The stages that made the weights in ``directory``: its metadata's ``training.stages``,
    or one stage from its ``training`` block when it lists none.

    A directory without our metadata (a model trained elsewhere) is one stage whose steps are
    unknown (``None``), named after the directory."""
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        return [{"run": Path(directory).name, "steps": None, "tokens_seen": None}]
    try:
        meta = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not readable JSON ({err}); fix or remove it before "
                         "warm-starting from that directory") from err
    training = meta.get("training") or {}
    if training.get("stages"):
        return [dict(stage) for stage in training["stages"]]
    return [{"run": meta.get("name") or Path(directory).name,
             **{key: training[key] for key in STAGE_KEYS if key in training}}]


def run_stage(run_name: str, step: int, tokens_seen: int, config: Mapping[str, Any],
              before: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """This run's stage: its steps and tokens, the settings that shape what it learnt, and the
    stage it warm-started from (the last of ``before``)."""
    stage: dict[str, Any] = {"run": run_name, "steps": step, "tokens_seen": tokens_seen}
    for key in STAGE_KEYS[2:]:
        value = config.get(key)
        if value not in (None, "", 0, 0.0) or key in ("seq_len", "lr"):
            stage[key] = value
    if config.get("windows") != "context":
        stage.pop("reveal_share", None)
        stage.pop("shares", None)
    if before:
        last = before[-1]
        stage["warm_start"] = (f"{last.get('run')} step {last['steps']}"
                               if last.get("steps") is not None else str(last.get("run")))
    return stage


def totals(stages: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Steps and tokens over the stages whose counts are known."""
    return {key: sum(int(s[key]) for s in stages if s.get(key) is not None)
            for key in ("steps", "tokens_seen")}
