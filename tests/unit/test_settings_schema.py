"""The VS Code extension's settings schema is the project's one settings schema.

``extension/vscode/package.json`` ``contributes.configuration`` must agree with the settings table
in ``docs/protocol.md`` (names, types, defaults, allowed values, restart-only or live) and with the
server's settings classes in ``code_diffusion.lsp.config`` (the same, and the server refuses what
the schema does not allow); ``docs/configuration.md`` must be the page generated from it.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import attrs
import pytest

from code_diffusion.lsp import config

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_JSON = ROOT / "extension" / "vscode" / "package.json"
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
CLIENT_ONLY = {"pythonPath"}


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_config_docs = load_script("gen_config_docs")


@pytest.fixture(scope="module")
def schema() -> dict[str, dict]:
    """package.json's settings without the client-only ones, keyed without the prefix."""
    settings = gen_config_docs.load_settings(PACKAGE_JSON)
    return {key: value for key, value in settings.items() if key not in CLIENT_ONLY}


def protocol_table() -> dict[str, dict[str, str]]:
    """The rows of docs/protocol.md's settings table: key -> {type, default, scope, allowed}."""
    text = PROTOCOL_MD.read_text()
    table = text[text.index("| key | type | default | scope | allowed |") :]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        key, type_, default, scope, allowed = (cell.strip() for cell in line.strip("|").split("|"))
        rows[key.strip("`")] = {
            "type": type_,
            "default": default.strip("`"),
            "scope": scope,
            "allowed": allowed,
        }
    return rows


def test_client_only_settings_are_tagged() -> None:
    settings = gen_config_docs.load_settings(PACKAGE_JSON)
    client = {key for key, entry in settings.items() if gen_config_docs.kind_of(entry) == "client"}
    assert client == CLIENT_ONLY


def test_schema_has_the_protocol_keys(schema: dict[str, dict]) -> None:
    assert list(schema) == list(protocol_table())


@pytest.mark.parametrize("key", list(protocol_table()))
def test_schema_matches_protocol_row(schema: dict[str, dict], key: str) -> None:
    row, entry = protocol_table()[key], schema[key]
    assert entry["type"] == row["type"]
    assert entry["default"] == json.loads(row["default"])
    assert gen_config_docs.kind_of(entry) == row["scope"]
    assert entry.get("markdownDescription") or entry.get("description")
    if "enum" in entry:
        assert entry["enum"] == re.findall(r"`([^`]+)`", row["allowed"])
        assert len(entry.get("enumDescriptions", entry["enum"])) == len(entry["enum"])
    bounds = re.fullmatch(r"([\d.]+) – ([\d.]+)", row["allowed"])
    if bounds:
        assert (entry["minimum"], entry["maximum"]) == tuple(map(float, bounds.groups()))
    else:
        assert "minimum" not in entry and "maximum" not in entry


def test_device_pattern_accepts_the_documented_devices(schema: dict[str, dict]) -> None:
    pattern = re.compile(schema["device"]["pattern"])
    for device in ("auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"):
        assert pattern.fullmatch(device), device
    for device in ("gpu", "cuda:", "CPU", ""):
        assert not pattern.fullmatch(device), device


def test_configuration_docs_are_up_to_date() -> None:
    expected = gen_config_docs.render(gen_config_docs.load_settings(PACKAGE_JSON))
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == expected, "run: python scripts/gen_config_docs.py"


# The server's settings classes (code_diffusion.lsp.config) against the same schema.

JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def server_fields(kind: str) -> dict[str, object]:
    """camelCase key -> attrs field of the server's restart-only or live settings class."""
    cls = config.InitOptions if kind == "restart" else config.Settings
    return {config.camel(field.name): field for field in attrs.fields(cls)}


@pytest.mark.parametrize("kind", ["restart", "live"])
def test_server_settings_have_the_schema_keys(schema: dict[str, dict], kind: str) -> None:
    expected = [key for key, entry in schema.items() if gen_config_docs.kind_of(entry) == kind]
    assert list(server_fields(kind)) == expected


def test_client_only_keys_are_known_to_the_server() -> None:
    assert CLIENT_ONLY <= config.CLIENT_KEYS


@pytest.mark.parametrize("key", list(protocol_table()))
def test_server_setting_matches_schema(schema: dict[str, dict], key: str) -> None:
    entry = schema[key]
    kind = gen_config_docs.kind_of(entry)
    field = server_fields(kind)[key]
    cls = config.InitOptions if kind == "restart" else config.Settings
    assert JSON_TYPES[field.type] == entry["type"]
    assert field.default == entry["default"]
    assert type(field.default) is field.type

    def refused(value: object) -> bool:
        _, errors = config.parse(cls, {key: value})
        return bool(errors)

    for value in entry.get("enum", []):
        assert not refused(value), value
    if "enum" in entry:
        assert refused("not-" + entry["enum"][0])
    if "minimum" in entry:
        step = 1 if entry["type"] == "integer" else 0.5
        assert not refused(entry["minimum"]) and not refused(entry["maximum"])
        assert refused(entry["minimum"] - step) and refused(entry["maximum"] + step)
    if "pattern" in entry:
        for value in ("auto", "cpu", "cuda", "cuda:1", "mps", "gpu", "cuda:"):
            assert refused(value) == (re.fullmatch(entry["pattern"], value) is None), value
