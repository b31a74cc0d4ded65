"""Export a training checkpoint as the embedded model directory shipped in the package."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import torch
from tokenizers import Tokenizer

from code_diffusion.training.data import TOKENIZER_FILE
from code_diffusion.training.lineage import METADATA_FILE, run_stage, stages_of, totals
from code_diffusion.training.model import add_copy_head, build_model, count_parameters
from code_diffusion.training.tokenizer import save_pretrained_tokenizer

EMBEDDED_DIR = Path(__file__).resolve().parent.parent / "models" / "embedded"


def export(run_dir: Path, out_dir: Path = EMBEDDED_DIR, dtype: str = "float16",
           max_context: int | None = None) -> dict:
    """Write ``config.json``, ``model.safetensors`` (``dtype``), the tokenizer files and
    ``code_diffusion.json`` into ``out_dir``, replacing what is there atomically.

    ``max_context`` is the window the engine serves the model with (default: the training
    sequence length); a shorter one halves a full pass from 512 to 256 tokens."""
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
    cfg = state["config"]
    if max_context is not None and not 16 <= max_context <= cfg["seq_len"]:
        raise ValueError(f"max_context must be between 16 and the training sequence length "
                         f"{cfg['seq_len']}, got {max_context}")
    model = build_model(cfg["vocab_size"], cfg["size"], max_positions=512)
    if cfg.get("copy_head"):
        add_copy_head(model, cfg["copy_head"])  # save_pretrained writes its key and weights
    model.load_state_dict(state["model"])
    model = model.to(getattr(torch, dtype)).eval()
    stats = json.loads((run_dir / "data_stats.json").read_text())
    stages = _lineage(state, cfg)
    stages.append(run_stage(run_dir.name, state["step"], state["tokens_seen"], cfg, stages))
    metadata = {
        "name": "code-diffusion-embedded",
        "family": "embedded",
        "format": {
            "mask_token": "[MASK]", "pad_token": "[PAD]", "bos_token": "[BOS]",
            "eos_token": "[EOS]",
            "bos_at_file_start": True, "eos_at_file_end": True,
            "hole_padding": "unused hole slots are predicted as [PAD] and trimmed",
            "logits": "same-position",
        },
        "num_parameters": count_parameters(model),
        "training": {
            **totals(stages),
            "seq_len": cfg["seq_len"], "batch_size": cfg["batch_size"], "lr": cfg["lr"],
            "size": cfg["size"], "copy_head": cfg.get("copy_head", 0), "stages": stages,
            "corpus": stats,
        },
        "max_context": max_context or cfg["seq_len"],
        "dtype": dtype,
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        staging = Path(tmp) / "model"
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer = Tokenizer.from_file(str(run_dir / TOKENIZER_FILE))
        save_pretrained_tokenizer(tokenizer, staging, max_length=cfg["seq_len"])
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n")
        old = out_dir.with_name(out_dir.name + ".old")
        if out_dir.exists():
            out_dir.rename(old)
        for file in staging.iterdir():
            file.chmod(0o644)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    return metadata


def _lineage(state: dict, cfg: dict) -> list[dict]:
    """The stages before this run: recorded in the checkpoint at its warm start, or, for a
    checkpoint written before runs recorded them, read from its ``init_from`` directory when
    that is still there."""
    if "lineage" in state:
        return [dict(stage) for stage in state["lineage"]]
    source = Path(cfg.get("init_from") or "")
    if cfg.get("init_from") and source.is_dir():
        return stages_of(source)
    return []


def write_corpus_table(run_dir: Path, out: Path) -> int:
    """Write every corpus file of the run (kind, source, path, split, characters, hash) as a
    TSV for audit, in the format of ``corpus.write_tsv``."""
    from code_diffusion.training.corpus import SourceFile, write_tsv

    manifest = json.loads((run_dir / "manifest.json").read_text())
    files = [SourceFile(**{"kind": "stdlib" if f["source"] == "stdlib" else "dependency", **f})
             for f in manifest["files"]]  # a manifest older than the pinned projects has no kind
    return write_tsv(files, out)


def clean_log(log_file: Path) -> list[dict]:
    """The training log with one entry per step: a resumed run re-logs the steps after its
    checkpoint, and the later entry wins."""
    by_step: dict[int, dict] = {}
    for line in log_file.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            by_step[entry["step"]] = entry
    return [by_step[s] for s in sorted(by_step)]
