"""Bad input gets a clear error, and the server keeps serving: after every case a normal
request is answered. Positions, documents and settings go to one shared server."""

from __future__ import annotations

import itertools

import pytest
from reliability_servers import FAST

from code_diffusion.reliability.rpc import RawClient, frame

pytestmark = pytest.mark.e2e
INVALID_PARAMS, REQUEST_FAILED, INTERNAL_ERROR = -32602, -32803, -32603
EMOJI_TEXT = 'name = "😀😀"\nvalue = 1\n'
_numbers = itertools.count()


def fresh_uri(stem: str = "normal") -> str:
    return f"file:///bad-input/{stem}_{next(_numbers)}.py"


def assert_serves(server: RawClient) -> None:
    """A normal request on a new document is answered with a result."""
    uri = fresh_uri()
    server.open(uri, "def add(a, b):\n    return ")
    answer = server.inline(uri, 1, 11)
    assert "result" in answer, answer
    assert isinstance(answer["result"]["items"], list)
    assert server.process.poll() is None
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def assert_clear_error(answer: dict, code: int, *words: str) -> None:
    assert "error" in answer, f"expected an error, got {answer}"
    error = answer["error"]
    assert error["code"] == code, error
    assert error["code"] != INTERNAL_ERROR
    for word in words:
        assert word in error["message"], error["message"]


def inline_at(server: RawClient, uri: str, position: object) -> dict:
    return server.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": 1}})


# -- positions --------------------------------------------------------------------------------

@pytest.mark.parametrize(("position", "code", "words"), [
    ({"line": 99, "character": 0}, INVALID_PARAMS, ["line 99 is past the end", "3 lines"]),
    ({"line": -1, "character": 0}, INVALID_PARAMS, ["Position.line", "-1"]),
    ({"line": 0, "character": -5}, INVALID_PARAMS, ["Position.character", "-5"]),
    ({"line": 2**31, "character": 0}, INVALID_PARAMS, ["Position.line"]),
    ({"line": 0, "character": 9}, INVALID_PARAMS, ["falls inside the character", "😀"]),
    ({"line": "zero", "character": 1}, INVALID_PARAMS, ["invalid params", "int"]),
    ({"line": 0}, INVALID_PARAMS, ["required field missing"]),
    ({"line": None, "character": None}, INVALID_PARAMS, ["invalid params"]),
    ([0, 1], INVALID_PARAMS, ["invalid params"]),
])
def test_bad_positions_are_invalid_params(real_server, position, code, words):
    uri = fresh_uri("emoji")
    real_server.open(uri, EMOJI_TEXT)
    assert_clear_error(inline_at(real_server, uri, position), code, *words)
    assert_serves(real_server)


@pytest.mark.parametrize("position", [{"line": "1", "character": "2"},
                                      {"line": 1.0, "character": 2.9}])
def test_numbers_in_disguise_are_read_or_refused_never_crash(real_server, position):
    uri = fresh_uri("emoji")
    real_server.open(uri, EMOJI_TEXT)
    answer = inline_at(real_server, uri, position)
    if "error" in answer:
        assert_clear_error(answer, INVALID_PARAMS, "invalid params")
    assert_serves(real_server)


def test_a_character_past_the_line_end_means_the_line_end(real_server):
    uri = fresh_uri("emoji")
    real_server.open(uri, EMOJI_TEXT)
    answer = inline_at(real_server, uri, {"line": 0, "character": 999})
    assert "result" in answer, answer
    for item in answer["result"]["items"]:  # any ghost text starts at the line's end
        assert item["range"]["start"] == {"line": 0, "character": 12}
    assert_serves(real_server)


@pytest.mark.parametrize("method", ["textDocument/inlineCompletion", "textDocument/completion",
                                    "textDocument/codeAction"])
def test_a_document_never_opened_is_named_in_the_error(real_server, method):
    uri = "file:///bad-input/never_opened.py"
    params = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0},
              "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
              "context": {"triggerKind": 1, "diagnostics": []}}
    assert_clear_error(real_server.request(method, params), INVALID_PARAMS, uri, "is not open")
    assert_serves(real_server)


def test_a_range_that_ends_before_it_starts(real_server):
    uri = fresh_uri()
    real_server.open(uri, "a = 1\nb = 2\n")
    answer = real_server.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "context": {"diagnostics": []},
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 0, "character": 0}}})
    assert_clear_error(answer, INVALID_PARAMS, "before its start")
    assert_serves(real_server)


# -- documents --------------------------------------------------------------------------------

def test_a_10_mb_document_is_refused_by_size(real_server):
    uri = fresh_uri("huge")
    real_server.open(uri, ("x = 1\n" * 1_750_000)[:10_000_000])
    assert_clear_error(inline_at(real_server, uri, {"line": 3, "character": 0}),
                       REQUEST_FAILED, "10,000,000 characters", "up to 5,000,000")
    real_server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert_serves(real_server)


def test_one_1_mb_line_is_served(real_server):
    uri = fresh_uri("long-line")
    text = "data = '" + "x" * 1_000_000 + "'\n"
    real_server.open(uri, text)
    for character in (len(text) - 1, 500_000, 0):
        answer = inline_at(real_server, uri, {"line": 0, "character": character})
        assert "result" in answer, answer
    assert_serves(real_server)


@pytest.mark.parametrize(("text", "code", "words"), [
    ("a = 1\x00\x01\x02\nb = ", REQUEST_FAILED, ["NUL characters"]),
    ("a = '\ud800'\nb = ", REQUEST_FAILED, ["not valid Unicode", "line 0", "surrogate"]),
])
def test_binary_and_invalid_text_are_refused(real_server, text, code, words):
    uri = fresh_uri("binary")
    real_server.open(uri, text)
    assert_clear_error(inline_at(real_server, uri, {"line": 1, "character": 4}), code, *words)
    assert_serves(real_server)


