"""Held-out figures for the evaluation: masked-token loss, the unigram floor, the baseline line.

* Masked-token cross-entropy on the held-out corpus files (the corpus module's hold-out rule):
  the files are tokenized as in training (``[BOS] file [EOS]``, concatenated), cut into
  non-overlapping windows of the model's context length, and a fixed, evenly spread set of
  windows is masked i.i.d. at a few fixed rates with a fixed seed. The loss is the mean
  cross-entropy (nats per token) at the masked positions, ``[MASK]`` never predicted.
* The unigram baseline: the cross-entropy of token frequencies counted on the training files
  (add-one smoothing), on the same masked positions. A model that ignores its context scores
  about this; anything below it is learned from context.
* The baseline line for the infill benchmarks: the most frequent line of the training files that
  holds one whole simple statement where it stands (not a piece of a statement spanning lines,
  such as ``self,`` inside a call, which would compile alone as a tuple).
"""

from __future__ import annotations

import collections
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_RATES = (0.1, 0.15, 0.5, 0.85)
DEFAULT_WINDOWS = 128
UNIGRAM_FILE_STRIDE = 8
"""Unigram counts come from every 8th training file (about 11 M characters)."""


@functools.cache
def corpus_files() -> tuple[Any, ...]:
    """The corpus files (collected once per process; this reads every source file)."""
    from code_diffusion.training import corpus

    files, _ = corpus.collect()
    return tuple(files)


def split_texts(split: str, stride: int = 1) -> list[str]:
    from code_diffusion.training import corpus

    chosen = [f for f in corpus_files() if f.split == split]
    return [corpus.read_text(f) for f in chosen[::stride]]


# --- the baseline line ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BaselineLine:
    line: str
    """The line's text without indentation."""
    count: int
    """How often it occurs (stripped) in the training files."""
    share: float
    """Its share of the non-blank lines of the training files."""
    most_frequent: str
    """The most frequent line overall, statement or not, for the record."""


