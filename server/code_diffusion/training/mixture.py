"""Batches of the context-format mixture, made by a background worker process.

Each row is drawn by :func:`windows.pick_kind`: a context-format window (line, rest-of-line,
block or draft hole, laid out by the engine's canvas) cut from a random training file, or a
plain span / uniform masking row of the token stream (``objective.make_batch``). Rows shorter
than the sequence length are padded with ``[PAD]`` and left out of attention. Making a window
is pure Python (context assembly, tokenising), so a ``DataLoader`` worker builds batches while
the main process trains.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from code_diffusion.training import data, windows
from code_diffusion.training.objective import PAD_ID, Batch, MaskingConfig, make_batch

T_MIN = 0.02
WINDOW_TRIES = 1000
"""Documents drawn for one window before the kind is declared missing from the corpus."""


def load_tokenizer(run_dir: Path):
    """The run's tokenizer as the engine uses it (a transformers fast tokenizer)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(run_dir / data.TOKENIZER_FILE),
                                   pad_token="[PAD]", mask_token="[MASK]",
                                   bos_token="[BOS]", eos_token="[EOS]")


class MixtureBatches:
    """Makes batches of the mixture from a list of document texts and a token stream."""

    def __init__(self, texts: list[str], tokens: np.ndarray, tokenizer, seq_len: int,
                 batch_size: int, shares: dict[str, float] | None = None,
                 ladder: float = windows.LADDER_SHARE, copy_share: float = 0.0,
                 short_canvas: float = windows.SHORT_CANVAS_SHARE,
                 reveal: float = windows.REVEAL_SHARE) -> None:
        self.texts, self.tokens = texts, tokens
        self.reveal = reveal
        self.short_canvas = short_canvas
        self.copy_share = copy_share
        self.seq_len, self.batch_size = seq_len, batch_size
        self.shares = windows.HOLE_SHARES if shares is None else shares
        self.ladder = ladder
        self.denoiser = windows.tokenizer_denoiser(tokenizer, seq_len)
        self.counts: Counter[str] = Counter()

    def window(self, kind: str, rng: np.random.Generator) -> windows.Window:
        """A window of ``kind`` from a random document (redrawn until one fits)."""
        for _ in range(WINDOW_TRIES):
            text = self.texts[int(rng.integers(len(self.texts)))]
            found = windows.context_window(self.denoiser, text, kind, rng, ladder=self.ladder,
                                           copy_share=self.copy_share,
                                           short_canvas=self.short_canvas,
                                           reveal=self.reveal)
            if found is not None and len(found.ids) <= self.seq_len:
                return found
        raise ValueError(f"no {kind!r} window fits in {WINDOW_TRIES} random documents of "
                         f"{len(self.texts)}; give the mixture documents that have such holes "
                         "or set its share to 0")

    def batch(self, rng: np.random.Generator) -> Batch:
        kinds = [windows.pick_kind(rng, self.shares) for _ in range(self.batch_size)]
        self.counts.update(kinds)
        plain = sum(k == "plain" for k in kinds)
        length = self.seq_len
        ids = np.full((self.batch_size, length), PAD_ID, dtype=np.int64)
        target = np.full_like(ids, PAD_ID)
        masked = np.zeros(ids.shape, dtype=bool)
        attention = np.zeros(ids.shape, dtype=bool)
        weights = np.ones(self.batch_size, dtype=np.float32)
        if plain:
            stream = make_batch(self.tokens, plain, rng, MaskingConfig(seq_len=length))
            ids[:plain], target[:plain] = stream.input_ids.numpy(), stream.targets.numpy()
            masked[:plain], attention[:plain] = stream.masked.numpy(), True
            weights[:plain] = stream.weights.numpy()
        for row, kind in enumerate(k for k in kinds if k != "plain"):
            row += plain
            w = self.window(kind, rng)
            size = len(w.ids)
            ids[row, :size], target[row, :size] = w.ids, w.targets
            masked[row, :size], attention[row, :size] = w.loss_mask(), True
            # 1/t with t the masked share of the window: each row weighs its mean CE.
            weights[row] = 1.0 / max(T_MIN, masked[row].sum() / length)
        return Batch(torch.from_numpy(ids), torch.from_numpy(masked), torch.from_numpy(target),
                     torch.from_numpy(weights), torch.from_numpy(attention))


class _Stream(torch.utils.data.IterableDataset):
    def __init__(self, run_dir: Path, seq_len: int, batch_size: int, seed: int,
                 copy_share: float, shares: dict[str, float] | None, reveal: float) -> None:
        super().__init__()
        self.run_dir, self.seq_len, self.batch_size, self.seed = run_dir, seq_len, batch_size, seed
        self.copy_share, self.shares, self.reveal = copy_share, shares, reveal

    def __iter__(self):
        torch.set_num_threads(1)
        texts = [r["text"] for r in data.read_texts(self.run_dir, "train")]
        tokens = data.load_tokens(self.run_dir, "train")
        maker = MixtureBatches(texts, tokens, load_tokenizer(self.run_dir), self.seq_len,
                               self.batch_size, shares=self.shares,
                               copy_share=self.copy_share, reveal=self.reveal)
        rng = np.random.default_rng(self.seed)
        while True:
            b = maker.batch(rng)
            yield b.input_ids, b.masked, b.targets, b.weights, b.attention


STOP_GRACE_SECONDS = 10
"""How long the batch worker outlives a SIGTERM (see :func:`_leave_stopping_to_the_trainer`)."""


def _leave_stopping_to_the_trainer(_worker: int) -> None:
    """The batch worker ignores SIGINT and outlives a SIGTERM by ``STOP_GRACE_SECONDS``: a
    signal sent to the whole process group (Ctrl+C in a terminal, ``pkill -f``, a service
    manager) must not kill it while the trainer, which stops on the same signal, writes its
    checkpoint (a dead worker makes torch raise in the middle of the save). The trainer shuts
    it down after the save; a SIGTERM from the trainer's own exit ends it after the grace."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_after_the_grace)


def _exit_after_the_grace(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(STOP_GRACE_SECONDS)


def background_batches(run_dir: Path, seq_len: int, batch_size: int, seed: int,
                       copy_share: float = 0.0, shares: dict[str, float] | None = None,
                       reveal: float = windows.REVEAL_SHARE):
    """An endless iterator of mixture :class:`Batch` es made by one worker process.

    ``seed`` should change on every resume (the worker's random state is not checkpointed):
    the trainer passes its step. ``copy_share``: see :func:`windows.context_window`;
    ``shares``: the mixture (``None``: :data:`windows.HOLE_SHARES`); ``reveal``: see
    :data:`windows.REVEAL_SHARE`."""
    loader = torch.utils.data.DataLoader(_Stream(run_dir, seq_len, batch_size, seed,
                                                 copy_share, shares, reveal),
                                         batch_size=None, num_workers=1, prefetch_factor=4,
                                         persistent_workers=True,
                                         worker_init_fn=_leave_stopping_to_the_trainer)
    for ids, masked, targets, weights, attention in loader:
        yield Batch(ids, masked, targets, weights, attention)
