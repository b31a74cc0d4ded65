"""Code actions and commands through the server process with the fake model: the list, the
resolved edit, commands applying it, and edits for a version that changed."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pytest_lsp import client_capabilities
from session import FAKE_SERVER, URI, applied_edits, session

STUB = "def total(items):\n    pass\n"
BODY = types.Range(start=types.Position(line=1, character=4),
                   end=types.Position(line=1, character=8))
FILLED = types.TextEdit(range=BODY, new_text="return value_0")


def only_edit(session, edit: types.WorkspaceEdit) -> types.TextEdit:
    """The single text edit of ``edit``, checking it targets URI at version 1 when versioned."""
    if edit.document_changes is not None:
        [change] = edit.document_changes
        assert change.text_document == types.OptionalVersionedTextDocumentIdentifier(
            uri=URI, version=session.versions[URI])
        [text_edit] = change.edits
    else:
        assert list(edit.changes) == [URI]
        [text_edit] = edit.changes[URI]
    return text_edit


async def test_list_offers_titles_and_kinds_without_edits(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open(STUB)
        actions = await s.code_actions(BODY)
        assert [(a.title, a.kind, a.edit) for a in actions] == [
            ("Fill in body", "refactor.rewrite.codeDiffusion.fillBody", None),
            ("Regenerate selection", "refactor.rewrite.codeDiffusion.regenerate", None),
        ]
        target = {"uri": URI, "version": 1,
                  "range": {"start": {"line": 1, "character": 4},
                            "end": {"line": 1, "character": 8}}}
        assert actions[0].data == {**target, "action": "fillBody"}
        only = await s.code_actions(BODY, only=["quickfix"])
        assert only == ()


async def test_resolve_computes_the_edit(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open(STUB)
        [fill, _] = await s.code_actions(BODY)
        resolved = await s.client.code_action_resolve_async(fill)
        assert only_edit(s, resolved.edit) == FILLED
        assert resolved.title == "Fill in body"


async def test_generate_from_comment_and_repair(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        text = "# add one to x\n\nprint((1)\n"
        s.open(text)
        cursor = s.position(text, 2)
        actions = await s.code_actions(types.Range(start=cursor, end=cursor))
        assert [a.title for a in actions] == ["Generate from comment", "Repair syntax error"]
        generate = actions[0]
        edit = only_edit(s, (await s.client.code_action_resolve_async(generate)).edit)
        blank = types.Position(line=1, character=0)
        assert edit == types.TextEdit(range=types.Range(start=blank, end=blank),
                                      new_text="value_0")
        broken = s.at(text, "print")
        actions = await s.code_actions(types.Range(start=broken, end=broken))
        [repair] = [a for a in actions if a.kind == "quickfix.codeDiffusion.repair"]
        edit = only_edit(s, (await s.client.code_action_resolve_async(repair)).edit)
        assert edit.range == types.Range(start=broken, end=s.position(text, len(text) - 1))


async def test_resolve_for_a_changed_document_has_no_edit(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open(STUB)
        [fill, _] = await s.code_actions(BODY)
        s.replace(STUB + "\n")
        resolved = await s.client.code_action_resolve_async(fill)
        assert resolved.edit is None
        assert s.logs("the document changed (version 1 is now 2)")


async def test_command_applies_its_edit(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open(STUB)
        argument = {"uri": URI, "range": {"start": {"line": 1, "character": 4},
                                          "end": {"line": 1, "character": 4}}}
        result = await s.command("codeDiffusion.fillBody", argument)
        assert result == {"applied": True, "reason": None}
        [applied] = applied_edits(s)
        assert applied.label == "Fill in body"
        assert only_edit(s, applied.edit) == FILLED


async def test_actions_generate_three_candidates_by_default(capabilities):
    async with session(FAKE_SERVER, capabilities,
                       initialization_options={"logLevel": "debug"}) as s:
        s.open(STUB)
        argument = {"uri": URI, "range": {"start": {"line": 1, "character": 4},
                                          "end": {"line": 1, "character": 4}}}
        assert (await s.command("codeDiffusion.fillBody", argument))["applied"] is True
        assert [line for line in s.logs("fillBody") if "3 candidate(s) after" in line]


async def test_command_reports_a_refused_edit(capabilities):
    async with session(FAKE_SERVER, capabilities, apply_edits=False) as s:
        s.open(STUB)
        argument = {"uri": URI, "range": {"start": {"line": 1, "character": 4},
                                          "end": {"line": 1, "character": 8}}}
        result = await s.command("codeDiffusion.regenerateSelection", argument)
        assert result == {"applied": False, "reason": "the editor did not apply the edit"}


async def test_command_for_an_old_version_is_not_applied(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open(STUB)
        s.replace(STUB + "\n")
        argument = {"uri": URI, "version": 1,
                    "range": {"start": {"line": 1, "character": 4},
                              "end": {"line": 1, "character": 4}}}
        result = await s.command("codeDiffusion.fillBody", argument)
        assert result == {"applied": False, "reason": "the document changed (version 1 is now "
                                                      "2); run the action again"}
        assert applied_edits(s) == []


async def test_command_that_does_not_apply_says_so(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open("x = 1\n")
        argument = {"uri": URI, "range": {"start": {"line": 0, "character": 0},
                                          "end": {"line": 0, "character": 0}}}
        result = await s.command("codeDiffusion.generateFromComment", argument)
        assert result == {"applied": False, "reason": "Generate from comment does not apply here"}


async def test_command_without_candidates_gives_the_reason(capabilities):
    async with session(FAKE_SERVER, capabilities, env={"FAKE_EMPTY": "1"}) as s:
        s.open(STUB)
        argument = {"uri": URI, "range": {"start": {"line": 1, "character": 4},
                                          "end": {"line": 1, "character": 4}}}
        result = await s.command("codeDiffusion.fillBody", argument)
        assert result["applied"] is False
        assert "the model left the hole empty" in result["reason"]


async def test_command_with_a_broken_model_is_an_internal_error():
    async with session(FAKE_SERVER, "visual-studio-code", env={"FAKE_CRASH": "1"}) as s:
        s.open(STUB)
        argument = {"uri": URI, "range": {"start": {"line": 1, "character": 4},
                                          "end": {"line": 1, "character": 4}}}
        with pytest.raises(JsonRpcException, match="the fake model broke") as bug:
            await s.command("codeDiffusion.fillBody", argument)
        assert bug.value.code == -32603
        # the server keeps running: the next request is answered
        assert (await s.command("codeDiffusion.status"))["state"] == "ready"


@pytest.mark.parametrize(("arguments", "message"), [
    ((), "takes one argument"),
    (("file:///x.py",), "argument must be an object"),
    (({"uri": URI},), "argument.range must be an LSP range"),
    (({"uri": URI, "range": {"start": {"line": -1, "character": 0},
                             "end": {"line": 0, "character": 0}}},), "must be an LSP range"),
    (({"uri": URI, "version": "7", "range": {"start": {"line": 0, "character": 0},
                                             "end": {"line": 0, "character": 0}}},),
     "version must be an integer"),
])
async def test_command_arguments_are_checked(arguments, message):
    async with session(FAKE_SERVER, "visual-studio-code") as s:
        s.open(STUB)
        with pytest.raises(JsonRpcInvalidParams, match=message):
            await s.command("codeDiffusion.repairSyntax", *arguments)


async def test_action_progress_is_reported(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open(STUB)
        argument = {"uri": URI, "range": {"start": {"line": 1, "character": 4},
                                          "end": {"line": 1, "character": 4}}}
        await s.command("codeDiffusion.fillBody", argument)
        reports = await s.wait_for(lambda: [r for r in s.client.progress_reports.values()
                                            if r and r[0].title.endswith("Fill in body")
                                            and r[-1].kind == "end"], what="action progress")
        [sequence] = reports
        assert sequence[0] == types.WorkDoneProgressBegin(
            title="Code Diffusion: Fill in body", message="Generating", cancellable=False)
        assert sequence[-1] == types.WorkDoneProgressEnd()


async def test_clients_without_resolve_get_commands(capabilities):
    caps = client_capabilities(capabilities)
    caps.text_document.code_action.resolve_support = None
    async with session(FAKE_SERVER, caps) as s:
        s.open(STUB)
        params = {"textDocument": {"uri": URI}, "context": {"diagnostics": []},
                  "range": {"start": {"line": 1, "character": 4},
                            "end": {"line": 1, "character": 8}}}
        # Read as raw JSON: the test client's own deserializer mistakes a CodeAction that
        # holds a command for a Command.
        fill = (await s.raw_request(types.TEXT_DOCUMENT_CODE_ACTION, params))[0]
        target = {"uri": URI, "version": 1, "range": params["range"]}
        assert fill == {"title": "Fill in body", "kind": "refactor.rewrite.codeDiffusion.fillBody",
                        "command": {"title": "Fill in body", "command": "codeDiffusion.fillBody",
                                    "arguments": [target]}}
        result = await s.command("codeDiffusion.fillBody", *fill["command"]["arguments"])
        assert result == {"applied": True, "reason": None}
