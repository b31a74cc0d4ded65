"""The shipped model lives inside the package: a ModernBERT masked LM (its backbone loads with
transformers) with the engine's copy head, loaded through the engine's adapters."""

from __future__ import annotations

import json

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from code_diffusion.engine.loading import load_model
from code_diffusion.training.export import EMBEDDED_DIR, METADATA_FILE
from tiny_models import embedded_backbone

MAX_WEIGHTS_BYTES = 30 * 1024 * 1024


def test_directory_has_the_expected_files() -> None:
    names = {p.name for p in EMBEDDED_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", METADATA_FILE} <= names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names), "safetensors only"
    assert (EMBEDDED_DIR / "model.safetensors").stat().st_size <= MAX_WEIGHTS_BYTES


def test_the_backbone_loads_with_auto_model_for_masked_lm(tmp_path) -> None:
    backbone = embedded_backbone(tmp_path / "backbone")
    model = AutoModelForMaskedLM.from_pretrained(backbone).float().eval()
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    assert type(model).__name__ == "ModernBertForMaskedLM"
    assert tokenizer.mask_token_id == 1 and tokenizer.pad_token_id == 0
    ids = tokenizer("def add(a, b):\n    return a + b\n")["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), model.config.vocab_size)
    assert torch.isfinite(logits).all()


def test_metadata_records_the_training_run() -> None:
    meta = json.loads((EMBEDDED_DIR / METADATA_FILE).read_text())
    assert meta["family"] == "embedded"
    assert meta["training"]["tokens_seen"] > 0
    assert meta["num_parameters"] > 1_000_000


def test_the_shipped_model_loads_through_the_adapters_with_its_copy_head() -> None:
    model = load_model()
    assert model.info.name == "code-diffusion-embedded"
    assert model.denoiser.model.copy_head is not None
    assert model.info.max_context == 256  # trained at 512, served at 256 (latency)
    [candidate] = model.generate("", "python", ("def add(a, b):\n    return ", "\n"),
                                 num_samples=1, max_length=8)
    assert candidate.forward_passes >= 1