def whole_statements(text: str) -> list[str]:
    """The lines of ``text`` that hold exactly one simple statement, whole (indentation off):
    not a line of a statement that spans lines, not a compound statement's header, not two
    statements joined by ``;``. A file that does not parse gives none."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    lines = text.splitlines()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or hasattr(node, "body") or node.end_lineno is None:
            continue
        if node.lineno != node.end_lineno or node.lineno > len(lines):
            continue
        line = lines[node.lineno - 1]
        if line[: node.col_offset].strip() or line[node.end_col_offset:].strip():
            continue
        found.append(line.strip())
    return found


def most_frequent_statement(texts: list[str]) -> BaselineLine:
    """The most frequent line of ``texts`` that is one whole simple statement where it stands
    (:func:`whole_statements`); its share is of all non-blank lines."""
    every = collections.Counter(
        line.strip() for text in texts for line in text.splitlines() if line.strip())
    if not every:
        raise ValueError("no lines to count")
    total = sum(every.values())
    statements = collections.Counter(line for text in texts for line in whole_statements(text))
    line, count = statements.most_common(1)[0] if statements else ("pass", every.get("pass", 0))
    return BaselineLine(line, count, count / total, every.most_common(1)[0][0])


def indent_for_hole(prefix: str, suffix: str) -> str:
    """The indentation a line inserted at the hole most plausibly has: one level deeper than
    the line above when it opens a block (ends with ``:``), else the indentation of the next
    non-blank line, else that of the line above."""
    above = next((line for line in reversed(prefix.splitlines()) if line.strip()), "")
    below = next((line for line in suffix.splitlines() if line.strip()), None)
    above_indent = above[: len(above) - len(above.lstrip())]
    if above.rstrip().endswith(":"):
        return above_indent + "    "
    if below is not None:
        return below[: len(below) - len(below.lstrip())]
    return above_indent


# --- masked-token cross-entropy ------------------------------------------------------------------

def token_stream(tokenizer, texts: list[str], bos_id: int, eos_id: int) -> np.ndarray:
    ids: list[int] = []
    for enc in tokenizer.encode_batch(texts, add_special_tokens=False):
        ids.append(bos_id)
        ids.extend(enc.ids)
        ids.append(eos_id)
    return np.asarray(ids, dtype=np.int64)


def unigram_log_probs(tokenizer, texts: list[str], vocab_size: int) -> np.ndarray:
    counts = np.ones(vocab_size, dtype=np.float64)
    for enc in tokenizer.encode_batch(texts, add_special_tokens=False):
        counts += np.bincount(np.asarray(enc.ids, dtype=np.int64), minlength=vocab_size)[
            :vocab_size]
    return np.log(counts / counts.sum())


def windows_of(stream: np.ndarray, length: int, count: int) -> np.ndarray:
    """``count`` non-overlapping windows spread evenly over ``stream`` (fewer if it is short)."""
    available = len(stream) // length
    if available == 0:
        raise ValueError(f"held-out text is shorter than one window of {length} tokens")
    picks = np.unique(np.linspace(0, available - 1, num=min(count, available)).round().astype(int))
    return np.stack([stream[i * length:(i + 1) * length] for i in picks])


def masked_cross_entropy(logits_at, windows: np.ndarray, rate: float, mask_id: int,
                         unigram: np.ndarray, seed: int = 0, batch_size: int = 16
                         ) -> tuple[float, float, int]:
    """(model CE, unigram CE, masked tokens) at masking ``rate`` on ``windows``;
    ``logits_at(input_ids, where)`` gives the ``(N, V)`` logits at the masked positions
    (``Denoiser.logits_at``)."""
    import torch

    rng = np.random.default_rng(seed)
    masked = rng.random(windows.shape) < rate
    empty = ~masked.any(axis=1)
    masked[empty, rng.integers(0, windows.shape[1], size=int(empty.sum()))] = True
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(windows), batch_size):
            target = torch.from_numpy(windows[start:start + batch_size])
            where = torch.from_numpy(masked[start:start + batch_size])
            inputs = torch.where(where, torch.full_like(target, mask_id), target)
            logits = logits_at(inputs, where).float()
            logits[:, mask_id] = float("-inf")
            ce = torch.nn.functional.cross_entropy(logits, target[where], reduction="sum")
            total += float(ce)
            count += int(where.sum())
    unigram_ce = float(-unigram[windows[masked]].mean())
    return total / count, unigram_ce, count


def heldout_report(model_dir: str | Path, rates: tuple[float, ...] = DEFAULT_RATES,
                   windows: int = DEFAULT_WINDOWS, texts: list[str] | None = None,
                   train_texts: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Masked-token CE of the masked LM in ``model_dir`` on the held-out files, per masking rate,
    next to the unigram CE on the same positions. The model is loaded as the engine serves it
    (``load_model``, float32): a copy head's mixture counts, not the vocabulary head alone.

    ``texts`` and ``train_texts`` default to the corpus's held-out and (every 8th) training
    files.
    """
    from tokenizers import Tokenizer

    from code_diffusion.engine.loading import load_model

    model_dir = Path(model_dir)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    denoiser = load_model(model_dir, device="cpu", precision="float32").denoiser
    model = denoiser.model
    vocab_size = int(model.config.vocab_size)
    ids = {name: tokenizer.token_to_id(name) for name in ("[MASK]", "[BOS]", "[EOS]")}
    if None in ids.values():
        raise ValueError(f"{model_dir}: the tokenizer lacks [MASK], [BOS] or [EOS]")
    length = int(getattr(model.config, "max_position_embeddings", 256))
    try:
        import json

        meta = json.loads((model_dir / "code_diffusion.json").read_text())
        length = int(meta.get("max_context") or length)
    except (OSError, ValueError):
        pass
    length = min(length, 512)
    if texts is None:
        texts = split_texts("valid")
    if train_texts is None:
        train_texts = split_texts("train", UNIGRAM_FILE_STRIDE)
    stream = token_stream(tokenizer, texts, ids["[BOS]"], ids["[EOS]"])
    chosen = windows_of(stream, length, windows)
    unigram = unigram_log_probs(tokenizer, train_texts, vocab_size)
    rows = []
    for rate in rates:
        ce, uni, count = masked_cross_entropy(denoiser.logits_at, chosen, rate, ids["[MASK]"],
                                              unigram, seed)
        rows.append({"rate": rate, "model_ce": round(ce, 4), "unigram_ce": round(uni, 4),
                     "masked_tokens": count,
                     "model_perplexity": round(math.exp(ce), 2)})
    return {
        "files": len(texts),
        "tokens": len(stream),
        "windows": len(chosen),
        "window_tokens": length,
        "unigram_source": (f"every {UNIGRAM_FILE_STRIDE}th training file "
                           f"({len(train_texts)} files), add-one smoothing"),
        "rates": rows,
    }
