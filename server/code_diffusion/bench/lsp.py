"""The language server measured from the outside: a pygls client over stdio.

The server is started exactly as an editor starts it (``python -m code_diffusion serve``) and
driven with pygls's ``LanguageClient`` (with pytest-lsp's VS Code capabilities when pytest-lsp
is installed). The client answers ``workspace/configuration`` with :data:`CONFIGURATION`:
``debounceMs: 0`` (the debounce is a deliberate wait for the next keystroke, not a cost of the
protocol, so the round trip compared with the direct engine call leaves it out) and
``inline.minChance: 0`` (every candidate comes back, so the timed requests and the typed-through
ones are the same whatever chance the model's answer has; holding one back costs nothing).

* Cold start: process start → ``initialize`` answered; → the first completion answered (sent
  right after ``initialized``; the server answers it once the model has loaded). A bare pygls
  server (:mod:`code_diffusion.bench.bare_server`) started the same way gives the floor for
  ``initialize``.
* Latency: client-side wall time of ``textDocument/inlineCompletion`` and of
  ``textDocument/codeAction`` + ``codeAction/resolve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from code_diffusion.measure import peak_rss_mb

STATUS = "codeDiffusion/status"
CONFIGURATION = {"debounceMs": 0, "inline.minChance": 0}
"""The live settings the measured server gets (see above)."""
REGENERATE_KIND = "refactor.rewrite.codeDiffusion.regenerate"
SERVER_COMMAND = (sys.executable, "-m", "code_diffusion", "serve")
BARE_COMMAND = (sys.executable, "-m", "code_diffusion.bench.bare_server")


def capabilities() -> types.ClientCapabilities:
    try:
        from pytest_lsp import client_capabilities

        return client_capabilities("visual-studio-code")
    except ImportError:
        return types.ClientCapabilities()


class BenchClient(LanguageClient):
    """A pygls client that drains the server's stderr, answers the server's requests and
    takes its notifications without logging each one."""

    def __init__(self, configuration: dict[str, Any]) -> None:
        super().__init__("code-diffusion-bench", "1")
        self.configuration = configuration
        self._drain: asyncio.Task[None] | None = None

        @self.feature(types.WORKSPACE_CONFIGURATION)
        def _configuration(params: types.ConfigurationParams) -> list[Any]:
            return [self.configuration for _ in params.items]

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _progress(params: Any) -> None:
            return None

        for method in (STATUS, types.PROGRESS, types.WINDOW_LOG_MESSAGE,
                       types.WINDOW_SHOW_MESSAGE):
            self.feature(method)(_ignore)

    async def start_io(self, cmd: str, *args: Any, **kwargs: Any) -> None:
        await super().start_io(cmd, *args, **kwargs)
        if self._server is not None and self._server.stderr is not None:
            self._drain = asyncio.create_task(_drain(self._server.stderr))

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    async def close(self) -> None:
        server = self._server
        if server is not None and server.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.shutdown_async(None), 10)
                self.exit(None)
            try:
                await asyncio.wait_for(server.wait(), 10)
            except TimeoutError:
                server.kill()
                await server.wait()
        if self._drain is not None:
            self._drain.cancel()
        await self.stop()


def _ignore(params: Any) -> None:
    return None


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


@dataclass
class ColdStart:
    initialize_ms: float
    first_completion_ms: float | None = None


@dataclass
class Session:
    client: BenchClient
    started: float
    cold: ColdStart
    versions: dict[str, int] = field(default_factory=dict)


async def start(command: tuple[str, ...], configuration: dict[str, Any],
                initialization_options: dict[str, Any] | None = None) -> Session:
    """Start ``command`` and answer ``initialize``; returns with the cold-start clock."""
    client = BenchClient(configuration)
    started = time.perf_counter()
    await client.start_io(*command)
    await client.initialize_async(types.InitializeParams(
        capabilities=capabilities(), process_id=None,
        initialization_options=initialization_options,
        client_info=types.ClientInfo(name="code-diffusion-bench"),
        workspace_folders=[types.WorkspaceFolder(uri="file:///bench", name="bench")]))
    cold = ColdStart(initialize_ms=(time.perf_counter() - started) * 1000)
    client.initialized(types.InitializedParams())
    return Session(client, started, cold)


def position(text: str, offset: int) -> types.Position:
    """The UTF-16 position of a code point offset."""
    line = text.count("\n", 0, offset)
    head = text[text.rfind("\n", 0, offset) + 1 : offset]
    return types.Position(line=line, character=len(head.encode("utf-16-le")) // 2)


def open_document(session: Session, uri: str, text: str) -> None:
    version = session.versions.get(uri)
    if version is None:
        session.versions[uri] = 1
        session.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                                 text=text)))
        return
    session.versions[uri] = version + 1
    session.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version + 1),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


async def inline(session: Session, uri: str, text: str, offset: int) -> tuple[float, list[str]]:
    """Time one inline completion; returns (ms, the items' texts)."""
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, offset),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic))
    began = time.perf_counter()
    result = await session.client.text_document_inline_completion_async(params)
    elapsed = (time.perf_counter() - began) * 1000
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    return elapsed, [str(item.insert_text) for item in items]


async def completion_counts(session: Session) -> dict[str, int]:
    """The server's counts of completions answered from a typed-into answer and by the model."""
    status = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="codeDiffusion.status"))
    return dict(status["completions"])


async def regenerate(session: Session, uri: str, text: str, start: int, end: int
                     ) -> tuple[float, bool]:
    """Time *Regenerate selection*: the action list, then its resolve; (ms, edit present)."""
    rng = types.Range(start=position(text, start), end=position(text, end))
    began = time.perf_counter()
    found = await session.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
        context=types.CodeActionContext(diagnostics=[], only=[REGENERATE_KIND])))
    actions = [a for a in found or [] if isinstance(a, types.CodeAction)
               and a.kind == REGENERATE_KIND]
    if not actions:
        return (time.perf_counter() - began) * 1000, False
    resolved = await session.client.code_action_resolve_async(actions[0])
    return (time.perf_counter() - began) * 1000, resolved.edit is not None


def server_model(model: str | None) -> dict[str, Any]:
    """The ``initializationOptions`` that make the server load ``model`` (a directory; ``None``:
    the embedded model, the server's default)."""
    return {} if model is None else {"modelPath": str(Path(model).resolve())}


async def cold_start(command: tuple[str, ...], configuration: dict[str, Any], text: str,
                     offset: int, *, completion: bool = True,
                     initialization_options: dict[str, Any] | None = None
                     ) -> tuple[ColdStart, float | None]:
    """One cold start; returns the figures and the server's peak RSS (MiB)."""
    session = await start(command, configuration, initialization_options)
    try:
        if completion:
            uri = "file:///bench/cold.py"
            open_document(session, uri, text)
            await inline(session, uri, text, offset)
            session.cold.first_completion_ms = (time.perf_counter() - session.started) * 1000
        rss = peak_rss_mb(session.client.pid) if session.client.pid else None
    finally:
        await session.client.close()
    return session.cold, rss
