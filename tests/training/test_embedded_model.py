"""The shipped model is a standard transformers masked LM that lives inside the package."""

from __future__ import annotations

import json

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from code_diffusion.training.export import EMBEDDED_DIR, METADATA_FILE

MAX_WEIGHTS_BYTES = 30 * 1024 * 1024


def test_directory_has_the_expected_files() -> None:
    names = {p.name for p in EMBEDDED_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", METADATA_FILE} <= names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names), "safetensors only"
    assert (EMBEDDED_DIR / "model.safetensors").stat().st_size <= MAX_WEIGHTS_BYTES


def test_loads_with_auto_model_for_masked_lm_and_predicts_same_position() -> None:
    model = AutoModelForMaskedLM.from_pretrained(EMBEDDED_DIR).float().eval()
    tokenizer = AutoTokenizer.from_pretrained(EMBEDDED_DIR)
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
