"""Faults: an exception inside the worker, a model that fails to load, a client that dies,
shutdown. The server answers, reports, recovers and exits as the LSP lifecycle says."""

from __future__ import annotations

import pytest
from reliability_servers import LOAD_TIMEOUT, PROBE, SERVE, started

from code_diffusion.reliability.exits import SCENARIOS
from code_diffusion.reliability.probe import COUNTERS, FAIL_FILLS

pytestmark = pytest.mark.e2e
EXIT_BUDGET_S = 1.0


def command(server, name: str, *arguments):
    return server.result("workspace/executeCommand",
                         {"command": name, "arguments": list(arguments)})


def assert_failed_alone(answer: dict) -> None:
    """The faulted request gets an empty answer (no ghost text; the reason is logged) or a
    JSON-RPC error naming the exception; never a crash or a hang."""
    if "error" in answer:
        assert "InjectedFault" in answer["error"]["message"], answer
    else:
        assert answer["result"]["items"] == [], answer


TEXT = "def f(x):\n    return "


class Edits:
    """Each request after a document's first follows an edit after the cursor, so that it runs
    the model (an unchanged document would be answered from the last answer, with no fill)."""

    def __init__(self, server) -> None:
        self.server = server
        self.versions: dict[str, int] = {}

    def touch(self, uri: str) -> None:
        version = self.versions.get(uri, 0) + 1
        self.versions[uri] = version
        if version == 1:
            self.server.open(uri, TEXT)
        else:
            self.server.replace(uri, TEXT + "\n" + "#" * version, version)

    def inline(self, uri: str) -> dict:
        self.touch(uri)
        return self.server.inline(uri, 1, 11)


def test_an_exception_in_the_worker_fails_that_request_only():
    server = started(PROBE, env={FAIL_FILLS: "2,5,6,7"})
    a, b = "file:///faults/a.py", "file:///faults/b.py"
    edits = Edits(server)
    try:
        server.wait_state("ready", LOAD_TIMEOUT)
        assert "result" in edits.inline(a)  # fill 1
        # Fill 2 raises while fill 3 (another document) waits behind it.
        first = server.new_id()
        for msg_id, uri in ((first, a), (first + 100, b)):
            edits.touch(uri)
            server.send({"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/inlineCompletion",
                         "params": {"textDocument": {"uri": uri},
                                    "position": {"line": 1, "character": 11},
                                    "context": {"triggerKind": 1}}})
        failed, other = server.response(first), server.response(first + 100)
        assert_failed_alone(failed)
        assert "result" in other, other
        assert any("InjectedFault: fault injected into fill 2" in m["message"]
                   for m in server.messages("window/logMessage"))
        reported = [s for s in server.statuses() if "InjectedFault" in (s["message"] or "")]
        assert reported and reported[0]["state"] in ("ready", "busy")
        assert "the last request failed" in reported[0]["message"]
        assert "result" in edits.inline(a)  # fill 4
        assert command(server, "codeDiffusion.status")["message"] is None
        # Three failures in a row do not wear the worker out.
        for _ in range(3):
            assert_failed_alone(edits.inline(b))
        assert "result" in edits.inline(b)  # fill 8
        counters = command(server, COUNTERS)
        assert counters["fills"] == 8 and counters["maxConcurrentFills"] == 1
        assert server.process.poll() is None
    finally:
        assert server.shutdown() == 0


def test_a_model_that_fails_to_load_then_a_fixed_setting_and_restart(tmp_path):
    missing = str(tmp_path / "no-such-model")
    server = started(SERVE, {"modelPath": missing})
    try:
        error = server.wait_state("error", LOAD_TIMEOUT)
        assert missing in error["message"] and "restartModel" in error["message"]
        shown = server.wait_for(lambda: server.messages("window/showMessage"), 30, "a message")
        assert missing in shown[0]["message"]
        server.open("file:///faults/c.py", "x = ")
        assert server.inline("file:///faults/c.py", 0, 4)["result"]["items"] == []
        assert command(server, "codeDiffusion.status")["state"] == "error"
        server.configuration = {"codeDiffusion": {"modelPath": ""}}
        server.notify("workspace/didChangeConfiguration", {"settings": None})
        server.wait_for(lambda: any("restart-only settings changed" in m["message"]
                                    for m in server.messages("window/logMessage")), 60,
                        "the new setting")
        seen = len(server.statuses())
        assert command(server, "codeDiffusion.restartModel") is None
        assert server.wait_state("ready", LOAD_TIMEOUT, after=seen)["model"]
        assert "result" in server.inline("file:///faults/c.py", 0, 4)
    finally:
        assert server.shutdown() == 0


def test_restarts_leave_no_thread_behind():
    server = started(PROBE)
    try:
        server.wait_state("ready", LOAD_TIMEOUT)
        before = command(server, COUNTERS)["threads"]
        for _ in range(3):
            seen = len(server.statuses())
            command(server, "codeDiffusion.restartModel")
            server.wait_state("ready", LOAD_TIMEOUT, after=seen)
        assert command(server, COUNTERS)["threads"] == before
    finally:
        assert server.shutdown() == 0


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_server_is_gone_within_a_second_of_its_client(scenario):
    """Measured with the model loaded and five requests queued (see reliability/exits.py)."""
    outcome = SCENARIOS[scenario](SERVE)
    assert outcome["latency_s"] is not None and outcome["latency_s"] < EXIT_BUDGET_S, outcome
    assert outcome["exit_code"] in (0, None), outcome  # None: not our child, code unknown
    assert outcome["orphans"] == []
    assert outcome.get("answered_after_shutdown", 0) == 0
