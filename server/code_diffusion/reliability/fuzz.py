"""Generated LSP messages against one server process, with hypothesis (a test dependency).

Each generated message is one of: a request or notification of a method the server knows with
params of the right shape but hostile values (negative, huge and fractional numbers, strings
where numbers go, lone surrogates, URIs of documents never opened, out-of-range positions,
settings of every wrong kind); the same methods with malformed params (wrong JSON type,
missing, extra keys); unknown methods; invalid envelopes (bad ``jsonrpc``, ids of the wrong
type); and frames whose body is not JSON at all. A few documents are opened (and changed and
closed) by the messages themselves, so positions often land in open documents.

The oracle, for every request whose id can be matched: a response arrives, with a ``result`` or
an ``error`` whose ``code`` is an integer and ``message`` a non-empty string, and the error is
not an internal error (-32603, an exception nobody handled). After every message the server
must still answer ``codeDiffusion.status``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from code_diffusion.reliability.rpc import SERVE, RawClient, frame

URIS = [f"file:///fuzz/doc_{i}.py" for i in range(3)]
HOSTILE_URIS = ["", "file:///fuzz/never_opened.py", "not a uri", "file:///etc/passwd",
                "http://example.com/x.py", "file:///fuzz/%ZZ.py", "file:///fuzz/doc_0.py#x",
                "untitled:Untitled-1", "file:///fuzz/\ud800.py", "file:///" + "a" * 5000]
INTERNAL_ERROR = -32603
FAST = {"steps": 4, "maxLength": 8, "numSamples": 1, "debounceMs": 0}
METHODS = ["textDocument/inlineCompletion", "textDocument/completion",
           "textDocument/codeAction", "codeAction/resolve", "workspace/executeCommand"]
NOTIFICATIONS = ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose",
                 "workspace/didChangeConfiguration", "$/cancelRequest", "$/setTrace",
                 "initialized", "textDocument/didSave"]
COMMANDS = ["codeDiffusion.generateFromComment", "codeDiffusion.fillBody",
            "codeDiffusion.regenerateSelection", "codeDiffusion.repairSyntax",
            "codeDiffusion.status", "codeDiffusion.nope", ""]
SETTING_KEYS = ["enableInlineCompletion", "temperature", "steps", "maxLength", "numSamples",
                "debounceMs", "useRewards", "showNotifications", "logLevel", "device",
                "precision", "bogus"]

numbers = st.one_of(
    st.integers(min_value=-3, max_value=40),
    st.sampled_from([-1, -(2**31), 2**31 - 1, 2**31, 2**32, 2**53, 10**9, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False), st.just(1.5))
strings = st.one_of(st.text(max_size=40), st.sampled_from(["\ud800", "a\udfffb", "\x00",
                                                           "😀" * 3, "x" * 20_000, "\r\n\r"]))
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)
uris = st.sampled_from(URIS * 4 + HOSTILE_URIS).flatmap(
    lambda uri: st.just(uri) if uri else strings)
"""Mostly documents that are open, so hostile values get past the ``didOpen`` check."""
in_range = st.fixed_dictionaries({"line": st.integers(0, 4), "character": st.integers(0, 30)})
positions = st.one_of(in_range, in_range, in_range,
                      st.fixed_dictionaries({"line": numbers, "character": numbers}), values)
ranges = st.one_of(st.fixed_dictionaries({"start": positions, "end": positions}),
                   st.fixed_dictionaries({"start": in_range, "end": in_range}), values)
texts = st.one_of(st.text(max_size=200), strings,
                  st.sampled_from(["def f(x):\n    return ", "a = 1\r\nb = 2\rc = 3\nd = ", "",
                                   "😀 = '😀'\n", "class A:\n    def m(self):\n        pass\n"]))
ident = st.fixed_dictionaries({"uri": uris})


def _params(method: str) -> st.SearchStrategy[Any]:
    """Right-shaped params with hostile values for ``method``."""
    if method == "textDocument/inlineCompletion":
        trigger = st.fixed_dictionaries({"triggerKind": st.sampled_from([1, 2])})
        return st.fixed_dictionaries({"textDocument": ident, "position": positions,
                                      "context": st.one_of(trigger, trigger, trigger, values)})
    if method == "textDocument/completion":
        return st.fixed_dictionaries({"textDocument": ident, "position": positions},
                                     optional={"context": values})
    if method == "textDocument/codeAction":
        only = st.lists(st.sampled_from(["quickfix", "refactor", "refactor.rewrite", ""]),
                        max_size=2)
        context = st.fixed_dictionaries({"diagnostics": st.just([])}, optional={"only": only})
        return st.fixed_dictionaries({"textDocument": ident, "range": ranges,
                                      "context": st.one_of(context, context, values)})
    if method == "codeAction/resolve":
        return st.fixed_dictionaries({"title": strings}, optional={"data": st.one_of(
            values, st.fixed_dictionaries({"uri": uris, "range": ranges, "version": values,
                                           "action": st.sampled_from(["generate", "fillBody",
                                                                      "nope"])}))})
    if method == "workspace/executeCommand":
        target = st.fixed_dictionaries({"uri": uris, "range": ranges},
                                       optional={"version": values})
        return st.fixed_dictionaries({"command": st.sampled_from(COMMANDS), "arguments":
                                      st.lists(st.one_of(target, values), max_size=3)})
    if method == "textDocument/didOpen":
        return st.fixed_dictionaries({"textDocument": st.fixed_dictionaries(
            {"uri": uris, "languageId": st.one_of(st.sampled_from(["python", "", "brainfuck"]),
                                                  values),
             "version": numbers, "text": texts})})
    if method == "textDocument/didChange":
        change = st.one_of(st.fixed_dictionaries({"text": texts}),
                           st.fixed_dictionaries({"range": ranges, "text": texts}), values)
        return st.fixed_dictionaries({
            "textDocument": st.fixed_dictionaries({"uri": uris, "version": numbers}),
            "contentChanges": st.lists(change, max_size=3)})
    if method == "workspace/didChangeConfiguration":
        section = st.dictionaries(st.sampled_from(SETTING_KEYS), values, max_size=4)
        return st.fixed_dictionaries({"settings": st.one_of(
            st.fixed_dictionaries({"codeDiffusion": section}), values)})
    if method == "$/cancelRequest":
        return st.fixed_dictionaries({"id": values})
    if method in ("textDocument/didClose", "textDocument/didSave"):
        return st.fixed_dictionaries({"textDocument": ident})
    return values


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, Any]:
    """``("request", body)``, ``("notification", body)`` or ``("raw", bytes)``."""
    kind = draw(st.sampled_from(["request"] * 5 + ["notification"] * 4 + ["malformed"] * 2
                                + ["envelope", "unknown", "raw"]))
    if kind == "raw":
        return "raw", frame(draw(st.sampled_from([
            b"{", b"[]", b"42", b'"text"', b"null", b"\xff\xfe", b'{"jsonrpc": "2.0"}',
            b'{"jsonrpc": "2.0", "id": 1}', b'{"jsonrpc": "2.0", "method": 5}', b"{}" * 3])))
    if kind == "unknown":
        method = draw(st.sampled_from(["codeDiffusion/nope", "textDocument/hover", "", "$/x"]))
        body = {"jsonrpc": "2.0", "method": method}
        if draw(st.booleans()):  # JSON-RPC lets a request omit its params
            body["params"] = draw(values)
        return "request", body
    if kind == "envelope":
        body = {"jsonrpc": draw(st.sampled_from(["1.0", "", None, 2])),
                "method": draw(st.sampled_from(METHODS)), "params": {}}
        ident_value = draw(st.one_of(st.just(None), st.lists(st.integers(), max_size=2),
                                     st.dictionaries(st.text(max_size=3), st.integers(),
                                                     max_size=2), st.floats(0, 9)))
        return "unmatched", {**body, "id": ident_value}
    if kind == "malformed":
        method = draw(st.sampled_from(METHODS + NOTIFICATIONS))
        params = draw(st.one_of(st.lists(values, max_size=3), scalars, st.just(None)))
        kind = "request" if method in METHODS else "notification"
        body = {"jsonrpc": "2.0", "method": method}
        if params is not None or draw(st.booleans()):
            body["params"] = params
        return kind, body
    method = draw(st.sampled_from(METHODS if kind == "request" else NOTIFICATIONS))
    return kind, {"jsonrpc": "2.0", "method": method, "params": draw(_params(method))}


def reopen(client: RawClient) -> None:
    """(Re)open the documents most generated messages point at, with text of every kind."""
    for uri in URIS:
        client.open(uri, "def f(x):\n    return \n😀 = 1\r\n# TODO: sum\nclass A:\n    pass\n")


def _proper(response: dict[str, Any]) -> str | None:
    """Why ``response`` is not a proper JSON-RPC response, or ``None``."""
    if "error" in response:
        error = response["error"]
        if not (isinstance(error, dict) and isinstance(error.get("code"), int)
                and isinstance(error.get("message"), str) and error["message"]):
            return f"malformed error {error!r}"
        if error["code"] == INTERNAL_ERROR:
            return f"internal error: {error['message']}"
        return None
    return None if "result" in response else f"neither result nor error: {response!r}"


def run_fuzz(examples: int = 1_100, *, command: list[str] | None = None,
             random_seed: int = 7, timeout: float = 120.0) -> dict[str, Any]:
    """Send ``examples`` generated messages to one new server; returns the figures."""
    client = RawClient(command or SERVE, configuration={"codeDiffusion": FAST})
    counts: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    try:
        client.initialize({"codeDiffusion": FAST})
        client.wait_state("ready", 600)
        reopen(client)

        @seed(random_seed)
        @settings(max_examples=examples, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(messages())
        def one(message: tuple[str, Any]) -> None:
            kind, body = message
            if client.process.poll() is not None:
                counts["after_death"] += 1
                return
            counts[kind] += 1
            if counts["examples"] % 20 == 0:
                reopen(client)  # generated didClose/didChange messages wreck them
            counts["examples"] += 1
            try:
                _send(client, kind, body, counts, failures, timeout)
                status = client.request("workspace/executeCommand",
                                        {"command": "codeDiffusion.status"}, timeout)
                if "result" not in status:
                    failures.append(f"status failed after {_show(body)}: {status}")
            except Exception as exc:  # no answer, or the server is gone
                failures.append(f"{type(exc).__name__} after {_show(body)}: {exc}")

        one()
        alive = client.process.poll() is None
        exit_code = client.shutdown() if alive else client.process.returncode
    finally:
        client.close()
    sent = counts.pop("examples", 0)
    return {"messages": sent, "by_kind": dict(counts), "failures": len(failures),
            "failure_examples": failures[:10], "crashes": int(not alive) + counts["after_death"],
            "internal_errors": sum("internal error" in f for f in failures),
            "unmatched_responses": len(client.unmatched), "exit_code": exit_code,
            "seconds": round(time.monotonic() - started, 1), "seed": random_seed}


def _send(client: RawClient, kind: str, body: Any, counts: Counter[str],
          failures: list[str], timeout: float) -> None:
    if kind == "raw":
        client.send_bytes(body)
    elif kind in ("notification", "unmatched"):
        client.send(body)
    else:
        msg_id = client.new_id()
        client.send({**body, "id": msg_id})
        response = client.response(msg_id, timeout)
        if "error" in response:
            counts[f"error {response['error'].get('code')}"] += 1
        else:
            counts["result"] += 1
        problem = _proper(response)
        if problem:
            failures.append(f"{problem} for {_show(body)}")


def _show(body: Any) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else json.dumps(body)
    return text if len(text) < 300 else text[:300] + "…"
