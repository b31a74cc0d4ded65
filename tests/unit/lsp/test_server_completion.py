"""Completions through the server process with the fake model: items, ranges, cancellation,
latest-wins, stale versions, and the errors a bad request gets."""

from __future__ import annotations

import asyncio
import re

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled
from session import FAKE_SERVER, URI, session

DEBUG = {"logLevel": "debug"}
SLOW = {"FAKE_STEP_DELAY": "0.05"}
STEPS_LOG = re.compile(r"stopped after denoising step (\d+) of at most (\d+)")


async def test_inline_completion_items(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        text = "def f():\n    \n"
        s.open(text)
        position = s.position(text, text.index("\n    ") + 5)
        result = await s.inline(position)
        here = types.Range(start=position, end=position)
        assert result == types.InlineCompletionList(items=(
            types.InlineCompletionItem(insert_text="return value_0", range=here),
            types.InlineCompletionItem(insert_text="return value_1", range=here),
            types.InlineCompletionItem(insert_text="return value_2", range=here),
        ))


async def test_inline_range_covers_auto_closed_brackets_after_an_emoji(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        text = "print('😀', )\n"
        s.open(text)
        cursor = text.index(")")
        result = await s.inline(s.position(text, cursor))
        item = result.items[0]
        assert item.insert_text == "value_0)"
        assert item.range == types.Range(start=s.position(text, cursor),
                                         end=s.position(text, cursor + 1))
        assert item.range.end.character == {"utf-16": 13, "utf-8": 15, "utf-32": 12}[s.encoding]


async def test_completion_items_carry_text_edits(capabilities):
    async with session(FAKE_SERVER, capabilities,
                       configuration={"codeDiffusion": {"numSamples": 2}}) as s:
        await s.wait_for(lambda: s.logs("'numSamples': 2"), what="settings")
        text = "x = [1, ]"
        s.open(text)
        position = s.position(text, text.index("]"))
        result = await s.complete(position)
        assert result.is_incomplete is True
        rng = types.Range(start=position, end=s.position(text, len(text)))
        assert [(i.label, i.sort_text, i.text_edit) for i in result.items] == [
            ("value_0", "000", types.TextEdit(range=rng, new_text="value_0]")),
            ("value_1", "001", types.TextEdit(range=rng, new_text="value_1]")),
        ]
        assert result.items[0].kind == types.CompletionItemKind.Snippet


async def test_inline_completion_can_be_switched_off(capabilities):
    async with session(FAKE_SERVER, capabilities,
                       configuration={"codeDiffusion": {"enableInlineCompletion": False}}) as s:
        await s.wait_for(lambda: s.logs("'enableInlineCompletion': False"), what="settings")
        s.open("x = ")
        assert (await s.inline(types.Position(line=0, character=4))).items == ()
        assert (await s.complete(types.Position(line=0, character=4))).items  # menu still works


async def test_cancel_request_stops_generation_between_steps(capabilities):
    async with session(FAKE_SERVER, capabilities, initialization_options=DEBUG, env=SLOW,
                       configuration={"codeDiffusion": {"steps": 200, "debounceMs": 0}}) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.logs("'steps': 200"), what="settings")
        s.open("x = ")
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=0, character=4),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic))
        request = asyncio.ensure_future(s.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="slow-1"))
        await s.wait_for(lambda: s.state("busy"), 20, "the model to start")
        s.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="slow-1"))
        with pytest.raises(JsonRpcRequestCancelled):
            await request
        found = await s.wait_for(lambda: STEPS_LOG.search("\n".join(s.logs())), 20, "stop log")
        assert int(found.group(1)) < int(found.group(2)) == 200
        # The server goes on serving.
        assert (await s.inline(types.Position(line=0, character=4))).items


async def test_a_newer_request_supersedes_the_older(capabilities):
    async with session(FAKE_SERVER, capabilities, initialization_options=DEBUG,
                       configuration={"codeDiffusion": {"debounceMs": 500}}) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.logs("'debounceMs': 500"), what="settings")
        text = "a = 1\nb = "
        s.open(text)
        first = asyncio.ensure_future(s.inline(types.Position(line=0, character=4)))
        second = asyncio.ensure_future(s.inline(s.position(text, len(text))))
        older, newer = await asyncio.gather(first, second)
        assert older.items == ()
        assert [i.insert_text for i in newer.items] == ["value_0", "value_1", "value_2"]
        assert s.logs("replaced this one")
        assert len([st for st in s.statuses if st["state"] == "busy"]) == 1  # one model run


async def test_a_request_for_a_stale_version_is_dropped(capabilities):
    async with session(FAKE_SERVER, capabilities, initialization_options=DEBUG,
                       configuration={"codeDiffusion": {"debounceMs": 500}}) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.logs("'debounceMs': 500"), what="settings")
        s.open("x = ")
        pending = asyncio.ensure_future(s.inline(types.Position(line=0, character=4)))
        await asyncio.sleep(0.05)
        s.replace("x = 1\n")
        assert (await pending).items == ()
        assert s.logs("the document changed")
        assert not s.state("busy")


