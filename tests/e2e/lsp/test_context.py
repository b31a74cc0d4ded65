"""The real server and the embedded model with context: the answer lives only in another open
document, and ghost text at the matching place offers it; what the model writes alone for a
whole line is held back from ghost text while the user types (the default
``inline.minChance``), but listed in the menu and shown when ghost text is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from real_server import FAST, LOAD_TIMEOUT, SHORT, WRITER
from session import session

from context_documents import ANSWER, HOLE, OTHER

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]


def _project(tmp_path) -> tuple[Path, list[types.WorkspaceFolder]]:
    folder = tmp_path / "project"
    folder.mkdir()  # empty on disk: the answer is only in the open document
    return folder, [types.WorkspaceFolder(uri=folder.as_uri(), name="project")]


def _open_both(s, folder: Path) -> tuple[str, types.Position]:
    """Open the document holding the answer and the one with the hole: the hole's URI and
    position."""
    s.open(OTHER, (folder / "settings_io.py").as_uri())
    return s.open(HOLE, (folder / "reload.py").as_uri()), s.at(HOLE, "    \n", 4)


async def _context_off(s, settings: dict) -> None:
    s.client.set_configuration({"codeDiffusion": {**settings, "context.enabled": False}})
    s.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None))
    await s.wait_for(lambda: s.logs("'context.enabled': False"), what="context off")


async def test_ghost_text_offers_the_line_from_the_other_open_document(tmp_path, capabilities):
    folder, workspace = _project(tmp_path)
    async with session(WRITER, capabilities, configuration={"codeDiffusion": FAST},
                       workspace_folders=workspace) as s:
        await s.ready(LOAD_TIMEOUT)
        await s.wait_for(lambda: s.logs("'numSamples': 2"), what="settings")
        uri, position = _open_both(s, folder)
        offered = [item.insert_text for item in (await s.inline(position, uri)).items]
        assert ANSWER in offered, offered
        # the same request with context assembly off: the model alone does not write it
        await _context_off(s, FAST)
        offered = [item.insert_text for item in (await s.inline(position, uri)).items]
        assert ANSWER not in offered, offered


async def test_unlikely_ghost_text_is_held_back_and_the_menu_still_lists_it(tmp_path,
                                                                            capabilities):
    folder, workspace = _project(tmp_path)
    async with session(WRITER, capabilities, configuration={"codeDiffusion": SHORT},
                       initialization_options={"logLevel": "debug"},
                       workspace_folders=workspace) as s:
        await s.ready(LOAD_TIMEOUT)
        await s.wait_for(lambda: s.logs("'numSamples': 2"), what="settings")
        uri, position = _open_both(s, folder)
        # three matching lines make the copied line likely enough to show as the user types
        offered = [item.insert_text
                   for item in (await s.inline(position, uri, typing=True)).items]
        assert offered and offered[0] == ANSWER, offered
        # the model alone writing a whole line: held back from ghost text, listed in the menu
        await _context_off(s, SHORT)
        assert (await s.inline(position, uri, typing=True)).items == ()
        assert s.logs("held back under chance 0.2")
        menu = (await s.complete(position, uri)).items
        assert menu and all("written by the model" in item.detail for item in menu), menu
        # asked for with the key, ghost text shows what the model wrote
        assert (await s.inline(position, uri)).items
