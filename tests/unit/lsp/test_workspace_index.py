"""The server's workspace index (lsp/workspace.py, lsp/scan.py) on real folders on disk:
.gitignore, the caps, binaries, non-UTF-8 files, symlinks out of the folder and loops, files
deleted while indexing, watched-file events, open documents over disk text."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import pytest

from code_diffusion.lsp import scan, workspace
from code_diffusion.lsp.workspace import Limits, WorkspaceFiles


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


async def settle(files: WorkspaceFiles, timeout: float = 20.0) -> None:
    """Wait until every queued job of the index thread has run."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    files._put(lambda: loop.call_soon_threadsafe(done.set) and None)
    await asyncio.wait_for(done.wait(), timeout)
    deadline = time.monotonic() + timeout
    while files.indexing and time.monotonic() < deadline:  # a build re-queues its chunks
        done.clear()
        files._put(lambda: loop.call_soon_threadsafe(done.set) and None)
        await asyncio.wait_for(done.wait(), timeout)


async def indexed(root: Path, limits: Limits | None = None, **kwargs) -> WorkspaceFiles:
    files = WorkspaceFiles(**kwargs)
    files.start([(root.as_uri(), root.name)], limits or Limits())
    await settle(files)
    return files


def paths(files: WorkspaceFiles) -> list[str]:
    return files.index.paths()


async def test_gitignore_at_every_level_and_hidden_folders(tmp_path):
    write(tmp_path, {
        ".gitignore": "build/\n*_gen.py\n!keep_gen.py\n/top_only.py\n",
        "a.py": "x = 1\n", "b_gen.py": "x = 2\n", "keep_gen.py": "x = 3\n",
        "top_only.py": "x = 4\n", "sub/top_only.py": "x = 5\n",
        "build/c.py": "x = 6\n", "sub/build/d.py": "x = 7\n",
        "sub/.gitignore": "local.py\n", "sub/local.py": "x = 8\n", "local.py": "x = 9\n",
        ".hidden/e.py": "x = 10\n", "node_modules/f.py": "x = 11\n", "notes.txt": "text\n",
    })
    files = await indexed(tmp_path)
    assert paths(files) == ["a.py", "keep_gen.py", "local.py", "sub/top_only.py"]
    assert files.index.text("a.py") == "x = 1\n"
    assert files.status() == {"files": 4, "indexing": False}


async def test_binary_non_utf8_and_oversized_files_are_skipped_with_one_line_each(
        tmp_path, caplog):
    write(tmp_path, {"ok.py": "pass\n", "binary.py": b"abc\x00def", "latin.py": b"x = '\xe9'\n",
                     "huge.py": "x = 1\n" * 400})
    with caplog.at_level(logging.INFO, logger="code_diffusion.lsp"):
        files = await indexed(tmp_path, Limits(max_file_bytes=1000))
    assert paths(files) == ["ok.py"]
    lines = [r.getMessage() for r in caplog.records if " skipped: " in r.getMessage()]
    assert len(lines) == 3, lines
    assert any("binary.py" in line and "binary" in line.split("skipped")[1] for line in lines)
    assert any("latin.py" in line and "not UTF-8" in line for line in lines)
    assert any("huge.py" in line and "2,400 bytes, over the 1,000-byte cap" in line
               for line in lines)


async def test_the_file_cap_stops_indexing_with_one_line(tmp_path, caplog):
    write(tmp_path, {f"m{i:03d}.py": f"value = {i}\n" for i in range(150)})
    with caplog.at_level(logging.INFO, logger="code_diffusion.lsp"):
        files = await indexed(tmp_path, Limits(max_files=100))
    assert files.index.file_count == 100
    cap = [r.getMessage() for r in caplog.records if "cap" in r.getMessage()]
    assert cap == ["workspace index: stopped at the 100-file cap (codeDiffusion.context.maxFiles);"
                   " the rest of the workspace is not indexed"]


