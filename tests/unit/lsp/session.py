"""Drive a real server process with pytest-lsp's client: start, initialize, collect, stop.

Used by the LSP tests against the fake model (``fake_server.py``) and by the end-to-end tests
against ``python -m code_diffusion serve``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol.json_rpc import JsonRPCRequestMessage
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

CLIENTS = ("visual-studio-code", "neovim")
FAKE_SERVER = [sys.executable, str(Path(__file__).with_name("fake_server.py"))]
"""The real server with the fake model (``tests/fakes.py``)."""
STATUS = "codeDiffusion/status"
URI = "file:///workspace/example.py"


class Session:
    """A started and initialized client, with what the server sent it."""

    def __init__(self, client: LanguageClient, result: types.InitializeResult) -> None:
        self.client = client
        self.result = result
        self.statuses: list[dict[str, Any]] = []
        self.versions: dict[str, int] = {}

    @property
    def capabilities(self) -> types.ServerCapabilities:
        return self.result.capabilities

    @property
    def encoding(self) -> str:
        return str(self.capabilities.position_encoding or "utf-16")

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0,
                       what: str = "condition") -> Any:
        """Poll ``predicate`` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; statuses: {self.statuses[-5:]}")

    async def ready(self, timeout: float = 120.0) -> dict[str, Any]:
        return await self.wait_for(lambda: self.state("ready"), timeout, "status ready")

    def state(self, state: str) -> dict[str, Any] | None:
        found = [s for s in self.statuses if s["state"] == state]
        return found[-1] if found else None

    def open(self, text: str, uri: str = URI, language: str = "python") -> str:
        self.versions[uri] = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1,
                                                 text=text)))
        return uri

    def replace(self, text: str, uri: str = URI) -> int:
        """Replace the whole text of ``uri`` (a full-content change); returns the new version."""
        self.versions[uri] += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        return self.versions[uri]

    def position(self, text: str, offset: int) -> types.Position:
        """The LSP position of a str offset, in the negotiated encoding."""
        line = text.count("\n", 0, offset)
        head = text[text.rfind("\n", 0, offset) + 1:offset]
        if self.encoding == "utf-8":
            return types.Position(line=line, character=len(head.encode("utf-8")))
        if self.encoding == "utf-32":
            return types.Position(line=line, character=len(head))
        return types.Position(line=line, character=len(head.encode("utf-16-le")) // 2)

    def at(self, text: str, needle: str, shift: int = 0) -> types.Position:
        return self.position(text, text.index(needle) + shift)

    async def inline(self, position: types.Position, uri: str = URI, *,
                     typing: bool = False) -> types.InlineCompletionList:
        """Ghost text asked for (``typing``: as the editor asks while the user types)."""
        kind = (types.InlineCompletionTriggerKind.Automatic if typing
                else types.InlineCompletionTriggerKind.Invoked)
        return await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position,
                context=types.InlineCompletionContext(trigger_kind=kind)))

    async def complete(self, position: types.Position, uri: str = URI) -> types.CompletionList:
        return await self.client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position))

    async def code_actions(self, rng: types.Range, uri: str = URI,
                           only: list[str] | None = None) -> list[types.CodeAction]:
        return await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
            context=types.CodeActionContext(diagnostics=[], only=only)))

    async def command(self, command: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command, arguments=list(arguments)))

    async def load_progress(self, timeout: float = 60.0) -> list[Any]:
        """The load's progress reports, once its ``end`` has arrived (it may come after the
        ``ready`` status, which needs no round trip)."""
        def ended() -> list[Any] | None:
            for reports in self.client.progress_reports.values():
                if reports and reports[0].title == "Code Diffusion" and reports[-1].kind == "end":
                    return reports
            return None

        return await self.wait_for(ended, timeout, "the load progress to end")

    async def raw_request(self, method: str, params: Any) -> Any:
        """Send ``params`` as JSON exactly as given (even if no LSP type would accept it)."""
        protocol = self.client.protocol
        msg_id = f"raw-{uuid.uuid4()}"
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        protocol._request_futures[msg_id] = future
        protocol._send_data(JsonRPCRequestMessage(id=msg_id, method=method, jsonrpc="2.0",
                                                  params=params))
        return plain(await asyncio.wrap_future(future))

    def logs(self, needle: str = "") -> list[str]:
        return [m.message for m in self.client.log_messages if needle in m.message]


def plain(value: Any) -> Any:
    """JSON-shaped data from what pygls made of an untyped message (named tuples, tuples)."""
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def applied_edits(session: Session) -> list[types.ApplyWorkspaceEditParams]:
    return session.client.applied  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def session(command: list[str], capabilities: str | types.ClientCapabilities, *,
                  initialization_options: Any = None, configuration: dict[str, Any] | None = None,
                  env: dict[str, str] | None = None, apply_edits: bool = True,
                  workspace_folders: list[types.WorkspaceFolder] | None = None
                  ) -> AsyncIterator[Session]:
    """Start ``command``, initialize it as the client ``capabilities`` does, yield, shut down.

    ``capabilities`` names one of pytest-lsp's clients, or is a ``ClientCapabilities``.

    ``configuration`` answers ``workspace/configuration`` (section ``codeDiffusion``).
    ``workspace_folders`` default to ``file:///workspace`` (a folder that does not exist).
    Edits the server asks to apply are recorded on ``client.applied``.
    """
    config = ClientServerConfig(server_command=command,
                                server_env={**os.environ, **(env or {})})
    client: LanguageClient = await config.start()  # type: ignore[assignment]
    if configuration is not None:
        client.set_configuration(configuration)
    client.applied = []  # type: ignore[attr-defined]
    statuses: list[dict[str, Any]] = []

    @client.feature(STATUS)
    def on_status(params: Any) -> None:
        statuses.append(plain(params))

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.applied.append(params)  # type: ignore[attr-defined]
        return types.ApplyWorkspaceEditResult(applied=apply_edits)

    result = await client.initialize_session(types.InitializeParams(
        capabilities=(client_capabilities(capabilities) if isinstance(capabilities, str)
                      else capabilities),
        initialization_options=initialization_options,
        workspace_folders=workspace_folders or [types.WorkspaceFolder(uri="file:///workspace",
                                                                      name="workspace")]))
    current = Session(client, result)
    current.statuses = statuses
    try:
        yield current
        if client._server is not None and client._server.returncode is None:
            await asyncio.wait_for(client.shutdown_session(), 30)
    finally:
        await _end(client)


async def _end(client: LanguageClient) -> None:
    """Let the server go: close its stdin (it exits on EOF), kill it if it does not."""
    server = client._server
    if server is not None and server.returncode is None:
        with contextlib.suppress(Exception):
            server.stdin.close()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
    await client.stop()