def test_bytes_that_are_not_utf8_or_not_json_do_not_stop_the_server(real_server):
    body = (b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": '
            b'{"uri": "file:///bad-input/latin1.py", "languageId": "python", "version": 1, '
            b'"text": "a = \xff\xfe"}}}')
    for raw in (frame(body), frame(b"{not json"), frame(b"[1, 2]"), frame(b"null")):
        real_server.send_bytes(raw)
    assert_clear_error(inline_at(real_server, "file:///bad-input/latin1.py",
                                 {"line": 0, "character": 0}), INVALID_PARAMS, "is not open")
    assert_serves(real_server)


@pytest.mark.parametrize("text", ["def f():\r\n    return 1\r\nx = \r\n",
                                  "a = 1\r\nb = 2\rc = 3\nx = ",
                                  "\r\n\r\n\r\nx = "])
def test_crlf_and_mixed_line_endings(real_server, text):
    uri = fresh_uri("eol")
    real_server.open(uri, text)
    last = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")) - 1
    line = last if text.endswith("x = ") else last - 1
    answer = inline_at(real_server, uri, {"line": line, "character": 4})
    assert "result" in answer, answer
    for item in answer["result"]["items"]:
        assert item["range"]["start"] == {"line": line, "character": 4}
    assert_serves(real_server)


@pytest.mark.parametrize("language", ["brainfuck", "", None, "PYTHON"])
def test_unknown_or_absent_language_ids_are_served(real_server, language):
    uri = fresh_uri("language")
    real_server.open(uri, "total = ", language=language)
    answer = inline_at(real_server, uri, {"line": 0, "character": 8})
    assert "result" in answer, answer
    assert_serves(real_server)


def test_a_did_open_without_language_id_is_dropped_with_a_clear_error_later(real_server):
    uri = fresh_uri("no-language-field")
    real_server.notify("textDocument/didOpen",
                       {"textDocument": {"uri": uri, "version": 1, "text": "x = "}})
    assert_clear_error(inline_at(real_server, uri, {"line": 0, "character": 4}),
                       INVALID_PARAMS, "is not open")
    assert_serves(real_server)


def test_an_empty_file(real_server):
    uri = fresh_uri("empty")
    real_server.open(uri, "")
    for method in ("textDocument/inlineCompletion", "textDocument/completion"):
        answer = real_server.request(method, {
            "textDocument": {"uri": uri}, "position": {"line": 0, "character": 0},
            "context": {"triggerKind": 1}})
        assert "result" in answer, answer
    actions = real_server.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "context": {"diagnostics": []},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}})
    assert "result" in actions, actions
    assert_serves(real_server)


# -- settings ---------------------------------------------------------------------------------

def change_settings(server: RawClient, section: dict) -> list[str]:
    """Push ``section`` as the pulled configuration; the warnings shown for it."""
    shown = len(server.messages("window/showMessage"))
    logged = len(server.messages("window/logMessage"))
    server.configuration = {"codeDiffusion": {**FAST, **section}}
    server.notify("workspace/didChangeConfiguration", {"settings": None})
    server.wait_for(lambda: any(m["message"].startswith("settings: ")
                                for m in server.messages("window/logMessage")[logged:]),
                    60, "the settings to be applied")
    server.result("workspace/executeCommand", {"command": "codeDiffusion.status"})  # in order
    return [m["message"] for m in server.messages("window/showMessage")[shown:]]


@pytest.mark.parametrize(("section", "words"), [
    ({"temperature": "hot", "steps": "many", "numSamples": True, "enableInlineCompletion": "yes",
      "maxLength": 3.5, "debounceMs": [50]},
     ['temperature = "hot"', 'steps = "many"', "numSamples = true",
      'enableInlineCompletion = "yes"', "maxLength = 3.5", "debounceMs = [50]"]),
    ({"numSamples": 9}, ["numSamples = 9 is not allowed (use an integer from 0 to 8)"]),
    ({"inline": {"numSamples": 0}},
     ["inline.numSamples = 0 is not allowed (use an integer from 1 to 8)"]),
    ({"temperature": -1}, ["temperature = -1 is not allowed (use a number from 0 to 2)"]),
    ({"steps": 10**9}, ["steps = 1000000000 is not allowed (use an integer from 1 to 512)"]),
    ({"device": "tpu"}, ['device = "tpu" is not allowed']),
    ({"precision": "float8"}, ['precision = "float8" is not allowed']),
    ({"showNotifications": "loud"}, ['showNotifications = "loud" is not allowed']),
])
def test_refused_settings_are_named_and_the_defaults_serve(real_server, section, words):
    [shown] = change_settings(real_server, section)
    for word in words:
        assert word in shown, shown
    assert "using the default" in shown
    assert_serves(real_server)
    change_settings(real_server, {})


def test_unknown_keys_and_a_section_of_the_wrong_type_are_ignored(real_server):
    assert change_settings(real_server, {"bogusKey": 1, "steps": 4}) == []
    assert real_server.messages("window/logMessage")
    assert any("ignoring unknown settings: codeDiffusion.bogusKey" in m["message"]
               for m in real_server.messages("window/logMessage"))
    assert_serves(real_server)
    for section in (["steps", 4], "steps=4", 42, None):
        real_server.configuration = {"codeDiffusion": section}
        real_server.notify("workspace/didChangeConfiguration", {"settings": section})
        assert_serves(real_server)
    change_settings(real_server, {})
