"""Settings parsing: camelCase, strict types, ranges, fallback to defaults, and the table in
docs/protocol.md."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from code_diffusion.lsp import config
from code_diffusion.lsp.config import InitOptions, SettingError, Settings, parse, section_of

PROTOCOL = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"


def protocol_rows() -> dict[str, tuple[str, str]]:
    """key -> (default, scope) from the settings table of docs/protocol.md."""
    text = PROTOCOL.read_text(encoding="utf-8")
    table = text[text.index("| key | type | default | scope | allowed |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        key, _, default, scope, _ = (cell.strip() for cell in line.strip("|").split("|"))
        rows[key.strip("`")] = (default.strip("`"), scope)
    return rows


def test_settings_classes_match_the_protocol_table():
    rows = protocol_rows()
    ours = {**{k: "restart" for k in config.keys(InitOptions)},
            **{k: "live" for k in config.keys(Settings)}}
    assert ours == {key: scope for key, (_, scope) in rows.items()}
    defaults = {**config.to_json(InitOptions()), **config.to_json(Settings())}
    assert defaults == {key: json.loads(default) for key, (default, _) in rows.items()}


def test_camel_case_values_are_read():
    settings, errors = parse(Settings, {"maxLength": 12, "numSamples": 2, "debounceMs": 0,
                                        "enableInlineCompletion": False, "temperature": 1})
    assert errors == []
    assert settings == Settings(max_length=12, num_samples=2, debounce_ms=0,
                                enable_inline_completion=False, temperature=1.0)


@pytest.mark.parametrize(("key", "value"), [
    ("temperature", 2.5), ("temperature", "0.5"), ("steps", 0), ("steps", 513),
    ("steps", 3.5), ("maxLength", True), ("numSamples", 9), ("debounceMs", -1),
    ("useRewards", "yes"), ("showNotifications", "sometimes"),
])
def test_a_bad_live_value_falls_back_to_its_default(key, value):
    settings, errors = parse(Settings, {key: value, "steps" if key != "steps" else "maxLength": 7})
    assert settings == attrs.evolve(Settings(), **({"steps": 7} if key != "steps"
                                                   else {"max_length": 7}))
    [error] = errors
    assert error.key == key and error.value == value
    message = str(error)
    assert message.startswith(f"codeDiffusion.{key} = ")
    assert "is not allowed (use " in message and "using the default" in message


@pytest.mark.parametrize(("key", "value"), [
    ("device", "gpu"), ("device", "cuda:"), ("precision", "fp8"), ("modelPath", 3),
    ("trustRemoteCode", "true"), ("logLevel", "verbose"),
])
def test_a_bad_restart_value_falls_back_to_its_default(key, value):
    options, errors = parse(InitOptions, {key: value})
    assert options == InitOptions()
    assert [e.key for e in errors] == [key]


def test_integral_floats_are_integers_and_null_means_default():
    settings, errors = parse(Settings, {"steps": 16.0, "maxLength": None})
    assert (settings.steps, settings.max_length, errors) == (16, 48, [])
    assert isinstance(settings.steps, int)


def test_error_message_names_key_value_and_what_is_allowed():
    error = SettingError("temperature", 5, "a number from 0 to 2", 0.0)
    assert str(error) == ("codeDiffusion.temperature = 5 is not allowed (use a number from 0 "
                          "to 2); using the default 0.0")


def test_options_flat_or_under_the_section_key():
    assert section_of({"device": "cpu"}) == {"device": "cpu"}
    assert section_of({"codeDiffusion": {"device": "cpu"}, "other": 1}) == {"device": "cpu"}
    assert section_of(None) == {}
    assert section_of(["not", "a", "mapping"]) == {}


def test_unknown_keys_are_listed_and_client_keys_are_not():
    raw = {"modelPath": "", "temperature": 0.1, "pythonPath": "/usr/bin/python3",
           "trace": {"server": "off"}, "bogus": 1, "maxNewTokens": 3}
    assert config.unknown_keys(raw) == ["bogus", "maxNewTokens"]


def test_generation_params_use_the_request_names():
    assert Settings().generation_params("menu") == {
        "temperature": 0.0, "steps": 8, "max_length": 48, "num_samples": 3,
        "use_rewards": True}


def test_the_repetition_penalty_setting_reaches_the_sampler_options():
    assert Settings().sampler_options().repetition_penalty == 1.0
    settings, errors = parse(Settings, {"repetitionPenalty": 1.5})
    assert errors == [] and settings.sampler_options().repetition_penalty == 1.5
    settings, errors = parse(Settings, {"repetitionPenalty": 0.5})
    assert [e.key for e in errors] == ["repetitionPenalty"]
    assert settings.sampler_options().repetition_penalty == 1.0


def test_each_request_kind_has_its_own_candidates_by_default():
    settings = Settings()
    assert {kind: settings.generation_params(kind)["num_samples"] for kind in config.KINDS} == {
        "inline": 1, "menu": 3, "actions": 3}


def test_per_kind_candidates_parse_dotted_and_nested():
    settings, errors = parse(Settings, {"inline.numSamples": 2,
                                        "menu": {"numSamples": 5}, "actions.numSamples": 9})
    assert (settings.inline__num_samples, settings.menu__num_samples) == (2, 5)
    assert settings.actions__num_samples == 3  # 9 is refused: the default
    assert [str(e) for e in errors] == [
        "codeDiffusion.actions.numSamples = 9 is not allowed (use an integer from 1 to 8); "
        "using the default 3"]


def test_the_deprecated_num_samples_sets_every_kind():
    settings, _ = parse(Settings, {"numSamples": 2, "inline.numSamples": 1,
                                   "menu.numSamples": 4})
    assert [settings.generation_params(kind)["num_samples"] for kind in config.KINDS] == [2, 2, 2]
    with pytest.raises(ValueError, match="unknown request kind 'ghost'"):
        settings.generation_params("ghost")
    zero, errors = parse(Settings, {"numSamples": 0, "menu.numSamples": 4})
    assert not errors
    assert [zero.generation_params(kind)["num_samples"] for kind in config.KINDS] == [1, 4, 3]


def test_precision_accepts_auto_and_defaults_to_float32():
    # float32 by default: in bfloat16 the server's memory grows with each new canvas shape
    assert InitOptions().precision == "float32"
    for value in ("auto", "float32", "bfloat16", "float16"):
        assert parse(InitOptions, {"precision": value}) == (InitOptions(precision=value), [])
    assert parse(InitOptions, {"precision": "fp8"})[1]



def test_the_settings_import_without_pygls():
    import subprocess
    import sys

    code = ("import sys, code_diffusion.lsp.config; "
            "print(sorted(m for m in ('pygls', 'lsprotocol', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
