"""The workspace index's events: workspace folders, files changed on disk, settings.

After ``initialized`` the index starts building (lsp/workspace.py) and, where the client allows
dynamic registration of ``workspace/didChangeWatchedFiles``, the server registers for the
changes of the files of every language it can index and of ``.gitignore`` files. Without it,
files changed outside the editor are taken when the index is built again (a change of folders
or of ``codeDiffusion.context.*``); open documents are always current either way.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from code_diffusion.lsp.scan import LANGUAGE_SUFFIXES
from code_diffusion.lsp.workspace import Limits

if TYPE_CHECKING:
    from code_diffusion.lsp.config import Settings
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)
WATCH_ID = "codeDiffusion.workspaceFiles"


def register(ls: CodeDiffusionServer) -> None:
    ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched_files)
    ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(did_change_workspace_folders)


def limits(settings: Settings) -> Limits:
    return Limits(workspace=settings.context__enabled and settings.context__workspace,
                  max_files=settings.context__max_files,
                  max_file_bytes=settings.context__max_file_bytes)


def folders(ls: CodeDiffusionServer) -> list[tuple[str, str]]:
    """The workspace folders as ``(uri, name)``; the root URI when the client sent none."""
    found = [(folder.uri, folder.name) for folder in ls.workspace.folders.values()]
    root = ls.workspace.root_uri
    if not found and root:
        found = [(root, os.path.basename(root.rstrip("/")) or root)]
    return found


def start(ls: CodeDiffusionServer) -> None:
    """Build the index of the workspace folders and ask the client for file events."""
    ls.workspace_files.start(folders(ls), limits(ls.settings))
    capabilities = ls.client_capabilities.workspace
    watched = capabilities.did_change_watched_files if capabilities else None
    if watched is not None and watched.dynamic_registration:
        ls.run_task(_watch(ls), name="register for watched files")
    else:
        log.info("workspace index: the client cannot register file watchers; files changed "
                 "outside the editor are read again when the index is rebuilt")


def watch_patterns() -> list[str]:
    extensions = sorted({suffix[1:] for group in LANGUAGE_SUFFIXES.values() for suffix in group})
    return ["**/*.{" + ",".join(extensions) + "}", "**/.gitignore"]


async def _watch(ls: CodeDiffusionServer) -> None:
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in watch_patterns()])
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[
            types.Registration(id=WATCH_ID, method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                               register_options=options)]))
    except JsonRpcException as exc:  # the client announced it, then refused: say so
        log.warning("workspace index: the client refused to register file watchers (%s); "
                    "files changed outside the editor are read again when the index is "
                    "rebuilt", exc)
        return
    log.debug("workspace index: registered for %s", ", ".join(watch_patterns()))


def did_change_watched_files(ls: CodeDiffusionServer,
                             params: types.DidChangeWatchedFilesParams) -> None:
    ls.workspace_files.files_changed(
        [(change.uri, change.type == types.FileChangeType.Deleted) for change in params.changes])


def did_change_workspace_folders(ls: CodeDiffusionServer,
                                 params: types.DidChangeWorkspaceFoldersParams) -> None:
    """pygls has updated ``ls.workspace.folders`` already: index them again."""
    log.info("workspace folders changed; indexing again")
    ls.workspace_files.start(folders(ls), limits(ls.settings))
