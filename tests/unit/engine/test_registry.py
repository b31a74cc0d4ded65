"""The family registry: detection from config.json, and a clear error for anything else."""

from __future__ import annotations

import json

import pytest

import tiny_models as tm
from code_diffusion.engine.adapters.registry import (
    EMBEDDED_METADATA,
    FAMILIES,
    detect_family,
    family_of_module,
)
from code_diffusion.engine.errors import ModelLoadError, UnsupportedParameterError


@pytest.mark.parametrize(("config", "family"), [
    ({"model_type": "dream", "architectures": ["DreamModel"]}, "dream"),
    ({"model_type": "open-dcoder"}, "dream"),
    ({"model_type": "llada", "architectures": ["LLaDAModelLM"]}, "llada"),
    ({"architectures": ["LLaDAModelLM"]}, "llada"),
    ({"model_type": "bert", "architectures": ["BertForMaskedLM"]}, "masked-lm"),
])
def test_detection_from_config(tmp_path, config, family):
    assert detect_family(tmp_path, config).name == family


def test_the_metadata_file_marks_the_embedded_model(tmp_path):
    (tmp_path / EMBEDDED_METADATA).write_text(json.dumps({}))
    config = {"architectures": ["ModernBertForMaskedLM"]}
    assert detect_family(tmp_path, config).name == "embedded"


def test_auto_map_alone_is_not_a_family(tmp_path):
    config = {"model_type": "mystery", "architectures": ["MysteryModel"],
              "auto_map": {"AutoModel": "modeling_mystery.MysteryModel"}}
    with pytest.raises(ModelLoadError) as caught:
        detect_family(tmp_path, config)
    message = str(caught.value)
    assert "MysteryModel" in message and "mystery" in message
    assert "modeling_mystery.MysteryModel" in message
    assert all(f.name in message for f in FAMILIES)


def test_in_memory_models():
    tok = tm.tokenizer()
    assert family_of_module(tm.tiny_bert()).name == "masked-lm"
    assert family_of_module(tm.TinyDreamModel(tm.tiny_bert(), tok.mask_token_id)).name == "dream"
    assert family_of_module(tm.TinyLLaDAModel(tm.tiny_bert(), tok.mask_token_id)).name == "llada"
    with pytest.raises(UnsupportedParameterError):
        family_of_module(tm.tiny_bert().bert)
