"""The workspace index through the server (fake model; its fill puts the real context
assembly's drafts first): files on disk, other open documents, watched-file events, the
settings and the status."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from session import FAKE_SERVER, session

HELPERS = "\n".join([
    "def load(path):",
    "    handle = open(path)",
    "    data = handle.read()",
    "    return parse_payload(data, strict=True)",
    "",
])
MAIN = "\n".join([
    "import helpers",
    "",
    "",
    "def load_again(path):",
    "    handle = open(path)",
    "    data = handle.read()",
    "    ",
    "",
])
ANSWER = "return parse_payload(data, strict=True)"


def folder(root: Path) -> list[types.WorkspaceFolder]:
    return [types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]


async def first_items(s, text: str, uri: str) -> list[str]:
    inline = await s.inline(s.at(text, "    \n", 4), uri)
    return [item.insert_text for item in inline.items]


async def test_a_file_on_disk_answers_and_the_status_counts_it(tmp_path, capabilities):
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "notes.md").write_text("not indexed\n")
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(tmp_path)) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.statuses[-1]["workspace"]["files"] == 1, 20, "one file")
        uri = s.open(MAIN, (tmp_path / "main.py").as_uri())
        items = await first_items(s, MAIN, uri)
        assert items[0] == ANSWER
        status = await s.command("codeDiffusion.status")
        assert status["workspace"] == {"files": 2, "indexing": False}  # and the open one


async def test_the_menu_says_where_each_candidate_came_from(tmp_path, capabilities):
    (tmp_path / "helpers.py").write_text(HELPERS)
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(tmp_path)) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.statuses[-1]["workspace"]["files"] == 1, 20, "one file")
        uri = s.open(MAIN, (tmp_path / "main.py").as_uri())
        items = (await s.complete(s.at(MAIN, "    \n", 4), uri)).items
        assert (items[0].label, items[0].detail) == (
            ANSWER, "code-diffusion 1: copied from helpers.py:4")
        assert items[-1].detail == f"code-diffusion {len(items)}: written by the model"


async def test_the_answer_lives_only_in_the_other_open_document(tmp_path, capabilities):
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(tmp_path)) as s:
        await s.ready(20)
        other = s.open(HELPERS.replace("parse_payload", "decode_payload"),
                       "file:///elsewhere/other.py")
        uri = s.open(MAIN, (tmp_path / "main.py").as_uri())
        assert (await first_items(s, MAIN, uri))[0] == ANSWER.replace("parse", "decode")
        # an edit of the other document is taken by the next fill
        s.replace(HELPERS.replace("parse_payload", "read_payload"), other)
        s.replace(MAIN + "\n", uri)
        assert (await first_items(s, MAIN + "\n", uri))[0] == ANSWER.replace("parse", "read")


async def test_watched_file_events_change_the_answer(tmp_path, capabilities):
    helpers = tmp_path / "helpers.py"
    helpers.write_text(HELPERS)
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(tmp_path)) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.statuses[-1]["workspace"]["files"] == 1, 20, "one file")
        uri = s.open(MAIN, (tmp_path / "main.py").as_uri())
        assert (await first_items(s, MAIN, uri))[0] == ANSWER
        helpers.write_text(HELPERS.replace("strict=True", "strict=False"))
        s.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=helpers.as_uri(), type=types.FileChangeType.Changed)]))

        async def answer() -> str:
            s.replace(MAIN + " " * (s.versions[uri] % 2), uri)  # a new request each time
            text = MAIN + " " * (s.versions[uri] % 2)
            return (await first_items(s, text, uri))[0]

        for _ in range(50):
            if await answer() == ANSWER.replace("True", "False"):
                break
        assert await answer() == ANSWER.replace("True", "False")
        helpers.unlink()
        s.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=helpers.as_uri(), type=types.FileChangeType.Deleted)]))
        await s.wait_for(lambda: s.statuses[-1]["workspace"]["files"] == 1, 20, "helpers gone")
        assert not (await answer()).startswith("return parse_payload")


async def test_context_off_sends_no_context_and_workspace_off_reads_no_file(
        tmp_path, capabilities):
    (tmp_path / "helpers.py").write_text(HELPERS)
    off = {"codeDiffusion": {"context": {"enabled": False}}}
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(tmp_path),
                       configuration=off) as s:
        await s.ready(20)
        uri = s.open(MAIN, (tmp_path / "main.py").as_uri())
        assert (await first_items(s, MAIN, uri))[0] == "return value_0"
        status = await s.command("codeDiffusion.status")
        assert status["workspace"] == {"files": 1, "indexing": False}  # the open document
    no_disk = {"codeDiffusion": {"context.workspace": False}}
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(tmp_path),
                       configuration=no_disk) as s:
        await s.ready(20)
        uri = s.open(MAIN, (tmp_path / "main.py").as_uri())
        assert (await first_items(s, MAIN, uri))[0] == "return value_0"
        assert (await s.command("codeDiffusion.status"))["workspace"]["files"] == 1


async def test_a_symlink_out_of_the_folder_is_never_read(tmp_path, capabilities):
    outside, root = tmp_path / "outside", tmp_path / "project"
    outside.mkdir()
    root.mkdir()
    (outside / "helpers.py").write_text(HELPERS)
    (root / "helpers.py").symlink_to(outside / "helpers.py")
    (root / "lib").symlink_to(outside, target_is_directory=True)
    (root / "etc").symlink_to("/etc", target_is_directory=True)
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(root),
                       initialization_options={"logLevel": "debug"}) as s:
        await s.ready(20)
        await s.wait_for(lambda: s.logs("files indexed"), 20, "the index built")
        uri = s.open(MAIN, (root / "main.py").as_uri())
        assert (await first_items(s, MAIN, uri))[0] == "return value_0"
        assert (await s.command("codeDiffusion.status"))["workspace"]["files"] == 1
        assert len(s.logs("helpers.py skipped: a symlink out of the workspace folder")) == 1


async def test_a_new_workspace_folder_is_indexed(tmp_path, capabilities):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "helpers.py").write_text(HELPERS)
    async with session(FAKE_SERVER, capabilities, workspace_folders=folder(first)) as s:
        await s.ready(20)
        uri = s.open(MAIN, (first / "main.py").as_uri())
        assert (await first_items(s, MAIN, uri))[0] == "return value_0"
        s.client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=folder(second), removed=[])))
        await s.wait_for(lambda: s.statuses[-1]["workspace"] == {"files": 2, "indexing": False},
                         20, "the second folder indexed")
        s.replace(MAIN + "\n", uri)
        assert (await first_items(s, MAIN + "\n", uri))[0] == ANSWER
        status = await s.command("codeDiffusion.status")  # main.py once, under its new key
        assert status["workspace"] == {"files": 2, "indexing": False}