async def test_symlinks_out_of_the_folder_are_never_read(tmp_path, caplog):
    outside = tmp_path / "outside"
    write(outside, {"secret.py": "SECRET = 'outside the workspace'\n"})
    root = tmp_path / "project"
    write(root, {"main.py": "import os\n", "inner.py": "INNER = 1\n"})
    (root / "leak.py").symlink_to(outside / "secret.py")
    (root / "etc_passwd.py").symlink_to("/etc/passwd")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "etc").symlink_to("/etc", target_is_directory=True)
    (root / "alias.py").symlink_to(root / "inner.py")  # inside the folder: read
    opened: list[str] = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        opened.append(os.path.realpath(path))
        return real_open(path, *args, **kwargs)

    with caplog.at_level(logging.INFO, logger="code_diffusion.lsp"):
        os.open = spy
        try:
            files = await indexed(root)
        finally:
            os.open = real_open
    assert paths(files) == ["alias.py", "inner.py", "main.py"]
    assert files.index.text("alias.py") == "INNER = 1\n"
    real_root = os.path.realpath(root)
    assert opened and all(p.startswith(real_root + os.sep) for p in opened), opened
    out = [r.getMessage() for r in caplog.records if "out of the workspace folder" in
           r.getMessage()]
    assert len(out) == 2, out  # leak.py and etc_passwd.py, one line each


async def test_file_events_through_a_symlinked_folder_never_read_outside(tmp_path):
    outside, root = tmp_path / "outside", tmp_path / "project"
    write(outside, {"secret.py": "SECRET = 1\n"})
    write(root, {"a.py": "a = 1\n"})
    (root / "linked").symlink_to(outside, target_is_directory=True)
    files = await indexed(root)
    secret = (root / "linked" / "secret.py").as_uri()
    files.files_changed([(secret, False)])
    files.opened(secret, "python", "opened = 1\n")  # the editor's text is fine
    files.closed(secret)  # and on close its disk text is not read
    await settle(files)
    assert paths(files) == ["a.py"]


async def test_symlink_loops_are_safe(tmp_path):
    write(tmp_path, {"a/x.py": "x = 1\n"})
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self.py").symlink_to(tmp_path / "self.py")
    files = await indexed(tmp_path)
    assert paths(files) == ["a/x.py"]


async def test_a_file_deleted_while_indexing_is_skipped(tmp_path, caplog, monkeypatch):
    write(tmp_path, {"a.py": "a = 1\n", "b.py": "b = 2\n", "c.py": "c = 3\n"})
    real_walk = scan.walk

    def walk_then_delete(root, suffixes):
        for found in real_walk(root, suffixes):
            if found.relative == "a.py":
                (tmp_path / "b.py").unlink()  # gone between the listing and the read
            yield found

    monkeypatch.setattr(workspace, "walk", walk_then_delete)
    with caplog.at_level(logging.INFO, logger="code_diffusion.lsp"):
        files = await indexed(tmp_path)
    assert paths(files) == ["a.py", "c.py"]
    assert [r.getMessage() for r in caplog.records if "b.py" in r.getMessage()] == [
        f"workspace index: {tmp_path / 'b.py'} skipped: deleted while indexing"]


async def test_watched_file_events_keep_the_index_current(tmp_path):
    write(tmp_path, {"a.py": "a = 1\n", "b.py": "b = 2\n"})
    notified = []
    files = await indexed(tmp_path, notify=lambda: notified.append(1))
    write(tmp_path, {"a.py": "a = 10\n", "new.py": "n = 1\n", "ignored.txt": "t\n"})
    (tmp_path / "b.py").unlink()
    files.files_changed([((tmp_path / "a.py").as_uri(), False),
                         ((tmp_path / "new.py").as_uri(), False),
                         ((tmp_path / "b.py").as_uri(), True),
                         ((tmp_path / "ignored.txt").as_uri(), False),
                         ("file:///etc/passwd", False)])
    await settle(files)
    assert paths(files) == ["a.py", "new.py"]
    assert files.index.text("a.py") == "a = 10\n"
    (tmp_path / ".gitignore").write_text("new.py\n")
    files.files_changed([((tmp_path / ".gitignore").as_uri(), False)])
    await settle(files)
    assert paths(files) == ["a.py"]
    await asyncio.sleep(0.05)  # the thread's notifications go through the loop
    assert notified


