"""The server process with the fake model: capabilities, load progress, status, settings,
a model that fails to load, shutdown and the client going away."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

from lsprotocol import types
from session import FAKE_SERVER, session

from code_diffusion.engine.precision import describe

SETTINGS_MESSAGE = "Code Diffusion settings: "


async def test_capabilities(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        caps = s.capabilities
        assert caps.inline_completion_provider == types.InlineCompletionOptions()
        assert caps.completion_provider == types.CompletionOptions(resolve_provider=False)
        assert caps.code_action_provider == types.CodeActionOptions(
            code_action_kinds=("refactor.rewrite.codeDiffusion.generate",
                               "refactor.rewrite.codeDiffusion.fillBody",
                               "refactor.rewrite.codeDiffusion.regenerate",
                               "quickfix.codeDiffusion.repair"),
            resolve_provider=True)
        assert sorted(caps.execute_command_provider.commands) == sorted([
            "codeDiffusion.generateFromComment", "codeDiffusion.fillBody",
            "codeDiffusion.regenerateSelection", "codeDiffusion.repairSyntax",
            "codeDiffusion.restartModel", "codeDiffusion.status"])
        assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
        assert caps.position_encoding == types.PositionEncodingKind.Utf16
        assert s.result.server_info.name == "code-diffusion"


async def test_the_precision_setting_reaches_the_status(capabilities):
    async with session(FAKE_SERVER, capabilities,
                       initialization_options={"device": "cpu", "precision": "float32"}) as s:
        await s.ready(20)
        assert {status["precisionChoice"] for status in s.statuses} == {"float32 (set)"}
        assert (await s.command("codeDiffusion.status"))["precisionChoice"] == "float32 (set)"


async def test_load_progress_and_status_sequence(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        await s.ready(20)
        reports = await s.load_progress(20)
        assert list(s.client.progress_reports.values()) == [reports]
        assert reports == [
            types.WorkDoneProgressBegin(title="Code Diffusion", message="Loading the model",
                                        percentage=0, cancellable=False),
            types.WorkDoneProgressReport(message="Loading the fake model", percentage=50),
            types.WorkDoneProgressEnd(message="Ready: fake-diffusion on cpu"),
        ]
        base = {"model": None, "device": None, "precision": None, "precisionChoice": None,
                "lastLatencyMs": None}  # device auto: the choice is known once loaded
        # the session's workspace folder does not exist: nothing to index
        index = {"workspace": {"files": 0, "indexing": False}}
        assert s.statuses == [
            {"state": "loading", **base, "message": "Loading the model", "progress": 0, **index},
            {"state": "loading", **base, "message": "Loading the fake model", "progress": 50,
             **index},
            {"state": "ready", "model": "fake-diffusion", "device": "cpu",
             "precision": "float32", "precisionChoice": describe("float32", "cpu"),
             "lastLatencyMs": None, "message": None, "progress": None, **index},
        ]
        assert await s.command("codeDiffusion.status") == {
            **s.statuses[-1], "completions": {"typedAhead": 0, "modelRuns": 0}}


async def test_bad_settings_give_one_message_and_defaults(capabilities):
    options = {"codeDiffusion": {"device": "gpu", "temperature": 5, "bogusKey": 1}}
    async with session(FAKE_SERVER, capabilities, initialization_options=options,
                       configuration={"codeDiffusion": {"steps": 0, "numSamples": 2}}) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.logs("settings: "), what="settings applied")
        [message] = s.client.messages
        assert message.type == types.MessageType.Warning
        for part in ('codeDiffusion.device = "gpu" is not allowed',
                     "codeDiffusion.temperature = 5 is not allowed",
                     "codeDiffusion.steps = 0 is not allowed (use an integer from 1 to 512); "
                     "using the default 8"):
            assert part in message.message
        assert s.logs("ignoring unknown initializationOptions: bogusKey")
        assert s.logs('"steps": 8') or s.logs("'steps': 8")
        text = "x = "
        s.open(text)
        result = await s.inline(s.position(text, len(text)))
        assert [i.insert_text for i in result.items] == ["value_0", "value_1"]  # numSamples 2

        s.client.set_configuration({"codeDiffusion": {"steps": 0, "numSamples": 2}})
        s.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None))
        s.client.set_configuration({"codeDiffusion": {"maxLength": 999}})
        s.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None))
        await s.wait_for(lambda: len(s.client.messages) > 1, what="second settings message")
        assert "codeDiffusion.maxLength = 999" in s.client.messages[1].message
        await asyncio.sleep(0.2)
        assert len(s.client.messages) == 2


async def test_missing_model_directory_is_an_error_state_not_a_crash(capabilities, tmp_path):
    missing = str(tmp_path / "no-such-model")
    async with session(FAKE_SERVER, capabilities, initialization_options={"modelPath": missing},
                       configuration={"codeDiffusion": {"modelPath": str(tmp_path)}}) as s:
        error = await s.wait_for(lambda: s.state("error"), 20, "status error")
        assert missing in error["message"] and "restartModel" in error["message"]
        reports = await s.load_progress(20)
        assert reports[-1] == types.WorkDoneProgressEnd(message=f"Failed: {error['message']}")
        await s.wait_for(lambda: s.client.messages, what="the error message")
        [popup] = s.client.messages
        assert popup.type == types.MessageType.Error and missing in popup.message
        text = "def f():\n    pass\n"
        s.open(text)
        assert (await s.inline(s.at(text, "pass"))).items == ()
        assert (await s.complete(s.at(text, "pass"))).items == ()
        rng = types.Range(start=s.at(text, "pass"), end=s.at(text, "pass"))
        assert await s.code_actions(rng) == ()
        # The settings now name a directory that exists: restarting recovers.
        await s.wait_for(lambda: s.logs("run codeDiffusion.restartModel"), what="restart hint")
        assert await s.command("codeDiffusion.restartModel") is None
        await s.ready(20)
        assert len(s.client.messages) == 1


async def test_requests_after_shutdown_are_not_answered(capabilities):
    async with session(FAKE_SERVER, capabilities) as s:
        await s.ready(20)
        text = "x = "
        s.open(text)
        await s.client.shutdown_async(None)
        late = asyncio.ensure_future(s.inline(s.position(text, len(text))))
        await asyncio.sleep(1.0)
        assert not late.done()
        late.cancel()
        s.client.exit(None)
        assert await asyncio.wait_for(s.client._server.wait(), 10) == 0


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _start(process_id: int | None) -> subprocess.Popen:
    server = subprocess.Popen(FAKE_SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    server.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                               "params": {"processId": process_id, "capabilities": {}}}))
    server.stdin.flush()
    return server


def test_server_exits_when_the_client_process_dies():
    client = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = _start(client.pid)
    try:
        time.sleep(1.0)
        assert server.poll() is None  # alive while its client is
        client.kill()
        client.wait()
        assert server.wait(timeout=10) == 0
    finally:
        server.kill()
        client.kill()


def test_server_exits_on_stdin_eof():
    server = _start(os.getpid())
    try:
        server.stdin.close()
        assert server.wait(timeout=10) == 0
    finally:
        server.kill()


def test_exit_without_shutdown_exits_with_code_1():
    server = _start(os.getpid())
    try:
        server.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
        server.stdin.flush()
        assert server.wait(timeout=10) == 1
    finally:
        server.kill()
