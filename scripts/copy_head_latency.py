"""What the copy head costs: the same exported model with its head and with the head removed.

Times one full pass and one block pass over a canvas of ROWS x LENGTH tokens with a 24-slot
hole (median of REPEATS, the two variants interleaved), and FILLS line fills (the engine's
defaults, three candidates) at line starts of held-out files, also interleaved. One thread.

    PYTHONPATH=server CODE_DIFFUSION_THREADS=1 python3 scripts/copy_head_latency.py EXPORT_DIR \
        runs/NAME/texts-valid.jsonl [FILLS [PLAIN_EXPORT_DIR]]

With PLAIN_EXPORT_DIR it compares line fills of that model (the plain arm) against EXPORT_DIR
with its head, each as trained, instead.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

from code_diffusion.engine.adapters.masked_lm import BlockCache
from code_diffusion.engine.loading import load_model

ROWS, LENGTH, HOLE, REPEATS = 3, 512, 24, 40


def _lines(texts_file: str, count: int) -> list[tuple[str, str]]:
    """(prefix, suffix) at the first non-blank character of lines of the held-out files."""
    out = []
    for line in Path(texts_file).read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        offset = 0
        for index, row in enumerate(text.splitlines(keepends=True)):
            if index % 7 == 3 and row.strip() and offset > 200:
                cut = offset + len(row) - len(row.lstrip())
                end = offset + len(row.rstrip("\n"))
                out.append((text[:cut], text[end:]))
                if len(out) == count:
                    return out
            offset += len(row)
    return out


def _passes(denoiser, head) -> dict[str, float]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(8, 4096, (ROWS, LENGTH), generator=generator)
    start = LENGTH - HOLE - 16
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[:, start : start + HOLE] = True
    ids[where] = denoiser.ids.mask
    times: dict[str, list[float]] = {}
    with torch.inference_mode():
        for _ in range(REPEATS):
            for name, on in (("with head", True), ("without", False)):
                denoiser.model.copy_head = head if on else None
                began = time.perf_counter()
                denoiser.logits_at(ids, where)
                times.setdefault(f"full pass {name}", []).append(time.perf_counter() - began)
                cache = BlockCache(start=start, end=start + HOLE)
                denoiser.cached_logits_at(ids, where, cache)
                began = time.perf_counter()
                denoiser.cached_logits_at(ids, where, cache)
                times.setdefault(f"block pass {name}", []).append(time.perf_counter() - began)
    denoiser.model.copy_head = head
    return {k: round(statistics.median(v) * 1000, 2) for k, v in times.items()}


def main() -> None:
    torch.set_num_threads(1)
    model = load_model(sys.argv[1], precision="float32")
    head = model.denoiser.model.copy_head
    if head is None:
        raise SystemExit(f"{sys.argv[1]} has no copy head")
    lines = _lines(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 150)
    if len(sys.argv) > 4:  # another export (the plain arm) against this one, as trained
        arms = {"plain": load_model(sys.argv[4], precision="float32"), "copy": model}
        print(json.dumps(_fills(lines, {k: (m, None) for k, m in arms.items()})))
        return
    print(json.dumps({"rows": ROWS, "length": LENGTH, **_passes(model.denoiser, head)}))
    print(json.dumps(_fills(lines, {"with head": (model, head), "without": (model, False)})))


def _fills(lines, arms: dict) -> dict:
    """Line fills of each arm ``name -> (model, head to set or None to leave)``, interleaved:
    time, encoder passes and time per pass."""
    times: dict[str, list[float]] = {name: [] for name in arms}
    counters = {id(m): _count_passes(m.denoiser.model) for m, _ in arms.values()}
    counted = dict.fromkeys(arms, 0)
    for prefix, suffix in lines:
        for name, (model, head) in arms.items():
            if head is not None:
                model.denoiser.model.copy_head = head or None
            passes = counters[id(model)]
            before, began = passes[0], time.perf_counter()
            model.generate("", "python", (prefix, suffix), num_samples=3, seed=0)
            times[name].append(time.perf_counter() - began)
            counted[name] += passes[0] - before
    return {"fills": len(lines), **{
        f"line fill {k} median ms": round(statistics.median(v) * 1000, 1)
        for k, v in times.items()}, **{
        f"line fill {k} mean ms": round(statistics.mean(v) * 1000, 1)
        for k, v in times.items()}, **{
        f"passes per fill {k}": round(n / len(lines), 2) for k, n in counted.items()}, **{
        f"ms per pass {k}": round(sum(times[k]) * 1000 / max(1, counted[k]), 2)
        for k in counted}}


def _count_passes(model) -> list[int]:
    """Count the encoder's passes (full and block) on this model instance."""
    count = [0]
    for name in ("encode", "encode_block"):
        method = getattr(model, name)

        def counting(*args, _method=method, **kwargs):
            count[0] += 1
            return _method(*args, **kwargs)

        setattr(model, name, counting)
    return count


if __name__ == "__main__":
    main()
