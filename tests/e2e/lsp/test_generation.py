"""The real server and the embedded model writing code: inline completion, completion, the
four code actions (list, resolve, edit) and their commands, cancellation and latest-wins."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from real_server import FAST, LOAD_TIMEOUT, WRITER
from session import CLIENTS, URI, applied_edits, session

from code_diffusion.engine import syntax

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SOURCE = "\n".join([
    "def add(a, b):",
    "    return ",
    "",
    "def total(items):",
    '    """Return the sum of the items."""',
    "    pass",
    "",
    "# print the total of 1, 2 and 3",
    "",
    "value = compute(1)",
    "broken = (1 +",
    "",
])


def edit_of(session, edit: types.WorkspaceEdit) -> types.TextEdit:
    if edit.document_changes is not None:
        [change] = edit.document_changes
        assert change.text_document.version == session.versions[URI]
        [text_edit] = change.edits
    else:
        [text_edit] = edit.changes[URI]
    return text_edit


def apply(text: str, session, edit: types.TextEdit) -> str:
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        head = "\n".join(lines[:position.line])
        prefix = len(head) + (1 if position.line else 0)
        line = lines[position.line]
        if session.encoding == "utf-8":
            return prefix + len(line.encode()[:position.character].decode())
        return prefix + position.character  # ASCII text: every encoding agrees

    return text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CLIENTS)
async def real(request):
    """One server per client for the module: the document stays at version 1, since the
    test client records the edits it is asked to apply without changing the document."""
    async with session(WRITER, request.param, configuration={"codeDiffusion": FAST},
                       initialization_options={"logLevel": "debug"}) as s:
        await s.ready(LOAD_TIMEOUT)
        await s.wait_for(lambda: s.logs("'numSamples': 2"), what="settings")
        s.open(SOURCE)
        yield s


async def test_inline_and_menu_completion_fill_the_line(real):
    position = real.at(SOURCE, "return ", len("return "))
    inline = await real.inline(position)
    assert inline.items, "the embedded model gave no inline candidate"
    for item in inline.items:
        assert item.insert_text.strip() and "\n" not in item.insert_text.strip()
        assert item.range == types.Range(start=position, end=position)
    filled = [SOURCE.replace("return \n", f"return {i.insert_text}\n", 1) for i in inline.items]
    assert any(syntax.error_count(text, "python") == syntax.error_count(SOURCE, "python")
               for text in filled), "no candidate keeps the function well-formed"
    menu = await real.complete(position)
    assert menu.is_incomplete and menu.items
    assert all(item.text_edit.range.start == position for item in menu.items)
    statuses = [st for st in real.statuses if st["state"] == "ready" and st["lastLatencyMs"]]
    assert statuses, "no status carried the latency"


MODEL_MAY_DECLINE = ("Fill in body", "Generate from comment")


@pytest.mark.parametrize(("needle", "title"), [
    ("pass", "Fill in body"),
    ("# print the total", "Generate from comment"),
    ("broken", "Repair syntax error"),
])
async def test_code_action_list_resolve_edit(real, needle, title):
    at = real.at(SOURCE, needle)
    actions = await real.code_actions(types.Range(start=at, end=at))
    [action] = [a for a in actions if a.title == title]
    assert action.edit is None and action.data["version"] == 1
    resolved = await real.client.code_action_resolve_async(action)
    if resolved.edit is None and title in MODEL_MAY_DECLINE:
        # The small embedded model can fail the checks on what it writes: then the action
        # offers no edit and says which checks failed, and the buffer is left alone.
        [reason] = real.logs(f"{title}: no edit")[-1:]
        assert "no candidate passed the checks" in reason and "syntax error" in reason
        return
    assert resolved.edit is not None, real.logs(f"{title}: no edit")[-1:]
    edit = edit_of(real, resolved.edit)
    assert edit.new_text.strip()
    assert apply(SOURCE, real, edit) != SOURCE


async def test_regenerate_selection_command_applies_the_edit(real):
    start = real.at(SOURCE, "compute(1)")
    end = real.at(SOURCE, "compute(1)", len("compute(1)"))
    actions = await real.code_actions(types.Range(start=start, end=end))
    assert "Regenerate selection" in [a.title for a in actions]
    argument = {"uri": URI, "version": 1,
                "range": {"start": {"line": start.line, "character": start.character},
                          "end": {"line": end.line, "character": end.character}}}
    before = len(applied_edits(real))
    result = await real.command("codeDiffusion.regenerateSelection", argument)
    assert result == {"applied": True, "reason": None}
    [applied] = applied_edits(real)[before:]
    edit = edit_of(real, applied.edit)
    assert edit.range == types.Range(start=start, end=end)


@pytest.mark.parametrize("command", ["codeDiffusion.fillBody", "codeDiffusion.generateFromComment",
                                     "codeDiffusion.repairSyntax"])
async def test_action_commands_apply_their_edit(real, command):
    needle = {"codeDiffusion.fillBody": "pass", "codeDiffusion.generateFromComment": "# print",
              "codeDiffusion.repairSyntax": "broken"}[command]
    at = real.at(SOURCE, needle)
    argument = {"uri": URI, "range": {"start": {"line": at.line, "character": at.character},
                                      "end": {"line": at.line, "character": at.character}}}
    before = len(applied_edits(real))
    result = await real.command(command, argument)
    if not result["applied"] and command in ("codeDiffusion.fillBody",
                                             "codeDiffusion.generateFromComment"):
        # see test_code_action_list_resolve_edit: declined with the reason, nothing applied
        assert "no candidate passed the checks" in result["reason"]
        assert applied_edits(real)[before:] == []
        return
    assert result == {"applied": True, "reason": None}
    [applied] = applied_edits(real)[before:]
    assert edit_of(real, applied.edit).new_text.strip()


async def test_cancel_and_supersede(capabilities):
    settings = {**FAST, "debounceMs": 1000}
    async with session(WRITER, capabilities, configuration={"codeDiffusion": settings},
                       initialization_options={"logLevel": "debug"}) as s:
        await s.ready(LOAD_TIMEOUT)
        await s.wait_for(lambda: s.logs("'debounceMs': 1000"), what="settings")
        s.open(SOURCE)
        position = s.at(SOURCE, "return ", len("return "))
        # Cancelled while it waits out the debounce: it never reaches the model.
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI), position=position,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic))
        cancelled = asyncio.ensure_future(s.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="cancel-me"))
        await asyncio.sleep(0.1)
        s.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
        with pytest.raises(JsonRpcRequestCancelled):
            await cancelled
        # Superseded by a newer request for the same document: an empty answer, one model run.
        older = asyncio.ensure_future(s.inline(position))
        newer = asyncio.ensure_future(s.inline(position))
        first, second = await asyncio.gather(older, newer)
        assert first.items == ()
        assert s.logs("replaced this one")
        assert len([st for st in s.statuses if st["state"] == "busy"]) == 1  # one model run
        assert isinstance(second, types.InlineCompletionList)
