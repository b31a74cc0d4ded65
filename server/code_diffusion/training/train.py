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
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from code_diffusion.measure import native_bf16
from code_diffusion.training import data
from code_diffusion.training.model import build_model
from code_diffusion.training.objective import MaskingConfig, diffusion_loss, make_batch

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
        decay = [p for n, p in self.model.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.model.named_parameters() if p.ndim < 2]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)
        self.bf16 = cfg.bf16 and native_bf16()
        self.step, self.tokens_seen, self.rng = 0, 0, np.random.default_rng(cfg.seed)
        self._resume()

    def _resume(self) -> None:
        path = self.run / "checkpoint.pt"
        if not path.exists():
            return
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.step, self.tokens_seen = state["step"], state["tokens_seen"]
        self.rng.bit_generator.state = state["rng"]
        self.log(f"resumed at step {self.step} ({self.tokens_seen:,} tokens)")

    def save(self) -> None:
        state = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                 "step": self.step, "tokens_seen": self.tokens_seen,
                 "rng": self.rng.bit_generator.state, "config": asdict(self.cfg)}
        tmp = self.run / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.run / "checkpoint.pt")

    def _record(self, entry: dict) -> None:
        with (self.run / "log.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")

    def train(self) -> None:
        cfg, masking = self.cfg, MaskingConfig(seq_len=self.cfg.seq_len)
        deadline = time.monotonic() + cfg.minutes * 60
        next_save = time.monotonic() + cfg.checkpoint_minutes * 60
        bar = tqdm(total=cfg.total_steps, initial=self.step, dynamic_ncols=True, mininterval=5)
        self.model.train()
        window_start, window_tokens = time.monotonic(), 0
        try:
            while self.step < cfg.total_steps and time.monotonic() < deadline:
                for group in self.opt.param_groups:
                    group["lr"] = lr_at(self.step, cfg)
                batch = make_batch(self.train_tokens, cfg.batch_size, self.rng, masking)
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
                    entry.update(held_out_loss(self.model, self.valid_tokens, cfg.seq_len,
                                               bf16=self.bf16))
                    window_start, window_tokens = time.monotonic(), 0
                    self.log(json.dumps(entry))
                self._record(entry)
                if time.monotonic() > next_save:
                    self.save()
                    next_save = time.monotonic() + cfg.checkpoint_minutes * 60
        finally:
            bar.close()
            self.save()
            self.log(f"saved checkpoint at step {self.step} ({self.tokens_seen:,} tokens)")

