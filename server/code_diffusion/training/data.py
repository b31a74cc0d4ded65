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


def build(out_dir: Path, vocab_size: int, log=print) -> dict[str, int]:
    """Collect the corpus, train the tokenizer and write the token arrays into ``out_dir``.

    Deterministic: the same machine state gives the same files, tokenizer and arrays. Downloads
    the pinned corpus projects first if they are not in the cache yet.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus.prepare(log=log)
    files, skipped = corpus.collect()
    corpus.write_manifest(files, skipped, out_dir / "manifest.json")
    log(f"corpus: {len(files)} files, {sum(f.chars for f in files):,} characters")
    train_files = [f for f in files if f.split == "train"]
    tokenizer = train_tokenizer((corpus.read_text(f) for f in train_files), vocab_size)
    tokenizer.save(str(out_dir / TOKENIZER_FILE))
    stats = {}
    for split in ("train", "valid"):
        chosen = [f for f in files if f.split == split]
        stats[f"{split}_files"] = len(chosen)
        stats[f"{split}_tokens"] = _encode_split(tokenizer, chosen, out_dir / f"{split}.bin")
        stats[f"{split}_chars"] = sum(f.chars for f in chosen)
    (out_dir / "data_stats.json").write_text(json.dumps(stats, indent=1))
    log(f"tokens: {stats}")
    return stats


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
