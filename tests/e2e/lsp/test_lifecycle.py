"""The real server and the embedded model: capabilities, the load's progress and status,
bad settings, a missing model directory."""

from __future__ import annotations

import pytest
from lsprotocol import types
from real_server import LOAD_TIMEOUT, SERVER
from session import session

from code_diffusion.engine.loading import EMBEDDED_DIR
from code_diffusion.engine.precision import describe

pytestmark = pytest.mark.e2e


async def test_capabilities_load_progress_and_status(capabilities):
    async with session(SERVER, capabilities) as s:
        caps = s.capabilities
        assert caps.inline_completion_provider == types.InlineCompletionOptions()
        assert caps.completion_provider is not None
        assert caps.code_action_provider.resolve_provider is True
        assert "codeDiffusion.fillBody" in caps.execute_command_provider.commands
        ready = await s.ready(LOAD_TIMEOUT)
        assert ready == {"state": "ready", "model": "code-diffusion-embedded", "device": "cpu",
                         "precision": "float32",
                         "precisionChoice": describe("float32", "cpu"), "lastLatencyMs": None,
                         "message": None, "progress": None,
                         # the session's workspace folder does not exist: nothing to index
                         "workspace": {"files": 0, "indexing": False}}
        assert await s.load_progress() == [
            types.WorkDoneProgressBegin(title="Code Diffusion", message="Loading the model",
                                        percentage=0, cancellable=False),
            types.WorkDoneProgressReport(message="Importing torch", percentage=10),
            types.WorkDoneProgressReport(message="Loading the embedded model", percentage=40),
            types.WorkDoneProgressReport(message="Preparing the generator", percentage=90),
            types.WorkDoneProgressEnd(message="Ready: code-diffusion-embedded on cpu"),
        ]
        assert [st["progress"] for st in s.statuses[:4]] == [0, 10, 40, 90]
        assert all(st["state"] == "loading" for st in s.statuses[:4])


async def test_ghost_text_asks_for_one_candidate_and_the_menu_for_three(capabilities):
    async with session(SERVER, capabilities, initialization_options={"logLevel": "debug"},
                       configuration={"codeDiffusion": {"debounceMs": 0}}) as s:
        await s.ready(LOAD_TIMEOUT)
        await s.wait_for(lambda: s.logs("'debounceMs': 0"), what="settings")
        text = "def add(a, b):\n    return \n"
        s.open(text)
        position = s.at(text, "return ", len("return "))
        assert len((await s.inline(position)).items) <= 1
        await s.complete(position)
        # logged before the model runs, whatever it answers
        asked = [line.split("asking for ", 1)[1] for line in s.logs("asking for ")]
        assert asked == ["1 candidate(s)", "3 candidate(s)"]


async def test_bad_settings_show_one_message_and_use_defaults(capabilities):
    options = {"precision": "float64", "logLevel": "loud"}
    async with session(SERVER, capabilities, initialization_options=options,
                       configuration={"codeDiffusion": {"numSamples": 9, "debounceMs": "x"}}
                       ) as s:
        await s.ready(LOAD_TIMEOUT)
        await s.wait_for(lambda: s.client.messages, what="the settings message")
        [message] = s.client.messages
        for key in ("precision", "logLevel", "numSamples", "debounceMs"):
            assert f"codeDiffusion.{key} = " in message.message
        assert s.state("ready")["precision"] == "float32"  # the default
        status = await s.command("codeDiffusion.status")
        assert status["state"] == "ready"


async def test_missing_model_directory_leaves_the_server_up(capabilities, tmp_path):
    missing = tmp_path / "nothing-here"
    async with session(SERVER, capabilities,
                       initialization_options={"codeDiffusion": {"modelPath": str(missing)}},
                       configuration={"codeDiffusion": {"modelPath": str(EMBEDDED_DIR)}}) as s:
        error = await s.wait_for(lambda: s.state("error"), LOAD_TIMEOUT, "status error")
        assert str(missing) in error["message"]
        await s.wait_for(lambda: s.client.messages, what="the error message")
        assert [m.type for m in s.client.messages] == [types.MessageType.Error]
        text = "x = "
        s.open(text)
        assert (await s.inline(s.position(text, len(text)))).items == ()
        assert (await s.complete(s.position(text, len(text)))).items == ()
        await s.wait_for(lambda: s.logs("run codeDiffusion.restartModel"), what="settings")
        await s.command("codeDiffusion.restartModel")
        ready = await s.ready(LOAD_TIMEOUT)
        assert ready["model"] == "code-diffusion-embedded"


async def test_model_option_overrides_the_editor_setting(tmp_path):
    missing = tmp_path / "from-the-command-line"
    async with session([*SERVER, "--model", str(missing)], "neovim",
                       initialization_options={"modelPath": str(EMBEDDED_DIR)}) as s:
        error = await s.wait_for(lambda: s.state("error"), LOAD_TIMEOUT, "status error")
        assert str(missing) in error["message"]
