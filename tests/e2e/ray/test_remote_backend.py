"""The language server with ``backend: remote`` against ``serve-ray``'s app on a real Ray
cluster: ghost text, a code action, a superseded request, the status, a replica killed
mid-request, and the app stopped and started again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.request

import pytest
import pytest_asyncio
from lsprotocol import types
from real_server import FAST, SERVER
from session import URI, session

from code_diffusion.engine.adapters.remote import (
    RemoteBackendError,
    RemoteModel,
    RemoteOptions,
)

pytestmark = [pytest.mark.ray, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.timeout(600)]
MODEL = "code-diffusion-embedded"
SOURCE = "\n".join([
    "def add(a, b):",
    "    return ",
    "",
    "# print the total of 1, 2 and 3",
    "",
    "broken = (1 +",
    "",
])


def health(app) -> dict:
    with urllib.request.urlopen(app.url + "/health", timeout=10) as answer:
        return json.loads(answer.read())


def remote_settings(app) -> dict:
    return {"backend": "remote", "logLevel": "debug",
            "remote": {"url": app.url, "model": MODEL, "timeoutMs": 20000, "retries": 3}}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def editor(ray_app):
    async with session(SERVER, "visual-studio-code", configuration={"codeDiffusion": FAST},
                       initialization_options=remote_settings(ray_app)) as s:
        await s.ready(60)
        await s.wait_for(lambda: s.logs("'numSamples': 2"), what="settings")
        s.open(SOURCE)
        yield s


async def served(editor, timeout: float = 180.0) -> types.InlineCompletionList:
    """Ask for ghost text until the remote answers with some (a replica may be starting)."""
    position = editor.at(SOURCE, "return ", len("return "))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await editor.inline(position)
        if answer.items:
            return answer
        assert asyncio.get_running_loop().time() < deadline, editor.statuses[-3:]
        await asyncio.sleep(1.0)


async def test_ghost_text_comes_from_the_ray_app(editor, ray_app):
    before = health(ray_app)
    answer = await served(editor)
    for item in answer.items:
        assert item.insert_text.strip() and "\n" not in item.insert_text.strip()
    after = health(ray_app)
    assert after["served"] > before["served"], "the Ray app did not serve the request"
    # the hole's kind reached the app (a line canvas), and the fill was a padded pass
    assert after["kinds"].get("line", 0) > before["kinds"].get("line", 0)
    assert after["passes"] > before["passes"] and after["sequential"] == 0
    status = editor.statuses[-1]
    assert status["state"] == "ready" and status["model"] == MODEL
    assert status["device"] == ray_app.url and status["message"] is None


@pytest.mark.parametrize("title", ["Generate from comment", "Repair syntax error"])
async def test_a_code_action_is_filled_remotely(editor, ray_app, title):
    at = editor.at(SOURCE, "# print" if title.startswith("Generate") else "broken")
    actions = await editor.code_actions(types.Range(start=at, end=at))
    [action] = [a for a in actions if a.title == title]
    before = health(ray_app)["served"]
    resolved = await editor.client.code_action_resolve_async(action)
    assert health(ray_app)["served"] > before, "the Ray app did not serve the action"
    if resolved.edit is None:
        # The small embedded model may fail the checks (as it may locally); then the action
        # says so, and the reason is the checks, not the transport.
        [reason] = editor.logs(f"{title}: no edit")[-1:]
        assert "no candidate passed the checks" in reason
        return
    [change] = resolved.edit.document_changes or [None]
    edits = change.edits if change else resolved.edit.changes[URI]
    assert edits[0].new_text.strip()


async def test_a_superseded_request_is_answered_empty(editor):
    """The older request is in flight (the model thread is busy with its HTTP call) when a
    newer one for the same document replaces it: it is answered empty at once."""
    position = editor.at(SOURCE, "return ", len("return "))
    editor.replace(SOURCE + "# one\n")  # an edit: the request runs the model
    busy = len([st for st in editor.statuses if st["state"] == "busy"])
    older = asyncio.ensure_future(editor.inline(position))
    await editor.wait_for(
        lambda: len([st for st in editor.statuses if st["state"] == "busy"]) > busy,
        what="the older request to run")
    newer = asyncio.ensure_future(editor.inline(position))
    first, second = await asyncio.gather(older, newer)
    assert first.items == ()
    assert editor.logs("replaced this")
    assert isinstance(second, types.InlineCompletionList)
    editor.replace(SOURCE)


async def test_a_replica_killed_mid_request_fails_clearly(ray_app):
    """The request in flight fails with a remote-backend error (or Ray retries it); a
    replacement replica serves the next one."""
    await asyncio.to_thread(kill_mid_request, ray_app)


def kill_mid_request(ray_app) -> None:
    before = health(ray_app)
    backend = RemoteModel(RemoteOptions(url=ray_app.url, timeout_ms=60000, retries=0,
                                        stream=False, steps=128))
    outcome: list[object] = []

    def heavy() -> None:
        try:
            # long enough (16 rows, 128 slots, up to 128 passes) to be caught in flight on a
            # loaded machine, where one look at /health can take a few hundred ms
            outcome.append(backend.generate("", None, ("def f(x):\n", "\n"), num_samples=16,
                                            max_length=128))
        except RemoteBackendError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=heavy)
    worker.start()
    while health(ray_app)["passes"] == before["passes"] and worker.is_alive():
        time.sleep(0.02)  # the fill has begun once the replica counts a forward pass
    assert worker.is_alive(), f"the request ended before the replica could be killed: {outcome}"
    os.kill(before["pid"], signal.SIGKILL)
    worker.join(120)
    [result] = outcome
    if isinstance(result, RemoteBackendError):
        assert "remote backend" in str(result)
    else:
        assert len(result) == 16  # Ray retried it on a new replica
    after = RemoteModel(RemoteOptions(url=ray_app.url, timeout_ms=120000, retries=10))
    assert len(after.generate("", None, ("x = ", "\n"), num_samples=1)) == 1
    assert health(ray_app)["pid"] != before["pid"]


async def test_a_stopped_app_is_unreachable_then_recovers(editor, ray_app):
    ray_app.stop()
    try:
        position = editor.at(SOURCE, "return ", len("return "))
        assert (await editor.inline(position)).items == ()
        await editor.wait_for(
            lambda: "remote backend unreachable at " + ray_app.url in (
                editor.statuses[-1]["message"] or ""), what="the unreachable status")
    finally:
        ray_app.start()
    await served(editor)
    await editor.wait_for(lambda: editor.statuses[-1]["message"] is None,
                          what="the status to clear")
    assert editor.statuses[-1]["state"] == "ready"
