"""``codeDiffusion.backend`` and ``codeDiffusion.remote.*``: read nested or dotted, checked,
and turned into the worker's remote backend, whose outages show in the status."""

from __future__ import annotations

from code_diffusion.engine.adapters.remote import RemoteUnavailable
from code_diffusion.engine.loading import LoadOptions, load_generator
from code_diffusion.lsp import config
from code_diffusion.worker import _failure_message, _load_error_message


def test_nested_and_dotted_remote_keys_are_read_alike():
    nested, errors = config.parse(config.InitOptions, {
        "backend": "remote", "remote": {"url": "http://h:1", "timeoutMs": 500, "stream": False}})
    dotted, more = config.parse(config.InitOptions, {
        "backend": "remote", "remote.url": "http://h:1", "remote.timeoutMs": 500,
        "remote.stream": False})
    assert nested == dotted and errors == more == []
    assert nested.remote_options()["timeout_ms"] == 500
    assert config.unknown_keys({"remote": {"url": "x", "colour": 1}}) == ["remote.colour"]


def test_a_nested_value_wins_over_the_same_dotted_key():
    options, _ = config.parse(config.InitOptions, {"remote": {"url": "http://h:1"},
                                                   "remote.url": ""})
    assert options.remote__url == "http://h:1"


def test_bad_remote_values_are_refused_with_the_dotted_key():
    _, errors = config.parse(config.InitOptions, {
        "backend": "cloud", "remote": {"url": "ftp://h", "apiKeyEnv": "sk-123 456"}})
    assert [e.key for e in errors] == ["backend", "remote.url", "remote.apiKeyEnv"]
    assert "codeDiffusion.remote.url" in str(errors[1])


def test_the_worker_builds_the_remote_backend_without_calling_it():
    options, _ = config.parse(config.InitOptions, {"backend": "remote",
                                                   "remote": {"url": "http://127.0.0.1:9"}})
    phases = []
    generator = load_generator(LoadOptions(remote=options.remote_options()),
                               lambda message, _: phases.append(message))
    assert generator.info.family == "remote" and generator.info.device == "http://127.0.0.1:9"
    assert phases == []


def test_an_unreachable_backend_shows_in_the_status_and_a_bad_setting_names_the_key():
    assert _failure_message(RemoteUnavailable("remote backend unreachable at http://h")) == (
        "remote backend unreachable at http://h")
    message = _load_error_message(LoadOptions(remote={"url": ""}), ValueError("bad url"))
    assert "remote backend" in message and "codeDiffusion.remote" in message
