"""Nothing lost: an edit is applied only to the document version it was computed for, even
when the user types while it is computed; the server never changes a buffer on its own.

The model here is the fake one (``fake_probe_server.py``): it always writes something and takes
a set time per step, so the race between the edit and the typing is real on every run.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from reliability_servers import FAKE_PROBE, LOAD_TIMEOUT, PROBE, started

from code_diffusion.reliability.rpc import RawClient

pytestmark = pytest.mark.e2e
URI = "file:///nothing-lost/body.py"
TEXT = "def total(values):\n    pass\n"


class Editor(RawClient):
    """A client that applies ``workspace/applyEdit`` the way VS Code does: only versioned
    document changes, only when the version is still the document's."""

    def __init__(self, *args, **kwargs) -> None:
        self.text = TEXT
        self.version = 1
        self.applied: list[tuple[int, str, list[dict]]] = []
        """(version, the text the edit was applied to, the edits)"""
        self.refused: list[int] = []
        self.edit_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def type_at_end(self, chars: str) -> int:
        with self.edit_lock:
            self.text += chars
            self.version += 1
            self.replace(URI, self.text, self.version)
            return self.version

    def _answer(self, message: dict) -> None:
        if message["method"] != "workspace/applyEdit":
            return super()._answer(message)
        [change] = message["params"]["edit"]["documentChanges"]
        version = change["textDocument"]["version"]
        with self.edit_lock:
            if version != self.version:
                self.refused.append(version)
                result = {"applied": False, "failureReason": "the document changed"}
            else:
                before = self.text
                self.text = _apply(self.text, change["edits"])
                self.applied.append((version, before, change["edits"]))
                self.version += 1
                self.replace(URI, self.text, self.version)
                result = {"applied": True}
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        return None


def _apply(text: str, edits: list[dict]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for edit in sorted(edits, key=lambda e: (e["range"]["start"]["line"],
                                             e["range"]["start"]["character"]), reverse=True):
        start = offsets[edit["range"]["start"]["line"]] + edit["range"]["start"]["character"]
        end = offsets[edit["range"]["end"]["line"]] + edit["range"]["end"]["character"]
        text = text[:start] + edit["newText"] + text[end:]
    return text


def test_an_edit_raced_against_typing_is_never_applied_to_another_version():
    editor = Editor(FAKE_PROBE, env={"FAKE_STEP_DELAY": "0.004"},
                    configuration={"codeDiffusion": {"debounceMs": 0, "numSamples": 1}})
    rng = random.Random(7)
    outcomes = {"applied": 0, "server refused": 0, "editor refused": 0}
    try:
        editor.initialize({})
        editor.wait_state("ready", LOAD_TIMEOUT)
        editor.open(URI, TEXT)
        for trial in range(40):
            with editor.edit_lock:
                computed_for, before = editor.version, editor.text
            msg_id = editor.new_id()
            editor.send({"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
                         "params": {"command": "codeDiffusion.fillBody", "arguments": [{
                             "uri": URI, "version": computed_for,
                             "range": {"start": {"line": 1, "character": 4},
                                       "end": {"line": 1, "character": 4}}}]}})
            time.sleep(rng.uniform(0.0, 0.25))  # the fill takes about 0.13 s
            editor.type_at_end(f"# typed {trial}\n")
            result = editor.response(msg_id, 60)["result"]
            if result["applied"]:
                outcomes["applied"] += 1
                version, applied_to, edits = editor.applied[-1]
                assert version == computed_for
                assert applied_to == before  # exactly the text it was computed for
                assert all(e["range"]["start"]["line"] == 1 for e in edits), edits
            elif editor.refused and editor.refused[-1] == computed_for:
                outcomes["editor refused"] += 1
            else:
                outcomes["server refused"] += 1
                assert "changed" in result["reason"], result
            # Start the next trial from a body that can be filled again.
            with editor.edit_lock:
                editor.text = TEXT
                editor.version += 1
                editor.replace(URI, editor.text, editor.version)
        assert outcomes["applied"] > 0 and outcomes["server refused"] > 0, outcomes
    finally:
        editor.close()


def test_resolve_after_typing_gives_no_edit():
    editor = Editor(FAKE_PROBE, configuration={"codeDiffusion": {"debounceMs": 0}})
    try:
        caps = {"workspace": {"configuration": True, "applyEdit": True,
                              "workspaceEdit": {"documentChanges": True}},
                "textDocument": {"codeAction": {"dataSupport": True,
                                                "resolveSupport": {"properties": ["edit"]}}}}
        editor.initialize({}, capabilities=caps)
        editor.wait_state("ready", LOAD_TIMEOUT)
        editor.open(URI, TEXT)
        here = {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}}
        actions = editor.result("textDocument/codeAction", {
            "textDocument": {"uri": URI}, "range": here, "context": {"diagnostics": []}})
        [fill] = [a for a in actions if a["title"] == "Fill in body"]
        assert "edit" not in fill and fill["data"]["version"] == 1
        resolved = editor.result("codeAction/resolve", fill)
        [change] = resolved["edit"]["documentChanges"]
        assert change["textDocument"]["version"] == 1
        editor.type_at_end("# typed\n")
        stale = editor.result("codeAction/resolve", fill)
        assert stale.get("edit") is None
        assert editor.applied == [] and editor.refused == []  # resolve only proposes
    finally:
        editor.close()


@pytest.mark.parametrize("command", [FAKE_PROBE, PROBE], ids=["fake-model", "embedded-model"])
def test_completions_and_actions_only_propose(command):
    """No request but an action command makes the server ask the editor to change a buffer,
    and no completion item carries a command or extra edits that would run on acceptance."""
    server = started(command)
    try:
        server.wait_state("ready", LOAD_TIMEOUT)
        server.open(URI, TEXT + "# TODO: add\nx = \n")
        for line, character in ((1, 4), (3, 4), (2, 11)):
            position = {"line": line, "character": character}
            inline = server.result("textDocument/inlineCompletion", {
                "textDocument": {"uri": URI}, "position": position,
                "context": {"triggerKind": 1}})
            for item in inline["items"]:
                assert set(item) <= {"insertText", "range", "filterText"}, item
            menu = server.result("textDocument/completion", {
                "textDocument": {"uri": URI}, "position": position})
            for item in menu["items"]:
                assert "command" not in item and "additionalTextEdits" not in item, item
            server.result("textDocument/codeAction", {
                "textDocument": {"uri": URI}, "context": {"diagnostics": []},
                "range": {"start": position, "end": position}})
        assert server.messages("workspace/applyEdit") == []
    finally:
        assert server.shutdown() == 0
