"""Train the embedded model on this CPU, resumably, and export it into the package.

A run directory holds the corpus arrays, the tokenizer, ``checkpoint.pt`` (model, optimiser,
step, random state; written every few minutes and on exit) and ``log.jsonl`` (training loss,
tokens/s, held-out loss at fixed masking rates). ``export`` writes a float16 safetensors model
directory that loads with ``AutoModelForMaskedLM.from_pretrained``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from code_diffusion.measure import native_bf16
from code_diffusion.training import data
from code_diffusion.training.lineage import stages_of
from code_diffusion.training.mixture import MixtureBatches, background_batches, load_tokenizer
from code_diffusion.training.model import add_copy_head, build_model
from code_diffusion.training.objective import (
    PAD_ID,
    Batch,
    MaskingConfig,
    diffusion_loss,
    make_batch,
)
from code_diffusion.training.optim import OptimizerConfig, build_optimizer
from code_diffusion.training.windows import REVEAL_SHARE, parse_shares

EVAL_RATES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class TrainConfig:
    run_dir: str = "runs/embedded"
    size: str = "small"
    vocab_size: int = 4096
    seq_len: int = 256
    batch_size: int = 32
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    total_steps: int = 4000
    weight_decay: float = 0.05
    minutes: float = 60.0
    """Stop after this much wall time (the run resumes from its checkpoint)."""
    checkpoint_minutes: float = 5.0
    eval_every: int = 100
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    """bfloat16 autocast for the forward pass (about 1.5x faster on CPUs with AVX512-BF16;
    weights and optimiser state stay float32)."""
    muon: bool = False
    """Muon for the encoder's matrices and AdamW for the rest (``optim.build_optimizer``);
    False: AdamW for every parameter (the recipe of the shipped model)."""
    windows: str = "stream"
    """``stream``: windows cut at random from the token stream (``objective.make_batch``).
    ``context``: the editor's mixture (``mixture``, ``windows``), made by a worker process."""
    init_from: str = ""
    """A model directory (``config.json`` + ``model.safetensors``) whose weights start a fresh
    run (a warm start), or another run's ``checkpoint.pt`` file, which this run continues (its
    step, optimiser state and random state; a copy head added by ``copy_head`` starts fresh);
    ignored when the run resumes from its own checkpoint."""
    copy_head: int = 0
    """Key width of a copy head (``engine/adapters/copy_head.py``) added to the model; 0: none.
    The loss is then the NLL of the mixed copy/vocabulary distribution."""
    copy_share: float = 0.0
    """Context windows: the share of line holes drawn among lines the window can copy
    (``windows.context_window``); 0: lines with a snippet, as before."""
    shares: str = ""
    """Context windows: overrides of the mixture's shares (``windows.parse_shares``, e.g.
    ``"rest_of_line=0.24,line=0.30"``); empty: ``windows.HOLE_SHARES``."""
    reveal_share: float = REVEAL_SHARE
    """Context windows: the share of holes that show part of their true text
    (``windows.REVEAL_SHARE``)."""
    eval_seq_len: int = 256
    """Length of the held-out windows (256: the figures of the shipped model's card)."""


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` at ``total_steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.total_steps - cfg.warmup_steps))
    ratio = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.lr * ratio


@torch.no_grad()
def held_out_loss(model, tokens: np.ndarray, seq_len: int, rates=EVAL_RATES,
                  rows: int = 64, bf16: bool = False) -> dict[str, float]:
    """Mean masked-token CE on fixed held-out windows at fixed masking rates (iid masks)."""
    model.eval()
    result = {}
    for rate in rates:
        cfg = MaskingConfig(seq_len=seq_len, span_share=0.0, low_t_share=0.0,
                            t_min=rate, low_t_max=rate)
        rng = np.random.default_rng(1234)
        batch = make_batch(tokens, rows, rng, _fixed_rate(cfg, rate))
        with _autocast(bf16):
            _, ce = diffusion_loss(model, batch)
        result[f"val_ce_t{rate}"] = round(float(ce), 4)
    model.train()
    return result


HELD_OUT_SHARES = {"line": 0.40, "rest_of_line": 0.12, "block": 0.13, "draft": 0.10}
"""The held-out context windows keep the first retraining run's mixture (no described holes,
default canvases), so their CE compares across runs."""


def held_out_windows(run: Path, seq_len: int, rows: int = 64) -> list[Batch]:
    """Fixed context-format windows of the held-out files (:data:`HELD_OUT_SHARES` without
    plain rows)."""
    texts = [r["text"] for r in data.read_texts(run, "valid")]
    maker = MixtureBatches(texts, np.zeros(0, np.uint16), load_tokenizer(run), seq_len, 16,
                           shares=_without_plain(HELD_OUT_SHARES), ladder=0.0,
                           short_canvas=0.0, reveal=0.0)
    rng = np.random.default_rng(4321)
    return [maker.batch(rng) for _ in range(rows // 16)]


def _without_plain(shares: dict[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


def real_tokens_only(batch: Batch) -> Batch:
    """The batch with its loss positions cut to those whose target is not ``[PAD]`` (the
    input unchanged: a hole's unused slots stay masked)."""
    return replace(batch, masked=batch.masked & (batch.targets != PAD_ID))


@torch.no_grad()
def batch_ce(model, batches: list[Batch], bf16: bool = False) -> float:
    """Mean CE over the loss positions of ``batches``."""
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        with _autocast(bf16):
            _, ce = diffusion_loss(model, batch)
        n = int(batch.masked.sum())
        total, count = total + float(ce) * n, count + n
    model.train()
    return round(total / max(1, count), 4)


def _stop(signum, frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def _autocast(enabled: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def _fixed_rate(cfg: MaskingConfig, rate: float) -> MaskingConfig:
    # t is drawn from [t_min, 1] for rows outside the low share; pin it by making both ends rate.
    return MaskingConfig(seq_len=cfg.seq_len, t_min=rate, low_t_share=1.0, low_t_max=rate,
                         span_share=0.0)


def unigram_ce(train: np.ndarray, valid: np.ndarray, vocab_size: int) -> float:
    """Cross-entropy of a unigram model fitted on train, on the held-out tokens (the floor a
    model that ignores its context reaches)."""
    counts = np.bincount(np.asarray(train[: 20_000_000]), minlength=vocab_size) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[np.asarray(valid)].mean())


class Trainer:
    def __init__(self, cfg: TrainConfig, log=print) -> None:
        self.cfg, self.log = cfg, log
        self.run = Path(cfg.run_dir)
        torch.set_num_threads(cfg.threads)
        if not (self.run / "train.bin").exists():
            data.build(self.run, cfg.vocab_size, log=log)
        self.train_tokens = data.load_tokens(self.run, "train")
        self.valid_tokens = data.load_tokens(self.run, "valid")
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg.vocab_size, cfg.size, max_positions=512)
        if cfg.copy_head:
            add_copy_head(self.model, cfg.copy_head)
        self.opt = self._optimizer()
        self.bf16 = cfg.bf16 and native_bf16()
        self.step, self.tokens_seen, self.rng = 0, 0, np.random.default_rng(cfg.seed)
        self.started_from = ""
        self.lineage: list[dict] = []
        """The stages that made the starting weights (``lineage.stages_of``)."""
        if not self._resume() and cfg.init_from:
            source = Path(cfg.init_from)
            if source.is_file():
                self._continue(source)
            else:
                self._warm_start(source)
            self.started_from = cfg.init_from
        self.context_valid = (held_out_windows(self.run, cfg.seq_len)
                              if cfg.windows == "context" else None)

    def _optimizer(self):
        cfg = self.cfg
        if cfg.muon and cfg.copy_head:
            raise ValueError("--copy-head with --muon is not implemented (the head's "
                             "parameters would need their own groups in both optimisers); "
                             "train the copy head with AdamW")
        if cfg.muon:
            return build_optimizer(self.model, OptimizerConfig(lr=cfg.lr,
                                                               weight_decay=cfg.weight_decay))
        # The copy head's parameters get groups of their own after the model's, so the
        # optimiser state of a run without the head restores into the first two (_continue).
        named = [(n, p) for n, p in self.model.named_parameters()]
        groups = []
        for head in (False, True):
            part = [p for n, p in named if n.startswith("copy_head.") == head]
            if part:
                groups += [{"params": [p for p in part if p.ndim >= 2],
                            "weight_decay": cfg.weight_decay},
                           {"params": [p for p in part if p.ndim < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)

    def _warm_start(self, directory: Path) -> None:
        from safetensors.torch import load_file

        weights = directory / "model.safetensors"
        if not weights.exists():
            raise FileNotFoundError(f"no model.safetensors in {directory}; give --init-from "
                                    "a model directory (e.g. the package's models/embedded)")
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        self._load_matching(state, str(directory))
        self.lineage = stages_of(directory)
        self.log(f"warm start from {directory}")

    def _load_matching(self, state: dict, where: str) -> None:
        """Load a model state that lacks at most the tied output layer (saved once, as the
        embedding) and the copy head (which then starts fresh)."""
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        missing = [k for k in missing
                   if k != "decoder.weight" and not k.startswith("copy_head.")]
        if missing or unexpected:
            raise ValueError(f"{where} does not fit a {self.cfg.size!r} model"
                             f"{' with a copy head' if self.cfg.copy_head else ''}: missing "
                             f"{missing[:5]}, unexpected {unexpected[:5]}; pick the same --size "
                             "and --copy-head as the run that wrote it")

    def _continue(self, path: Path) -> None:
        """Continue another run's checkpoint in this run directory: its weights, step, token
        count, random state and optimiser state (the copy head's groups, when the checkpoint
        has none, start empty)."""
        state = torch.load(path, map_location="cpu", weights_only=False)
        self._load_matching(state["model"], str(path))
        saved, groups = state["optimizer"], self.opt.state_dict()["param_groups"]
        if len(saved["param_groups"]) > len(groups):
            raise ValueError(f"{path} has {len(saved['param_groups'])} optimiser groups, this "
                             f"model {len(groups)}: continue it with the same --copy-head")
        saved = {"state": saved["state"],
                 "param_groups": saved["param_groups"] + groups[len(saved["param_groups"]):]}
        self.opt.load_state_dict(saved)
        self.step, self.tokens_seen = state["step"], state["tokens_seen"]
        self.rng.bit_generator.state = state["rng"]
        self.lineage = state.get("lineage", [])
        self.log(f"continuing {path} at step {self.step} ({self.tokens_seen:,} tokens)")

    def _resume(self) -> bool:
        path = self.run / "checkpoint.pt"
        if not path.exists():
            return False
        if self.cfg.copy_head:  # a checkpoint written without the head resumes with it
            self._continue(path)
            return True
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.step, self.tokens_seen = state["step"], state["tokens_seen"]
        self.rng.bit_generator.state = state["rng"]
        self.lineage = state.get("lineage", [])
        self.log(f"resumed at step {self.step} ({self.tokens_seen:,} tokens)")
        return True

    def evaluate(self) -> dict[str, float]:
        """Held-out CE on the standard windows and, with context windows, on fixed held-out
        context-format windows (``val_ctx_ce``)."""
        result = held_out_loss(self.model, self.valid_tokens, self.cfg.eval_seq_len,
                               bf16=self.bf16)
        if self.context_valid is not None:
            result["val_ctx_ce"] = batch_ce(self.model, self.context_valid, self.bf16)
            result["val_ctx_real_ce"] = batch_ce(
                self.model, [real_tokens_only(b) for b in self.context_valid], self.bf16)
        return result

    def save(self) -> None:
        state = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                 "step": self.step, "tokens_seen": self.tokens_seen,
                 "rng": self.rng.bit_generator.state, "config": asdict(self.cfg),
                 "lineage": self.lineage}
        tmp = self.run / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.run / "checkpoint.pt")

    def _record(self, entry: dict) -> None:
        with (self.run / "log.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")

    def train(self) -> None:
        """Train until ``total_steps`` or the wall-time budget; SIGTERM stops it cleanly (the
        checkpoint is saved, as on any exit)."""
        if threading.current_thread() is not threading.main_thread():
            self._train()
            return
        previous = signal.signal(signal.SIGTERM, _stop)
        try:
            self._train()
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _train(self) -> None:
        cfg, masking = self.cfg, MaskingConfig(seq_len=self.cfg.seq_len)
        deadline = time.monotonic() + cfg.minutes * 60
        next_save = time.monotonic() + cfg.checkpoint_minutes * 60
        bar = tqdm(total=cfg.total_steps, initial=self.step, dynamic_ncols=True, mininterval=5)
        self.model.train()
        window_start, window_tokens = time.monotonic(), 0
        if self.started_from:
            # the starting weights' own figures (with a fresh copy head, if any)
            start = {"step": self.step, "tokens": self.tokens_seen, **self.evaluate()}
            self.log(json.dumps(start))
            self._record(start)
        batches = (background_batches(self.run, cfg.seq_len, cfg.batch_size,
                                      cfg.seed * 1_000_003 + self.step, cfg.copy_share,
                                      parse_shares(cfg.shares), cfg.reveal_share)
                   if cfg.windows == "context" else None)
        try:
            while self.step < cfg.total_steps and time.monotonic() < deadline:
                for group in self.opt.param_groups:
                    group["lr"] = lr_at(self.step, cfg)
                batch = (next(batches) if batches is not None
                         else make_batch(self.train_tokens, cfg.batch_size, self.rng, masking))
                with _autocast(self.bf16):
                    loss, ce = diffusion_loss(self.model, batch)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.opt.step()
                self.step += 1
                self.tokens_seen += batch.input_ids.numel()
                window_tokens += batch.input_ids.numel()
                rate = window_tokens / max(1e-6, time.monotonic() - window_start)
                bar.update(1)
                loss_value = float(loss.detach())
                bar.set_postfix(loss=f"{loss_value:.3f}", ce=f"{float(ce):.3f}",
                                tok_s=f"{rate:,.0f}")
                entry = {"step": self.step, "tokens": self.tokens_seen, "loss": loss_value,
                         "ce": float(ce), "lr": lr_at(self.step - 1, cfg), "tok_s": round(rate)}
                if self.step % cfg.eval_every == 0:
                    entry.update(self.evaluate())
                    window_start, window_tokens = time.monotonic(), 0
                    self.log(json.dumps(entry))
                self._record(entry)
                if time.monotonic() > next_save:
                    self.save()
                    next_save = time.monotonic() + cfg.checkpoint_minutes * 60
        finally:
            bar.close()
            self.save()
            if batches is not None:  # stop the batch worker now: it ignores stop signals
                batches.close()
            self.log(f"saved checkpoint at step {self.step} ({self.tokens_seen:,} tokens)")

