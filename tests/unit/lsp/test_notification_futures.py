"""Notifications leave nothing behind in the protocol (pygls keeps a future per generator-handled
notification under an id no response removes; the server drops them)."""

from __future__ import annotations

import asyncio
from typing import Any

from code_diffusion.lsp.setup import create_server
from fakes import fake_loader

URI = "file:///a.py"


async def test_a_thousand_keystrokes_keep_no_futures():
    ls = create_server(fake_loader())
    protocol = ls.protocol
    sent: list[Any] = []
    protocol._send_data = lambda data, *args, **kwargs: sent.append(data)

    def send(method: str, params: dict, msg_id: int | None = None) -> None:
        data = {"jsonrpc": "2.0", "method": method, "params": params}
        if msg_id is not None:
            data["id"] = msg_id
        protocol.handle_message(protocol.structure_message(data))

    send("initialize", {"capabilities": {}, "processId": None}, msg_id=1)
    await asyncio.sleep(0.05)
    send("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python",
                                                   "version": 1, "text": ""}})
    for version in range(2, 1002):
        send("textDocument/didChange", {"textDocument": {"uri": URI, "version": version},
                                        "contentChanges": [{"text": "x" * version}]})
    send("textDocument/didClose", {"textDocument": {"uri": URI}})
    await asyncio.sleep(0.05)
    assert sent  # initialize was answered
    assert dict(protocol._request_futures) == {}
