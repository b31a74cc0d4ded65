"""Training with the copy head (``train --copy-head``): it learns to copy where only copying
gives the answer, a run without the head continues with it, and the export loads through the
engine's adapters (and is refused by transformers)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from code_diffusion.training.export import export
from code_diffusion.training.model import add_copy_head, build_model
from code_diffusion.training.objective import MASK_ID, Batch, diffusion_loss
from code_diffusion.training.train import TrainConfig, Trainer

LENGTH, ROWS, HOLE, SOURCE = 24, 16, 12, 3


def _copy_task(generator: torch.Generator) -> Batch:
    """Rows of random tokens where the one masked token repeats a visible one: its identity
    is random, so only the window tells it."""
    targets = torch.randint(4, 4096, (ROWS, LENGTH), generator=generator)
    targets[:, HOLE] = targets[:, SOURCE]
    masked = torch.zeros(ROWS, LENGTH, dtype=torch.bool)
    masked[:, HOLE] = True
    return Batch(torch.where(masked, MASK_ID, targets), masked, targets, torch.ones(ROWS))


def _train(copy: bool, steps: int = 40) -> float:
    torch.manual_seed(0)
    model = build_model(4096, "tiny", max_positions=64)
    if copy:
        add_copy_head(model, 16)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss, _ = diffusion_loss(model, _copy_task(generator))
        opt.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        opt.step()
    with torch.no_grad():
        return float(diffusion_loss(model, _copy_task(torch.Generator().manual_seed(99)))[1])


def test_the_head_learns_to_copy_what_only_the_window_holds():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on a shared machine spin far longer than they work
    try:
        with_head, without = _train(copy=True), _train(copy=False)
    finally:
        torch.set_num_threads(threads)
    # uniform attention over the 23 visible tokens alone would give log 23 = 3.1 nats
    assert with_head < math.log(LENGTH - 1) + 0.3
    assert without > math.log(4096) - 1.5 and with_head < without - 3


def test_a_run_without_the_head_continues_with_it_and_exports_it(tmp_path, tiny_run):
    from safetensors.torch import load_file

    from code_diffusion.engine.loading import load_model

    base = tiny_run(tmp_path)
    common = dict(size="tiny", seq_len=64, batch_size=2, warmup_steps=1, threads=1,
                  bf16=False, eval_every=100)
    first = Trainer(TrainConfig(run_dir=str(base), total_steps=2, **common))
    first.train()
    (tmp_path / "second").mkdir()
    run = tiny_run(tmp_path / "second")
    config = TrainConfig(run_dir=str(run), total_steps=3, copy_head=8,
                         init_from=str(base / "checkpoint.pt"), **common)
    second = Trainer(config)
    assert second.step == 2 and second.tokens_seen == first.tokens_seen
    old, new = first.opt.state_dict(), second.opt.state_dict()
    assert len(new["param_groups"]) == 4
    for index, state in old["state"].items():
        assert torch.equal(new["state"][index]["exp_avg"], state["exp_avg"])
    assert len(new["state"]) == len(old["state"])  # the head's moments start empty
    second.train()
    assert second.step == 3
    assert Trainer(config).step == 3  # it resumes its own checkpoint, head included
    in_place = Trainer(TrainConfig(run_dir=str(base), total_steps=3, copy_head=8, **common))
    assert in_place.step == 2 and in_place.model.copy_head is not None  # the same run, + head

    out = tmp_path / "model"
    meta = export(run, out)
    assert meta["training"]["copy_head"] == 8
    saved = json.loads((out / "config.json").read_text())
    assert saved["copy_head"] == {"key_dim": 8, "mask_token_id": MASK_ID}
    weights = load_file(str(out / "model.safetensors"))
    assert {k for k in weights if k.startswith("copy_head.")} == {
        "copy_head.query.weight", "copy_head.key.weight", "copy_head.gate.weight",
        "copy_head.gate.bias"}
    loaded = load_model(out, precision="float32")
    assert type(loaded.denoiser).__name__ == "ModernBertDenoiser"
    assert loaded.denoiser.model.copy_head is not None
    _same_distribution(second.model, loaded.denoiser.model)
    assert len(loaded.generate("", "python", "x = ", num_samples=2, max_length=4)) == 2


def _same_distribution(trained, engine) -> None:
    """The engine's mixed log-probabilities equal the training loss's at the targets."""
    generator = torch.Generator().manual_seed(5)
    targets = torch.randint(4, 60, (2, 30), generator=generator)
    masked = torch.zeros_like(targets, dtype=torch.bool)
    masked[:, 10:16] = True
    batch = Batch(torch.where(masked, MASK_ID, targets), masked, targets, torch.ones(2))
    trained = trained.eval()
    with torch.no_grad():
        nll = torch.stack([-_row_log_probs(engine, batch)])
        ce = diffusion_loss(trained, batch)[1]
    assert float(nll.mean()) == pytest.approx(float(ce), abs=2e-3)  # float16 export


def _row_log_probs(engine, batch: Batch) -> torch.Tensor:
    logits = engine.float().logits_at(batch.input_ids, batch.masked)
    logits[:, MASK_ID] = float("-inf")  # as the training loss does
    logits = torch.log_softmax(logits, -1)
    return logits.gather(1, batch.targets[batch.masked][:, None])[:, 0]


def test_transformers_refuses_the_exported_head(tmp_path, tiny_run):
    from code_diffusion.engine.errors import ModelLoadError
    from code_diffusion.engine.loading import load_model

    run = tiny_run(tmp_path)
    Trainer(TrainConfig(run_dir=str(run), size="tiny", seq_len=64, batch_size=2,
                        total_steps=1, threads=1, bf16=False, copy_head=8)).train()
    out = tmp_path / "model"
    export(run, out)
    (out / "code_diffusion.json").unlink()  # now the generic masked-LM family: transformers
    with pytest.raises(ModelLoadError, match="copy head"):
        load_model(out)


def test_a_plain_model_and_its_copy_head_version_agree_when_the_gate_is_shut():
    torch.manual_seed(0)
    plain = build_model(4096, "tiny", max_positions=64)
    copy = add_copy_head(build_model(4096, "tiny", max_positions=64), 8)
    copy.load_state_dict(plain.state_dict(), strict=False)
    torch.nn.init.constant_(copy.copy_head.gate.bias, -1e4)
    batch = _copy_task(torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert float(diffusion_loss(copy, batch)[1]) == pytest.approx(
            float(diffusion_loss(plain, batch)[1]), abs=1e-4)


def test_an_export_can_be_served_with_a_shorter_window_than_it_trained_on(tmp_path, tiny_run):
    from code_diffusion.engine.loading import load_model

    run = tiny_run(tmp_path)
    Trainer(TrainConfig(run_dir=str(run), size="tiny", seq_len=64, batch_size=2,
                        warmup_steps=1, threads=1, bf16=False, total_steps=1)).train()
    assert export(run, tmp_path / "full")["max_context"] == 64
    meta = export(run, tmp_path / "short", max_context=32)
    assert meta["max_context"] == 32 and meta["training"]["seq_len"] == 64
    assert load_model(tmp_path / "short", precision="float32").denoiser.max_context == 32
    with pytest.raises(ValueError, match="between 16 and the training sequence length 64"):
        export(run, tmp_path / "long", max_context=128)
    assert not (tmp_path / "long").exists()