async def test_no_candidates_is_an_empty_list_not_an_error(capabilities):
    async with session(FAKE_SERVER, capabilities, env={"FAKE_EMPTY": "1"}) as s:
        s.open("x = ")
        assert (await s.inline(types.Position(line=0, character=4))).items == ()
        assert (await s.complete(types.Position(line=0, character=4))).items == ()
        await s.wait_for(lambda: s.logs("the model left the hole empty"), what="reason logged")


async def test_bad_requests_get_precise_errors_and_the_server_goes_on(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        with pytest.raises(JsonRpcInvalidParams, match="is not open; send textDocument/didOpen"):
            await s.inline(types.Position(line=0, character=0), uri="file:///nowhere.py")
        s.open("one\ntwo\n")
        with pytest.raises(JsonRpcInvalidParams, match="line 7 is past the end of the document"):
            await s.complete(types.Position(line=7, character=0))
        raw = {"textDocument": {"uri": URI}, "position": {"line": -1, "character": 0}}
        with pytest.raises(JsonRpcInvalidParams, match=r"Position\.line .*-1"):
            await s.raw_request(types.TEXT_DOCUMENT_COMPLETION, raw)
        s.open("s = '😀'", uri="file:///workspace/emoji.py")
        if s.encoding == "utf-16":
            with pytest.raises(JsonRpcInvalidParams, match="falls inside the character"):
                await s.complete(types.Position(line=0, character=6),
                                 uri="file:///workspace/emoji.py")
        assert (await s.complete(types.Position(line=1, character=0))).items


async def test_huge_or_binary_documents_are_refused(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        s.open("x = 1\n" * 900_000, uri="file:///workspace/huge.py")
        with pytest.raises(JsonRpcException, match="has 5,400,000 characters") as huge:
            await s.inline(types.Position(line=0, character=0), uri="file:///workspace/huge.py")
        assert huge.value.code == -32803
        s.open("ab\x00cd", uri="file:///workspace/blob.py")
        with pytest.raises(JsonRpcException, match="NUL characters"):
            await s.complete(types.Position(line=0, character=1), uri="file:///workspace/blob.py")


async def test_an_unexpected_model_error_is_an_internal_error(capabilities):
    async with session(FAKE_SERVER, capabilities, env={"FAKE_CRASH": "1"}) as s:
        s.open("x = ")
        with pytest.raises(JsonRpcException, match="RuntimeError: the fake model broke") as bug:
            await s.inline(types.Position(line=0, character=4))
        assert bug.value.code == -32603
        await s.wait_for(lambda: s.logs("the model failed"), what="the failure logged")
        status = await s.wait_for(lambda: s.statuses[-1]["message"], what="status message")
        assert "RuntimeError: the fake model broke" in status


async def test_a_refused_request_is_invalid_params(capabilities):
    async with session(FAKE_SERVER, capabilities, env={"FAKE_INVALID": "1"}) as s:
        s.open("x = ")
        with pytest.raises(JsonRpcInvalidParams, match="steps must be ≤ 4, got 8"):
            await s.complete(types.Position(line=0, character=4))
        await s.wait_for(lambda: s.logs("refused: steps must be"), what="the refusal logged")


async def test_typing_through_a_suggestion_is_served_without_the_model(capabilities):
    async with session(FAKE_SERVER, capabilities, initialization_options=DEBUG,
                       configuration={"codeDiffusion": {"debounceMs": 0}}) as s:
        text = "x = \n"
        s.open(text)
        first = await s.inline(s.position(text, 4))
        assert [i.insert_text for i in first.items] == ["value_0", "value_1", "value_2"]
        ran = len(s.logs("candidate(s) after"))
        typed = "x = val\n"
        s.replace(typed)
        rest = await s.inline(s.position(typed, 7))
        assert [i.insert_text for i in rest.items] == ["ue_0", "ue_1", "ue_2"]
        here = s.position(typed, 7)
        assert rest.items[0].range == types.Range(start=here, end=here)
        menu_text = "x = value_1\n"  # the menu keeps its own answer; this one runs the model
        s.replace(menu_text)
        assert (await s.complete(s.position(menu_text, 11))).items
        await s.wait_for(lambda: s.logs("typed into, no model call"), what="cache hit log")
        assert len(s.logs("candidate(s) after")) == ran + 1  # only the menu's request ran
        other = "x = vax\n"  # not what was predicted: the model runs
        s.replace(other)
        assert [i.insert_text for i in (await s.inline(s.position(other, 7))).items] == [
            "value_0", "value_1", "value_2"]
        await s.wait_for(lambda: len(s.logs("candidate(s) after")) == ran + 2, what="model run")
        status = await s.command("codeDiffusion.status")
        assert status["completions"] == {"typedAhead": 1, "modelRuns": 3}
