"""Turn the corpus into token arrays: ``train.bin`` and ``valid.bin`` (uint16).

Each file becomes ``[BOS] tokens [EOS]``; files are concatenated in manifest order. Training
windows are cut at random offsets of ``train.bin``, so a window can start anywhere in a file,
as the editor's window around the cursor does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from code_diffusion.training import corpus
from code_diffusion.training.tokenizer import BOS, EOS, train_tokenizer

TOKENIZER_FILE = "tokenizer.json"


def build(out_dir: Path, vocab_size: int, log=print,
          tokenizer_file: Path | None = None) -> dict[str, int]:
    """Collect the corpus, train the tokenizer and write the token arrays into ``out_dir``.

    ``tokenizer_file``: use this tokenizer instead of training one (a warm start from the
    shipped model must keep its tokenizer). Also writes ``texts-<split>.jsonl`` (source,
    relpath and text of every file), which the context-format windows are cut from.

    Deterministic: the same machine state gives the same files, tokenizer and arrays. Downloads
    the pinned corpus projects first if they are not in the cache yet.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus.prepare(log=log)
    files, skipped = corpus.collect()
    corpus.write_manifest(files, skipped, out_dir / "manifest.json")
    log(f"corpus: {len(files)} files, {sum(f.chars for f in files):,} characters")
    train_files = [f for f in files if f.split == "train"]
    if tokenizer_file is not None:
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    else:
        tokenizer = train_tokenizer((corpus.read_text(f) for f in train_files), vocab_size)
    tokenizer.save(str(out_dir / TOKENIZER_FILE))
    for split in ("train", "valid"):
        write_texts([f for f in files if f.split == split], out_dir / f"texts-{split}.jsonl")
    stats = {}
    for split in ("train", "valid"):
        chosen = [f for f in files if f.split == split]
        stats[f"{split}_files"] = len(chosen)
        stats[f"{split}_tokens"] = _encode_split(tokenizer, chosen, out_dir / f"{split}.bin")
        stats[f"{split}_chars"] = sum(f.chars for f in chosen)
    (out_dir / "data_stats.json").write_text(json.dumps(stats, indent=1))
    log(f"tokens: {stats}")
    return stats


def write_texts(files: list[corpus.SourceFile], path: Path) -> None:
    """One JSON line per file: ``{"source", "relpath", "text"}``, in manifest order."""
    with path.open("w", encoding="utf-8") as out:
        for f in files:
            record = {"source": f.source, "relpath": f.relpath, "text": corpus.read_text(f)}
            out.write(json.dumps(record) + "\n")


def read_texts(run_dir: Path, split: str) -> list[dict]:
    """The records :func:`write_texts` wrote for ``split``."""
    path = run_dir / f"texts-{split}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; build the run's data first "
                                f"(code-diffusion train --prepare-only --run-dir {run_dir})")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _encode_split(tokenizer: Tokenizer, files: list[corpus.SourceFile], path: Path) -> int:
    bos, eos = tokenizer.token_to_id(BOS), tokenizer.token_to_id(EOS)
    total = 0
    with path.open("wb") as out:
        for start in range(0, len(files), 256):
            chunk = files[start : start + 256]
            encodings = tokenizer.encode_batch([corpus.read_text(f) for f in chunk])
            for enc in encodings:
                ids = np.asarray([bos, *enc.ids, eos], dtype=np.uint16)
                out.write(ids.tobytes())
                total += len(ids)
    return total


def load_tokens(out_dir: Path, split: str) -> np.ndarray:
    return np.memmap(out_dir / f"{split}.bin", dtype=np.uint16, mode="r")