async def test_open_documents_win_over_disk_and_go_back_to_it_on_close(tmp_path):
    write(tmp_path, {"a.py": "on disk\n", "b.py": "b = 2\n"})
    files = await indexed(tmp_path)
    uri = (tmp_path / "a.py").as_uri()
    files.opened(uri, "python", "in the buffer\n")
    assert files.index.text("a.py") == "in the buffer\n"
    buffers = {uri: "edited in the buffer\n"}
    files.changed(uri)
    assert files.index.text("a.py") == "in the buffer\n"  # taken when a fill starts
    files.sync(buffers.get)
    assert files.index.text("a.py") == "edited in the buffer\n"
    files.files_changed([(uri, False)])  # the disk changed: the buffer still wins
    files.rebuild()  # so does a new build
    await settle(files)
    assert files.index.text("a.py") == "edited in the buffer\n"
    files.closed(uri)
    await settle(files)
    assert files.index.text("a.py") == "on disk\n"
    notes = tmp_path / "notes.txt"  # not a file the index reads from disk
    notes.write_text("notes\n")
    files.opened(notes.as_uri(), "plaintext", "notes\n")
    assert "notes.txt" in files.index
    files.closed(notes.as_uri())
    await settle(files)
    assert "notes.txt" not in files.index


async def test_documents_outside_the_folders_are_indexed_while_open(tmp_path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    write(root, {"a.py": "a = 1\n"})
    files = await indexed(root)
    uri = (elsewhere / "b.py").as_uri()  # not on disk at all
    files.opened(uri, "python", "b = 2\n")
    files.opened("untitled:Untitled-1", "python", "c = 3\n")
    key = (elsewhere / "b.py").as_posix()
    assert files.key(uri) == key and files.key("untitled:Untitled-1") is None
    assert paths(files) == sorted(["a.py", key])
    files.closed(uri)
    await settle(files)
    assert paths(files) == ["a.py"]


async def test_workspace_off_reads_no_file(tmp_path):
    write(tmp_path, {"a.py": "a = 1\n"})
    files = await indexed(tmp_path, Limits(workspace=False))
    files.opened((tmp_path / "open.py").as_uri(), "python", "o = 1\n")
    assert paths(files) == ["open.py"]
    files.configure(Limits(workspace=True))
    await settle(files)
    assert paths(files) == ["a.py", "open.py"]


async def test_a_new_language_adds_its_files(tmp_path):
    write(tmp_path, {"a.py": "a = 1\n", "b.js": "const b = 2;\n", "c.rs": "fn c() {}\n"})
    files = await indexed(tmp_path)
    assert paths(files) == ["a.py"]
    files.opened((tmp_path / "d.js").as_uri(), "javascript", "let d;\n")
    await settle(files)
    assert paths(files) == ["a.py", "b.js", "d.js"]


async def test_several_folders_prefix_their_name(tmp_path):
    write(tmp_path, {"one/a.py": "a = 1\n", "two/a.py": "a = 2\n"})
    files = WorkspaceFiles()
    files.start([((tmp_path / "one").as_uri(), "one"), ((tmp_path / "two").as_uri(), "two"),
                 ("file:///no/such/folder", "gone")], Limits())
    await settle(files)
    assert paths(files) == ["one/a.py", "two/a.py"]
    assert files.key((tmp_path / "two" / "a.py").as_uri()) == "two/a.py"
    files.opened((tmp_path / "one" / "b.py").as_uri(), "python", "b = 1\n")
    files.start([((tmp_path / "one").as_uri(), "one")], Limits())  # one folder left
    await settle(files)
    assert paths(files) == ["a.py", "b.py"]  # the open document under its new key


@pytest.mark.parametrize("relative, ignored", [
    ("a.py", False), ("gen/x.py", True), ("src/gen/x.py", True), ("src/keep.py", False),
    ("src/drop.py", True), (".venv/x.py", True), ("node_modules/x.py", True)])
def test_ignored_path_agrees_with_the_walk(tmp_path, relative, ignored):
    write(tmp_path, {".gitignore": "gen/\n", "src/.gitignore": "drop.py\n",
                     relative: "x = 1\n"})
    walked = [f.relative for f in scan.walk(tmp_path.resolve(), (".py",))]
    assert (relative not in walked) == ignored
    assert scan.ignored_path(tmp_path.resolve(), relative) == ignored
