"""Training resumes from its checkpoint, and the export loads through the engine."""

from __future__ import annotations

import json

from code_diffusion.training.export import clean_log, export
from code_diffusion.training.train import TrainConfig, Trainer, lr_at


def test_a_stopped_run_resumes_where_it_left_off(tmp_path, tiny_run):
    run = tiny_run(tmp_path)
    config = dict(run_dir=str(run), size="tiny", seq_len=64, batch_size=4, total_steps=6,
                  warmup_steps=2, eval_every=3, threads=1, bf16=False)
    first = Trainer(TrainConfig(**config, minutes=0.0))  # the deadline stops it at once
    first.train()
    assert first.step == 0 and (run / "checkpoint.pt").exists()
    Trainer(TrainConfig(**{**config, "total_steps": 3}, minutes=5)).train()
    resumed = Trainer(TrainConfig(**config, minutes=5))
    assert resumed.step == 3
    resumed.train()
    assert resumed.step == 6 and resumed.tokens_seen == 6 * 4 * 64
    steps = [entry["step"] for entry in clean_log(run / "log.jsonl")]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert "val_ce_t0.1" in clean_log(run / "log.jsonl")[2]


def test_the_export_loads_through_the_engine(tmp_path, tiny_run):
    from code_diffusion.engine.loading import load_model

    run = tiny_run(tmp_path)
    Trainer(TrainConfig(run_dir=str(run), size="tiny", seq_len=64, batch_size=2,
                        total_steps=1, threads=1, bf16=False)).train()
    out = tmp_path / "model"
    meta = export(run, out)
    assert meta["training"]["steps"] == 1
    model = load_model(out)
    assert model.info.family == "embedded" and model.info.max_context == 64
    assert len(model.generate("", "python", "x = ", num_samples=2, max_length=4)) == 2


def test_learning_rate_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, total_steps=110, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == 1e-4 and lr_at(9, cfg) == 1e-3
    assert lr_at(110, cfg) == 1e-4 and lr_at(60, cfg) < lr_at(20, cfg)


def test_a_context_run_warm_starts_resumes_and_exports_its_window(tmp_path, tiny_run):
    """A fresh run with --init-from starts from that model's weights; the context-format run
    resumes from its checkpoint and its export records the training length as max_context."""
    import torch
    from safetensors.torch import load_file

    from code_diffusion.engine.loading import load_model

    first = tiny_run(tmp_path)
    Trainer(TrainConfig(run_dir=str(first), size="tiny", seq_len=64, batch_size=2,
                        total_steps=1, threads=1, bf16=False)).train()
    start = tmp_path / "start"
    export(first, start)
    (tmp_path / "second").mkdir()
    run = tiny_run(tmp_path / "second")
    # every kind of hole of the mixture, described ones too (after a docstring, under a comment)
    body = "".join(f'def f{i}(x):\n    """Add {i}, then double."""\n    # add\n    y = x + {i}\n'
                   f"    return y * 2\n\n" for i in range(40))
    for split in ("train", "valid"):
        (run / f"texts-{split}.jsonl").write_text(
            json.dumps({"source": "t", "relpath": "a.py", "text": body}) + "\n")
    config = dict(run_dir=str(run), size="tiny", seq_len=128, batch_size=4, total_steps=2,
                  warmup_steps=1, eval_every=2, threads=1, bf16=False, windows="context",
                  init_from=str(start))
    warm = Trainer(TrainConfig(**config, minutes=0.0))
    shipped = load_file(str(start / "model.safetensors"))
    ours = warm.model.state_dict()
    for key in ("model.embeddings.tok_embeddings.weight", "model.layers.1.mlp.Wo.weight"):
        assert torch.allclose(ours[key], shipped[key].float())
    warm.train()
    resumed = Trainer(TrainConfig(**config, minutes=5))
    assert resumed.step == 0 and resumed.context_valid
    resumed.train()
    assert resumed.step == 2
    entries = clean_log(run / "log.jsonl")
    assert entries[0]["step"] == 0 and "val_ctx_ce" in entries[-1]
    meta = export(run, tmp_path / "model")
    assert meta["max_context"] == 128 and load_model(tmp_path / "model").info.max_context == 128


def test_an_export_lists_the_stages_of_the_weights_it_warm_started_from(tmp_path, tiny_run):
    """A warm start carries the starting model's stages in its checkpoint (also across a
    resume), so the export lists them, then its own, with totals over all of them."""
    first = tiny_run(tmp_path)
    Trainer(TrainConfig(run_dir=str(first), size="tiny", seq_len=64, batch_size=2,
                        total_steps=2, threads=1, bf16=False, lr=1e-3)).train()
    start = tmp_path / "start"
    alone = export(first, start)
    assert [s["run"] for s in alone["training"]["stages"]] == [first.name]
    assert alone["training"]["steps"] == 2 and "warm_start" not in alone["training"]["stages"][0]

    (tmp_path / "second").mkdir()
    run = tiny_run(tmp_path / "second")
    config = dict(run_dir=str(run), size="tiny", seq_len=64, batch_size=2, total_steps=3,
                  threads=1, bf16=False, lr=5e-4, init_from=str(start))
    Trainer(TrainConfig(**{**config, "total_steps": 1})).train()
    resumed = Trainer(TrainConfig(**config))
    assert resumed.step == 1 and [s["run"] for s in resumed.lineage] == [first.name]
    resumed.train()
    meta = export(run, tmp_path / "model")
    stages = meta["training"]["stages"]
    assert [(s["run"], s["steps"], s["lr"]) for s in stages] == [
        (first.name, 2, 1e-3), (run.name, 3, 5e-4)]
    assert stages[1]["warm_start"] == f"{first.name} step 2"
    assert meta["training"]["steps"] == 5
    assert meta["training"]["tokens_seen"] == 2 * 2 * 64 + 3 * 2 * 64

    # a checkpoint written before runs recorded their lineage: read from its init_from
    import torch

    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    del state["lineage"]
    torch.save(state, run / "checkpoint.pt")
    assert export(run, tmp_path / "again")["training"]["stages"] == stages
