"""The real-code task builder (on a wheel made here, no network) and the workspace loader."""

import json
import logging
import os
import zipfile

import pytest

from code_diffusion.evaluation import repo, workspace

MODULE = '''"""Module doc."""
import os


def join_all(parts):
    """Join parts."""
    result = []
    for part in parts:
        result.append(os.fspath(part))
    if not result:
        return ""
    # a comment line
    return "/".join(result)
'''


@pytest.fixture
def wheel(tmp_path):
    path = tmp_path / "pyflakes-4.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pyflakes/paths.py", MODULE)
        archive.writestr("pyflakes/test/test_paths.py", MODULE)
        archive.writestr("pyflakes-4.1.0.dist-info/METADATA", "Name: pyflakes\n")
    return path


def test_wheel_sources_leave_out_tests_and_metadata(wheel):
    assert list(repo.wheel_sources(wheel, "pyflakes")) == ["pyflakes/paths.py"]


def test_single_line_tasks_are_whole_statements_in_function_bodies(wheel):
    files = repo.wheel_sources(wheel, "pyflakes")
    tasks = repo.build_tasks({"pyflakes": files}, repo.SINGLE_LINE, limit=None)
    assert [t.middle for t in tasks] == [
        "result = []", "for part in parts:", "result.append(os.fspath(part))",
        "if not result:", 'return ""', 'return "/".join(result)']
    for task in tasks:
        assert task.prefix + task.middle + task.suffix == MODULE
        assert task.prefix.endswith("    ") and task.suffix.startswith("\n")
    record = tasks[0].to_json()
    assert {"task_id", "path", "prefix", "suffix", "middle", "canonical_solution",
            "project", "language"} <= set(record)
    assert record["task_id"] == "repo-single-line/pyflakes/pyflakes/paths.py:L7"


def test_rest_of_line_tasks_put_the_cursor_inside_the_statement(wheel):
    files = repo.wheel_sources(wheel, "pyflakes")
    whole = repo.build_tasks({"pyflakes": files}, repo.SINGLE_LINE, limit=None)
    rest = repo.build_tasks({"pyflakes": files}, repo.REST_OF_LINE, limit=None)
    assert len(rest) == len(whole)
    for line, task in zip(whole, rest, strict=True):
        assert task.prefix + task.middle + task.suffix == MODULE
        assert task.suffix == line.suffix and task.hole == "line"
        typed = task.prefix[len(line.prefix):]
        assert typed and line.middle == typed + task.middle and task.middle.strip()
        at = len(typed)
        assert not typed[-1].isalnum() or not task.middle[0].isalnum(), (typed, task.middle)
        assert task.task_id == line.task_id.replace(repo.SINGLE_LINE, repo.REST_OF_LINE) + (
            f":C{len(line.prefix) - line.prefix.rfind(chr(10)) + at}")
    # the cursor depends on the file and the line only: the same in a sample of one
    assert repo.build_tasks({"pyflakes": files}, repo.REST_OF_LINE, limit=1, seed=2)[0] in rest
    assert len({len(t.prefix) - len(line.prefix) for t, line in zip(rest, whole, strict=True)}) > 1


def test_multi_line_tasks_and_the_seeded_sample(wheel, tmp_path):
    files = repo.wheel_sources(wheel, "pyflakes")
    blocks = repo.build_tasks({"pyflakes": files}, repo.MULTI_LINE, limit=None)
    assert "result = []\n    for part in parts:\n        result.append(os.fspath(part))" in [
        t.middle for t in blocks]
    assert all(2 <= t.middle.count("\n") + 1 <= repo.MAX_BLOCK_LINES for t in blocks)
    first = repo.build_tasks({"pyflakes": files}, repo.MULTI_LINE, limit=3, seed=5)
    assert first == repo.build_tasks({"pyflakes": files}, repo.MULTI_LINE, limit=3, seed=5)
    out = tmp_path / "tasks.jsonl"
    repo.write_tasks(out, first)
    assert [json.loads(line)["task_id"] for line in out.read_text().splitlines()] == [
        t.task_id for t in first]


def test_code_action_tasks_are_what_the_actions_plan_for_real_code(wheel):
    """A body after a docstring (``Fill in body``) and the statement under a comment
    (``Generate from comment``): the buffer is the action's plan, the specification its
    description, and the reference is the file's code."""
    from code_diffusion.engine import actions

    files = repo.wheel_sources(wheel, "pyflakes")
    tasks = repo.build_tasks({"pyflakes": files}, repo.CODE_ACTIONS, limit=None)
    assert [(t.task_id.rsplit(":", 1)[1], t.specification, t.middle) for t in tasks] == [
        ("L5", "Join parts.", MODULE.split('"""Join parts."""\n    ')[1].rstrip("\n")),
        ("L12", "a comment line", 'return "/".join(result)')]
    body, comment = tasks
    assert body.hole == comment.hole == "block"
    assert body.prefix + "pass" + body.suffix in (MODULE.split("    result")[0] + "    pass\n",)
    plan = actions.plan_action(actions.FILL_BODY, body.prefix + "pass" + body.suffix,
                               len(body.prefix), len(body.prefix), "python")
    assert (plan.start, plan.specification) == (len(body.prefix), "Join parts.")
    # the action writes on the blank line under the comment (here the file's last line)
    assert comment.prefix + comment.middle + comment.suffix == MODULE.removesuffix("\n")
    assert comment.prefix.endswith("# a comment line\n    ")


def test_missing_wheels_name_the_pip_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip download"):
        repo.wheel_paths(tmp_path, download=False)


def test_workspace_loader_skips_what_it_must_not_read(tmp_path, caplog):
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    outside = tmp_path / "secret.py"
    outside.write_text("SECRET = 1\n")
    (root / "pkg" / "good.py").write_text("x = 1\n")
    (root / "pkg" / "task.py").write_text("the task's own file\n")
    (root / "pkg" / "binary.py").write_bytes(b"x = 1\0\0\0")
    (root / "pkg" / "latin.py").write_bytes("café = 1\n".encode("latin-1"))
    (root / "pkg" / "huge.py").write_text("x = 1\n" * 100)
    os.symlink(outside, root / "pkg" / "link.py")
    os.symlink(tmp_path, root / "loop")
    with caplog.at_level(logging.INFO, logger=workspace.__name__):
        texts = workspace.load_workspace(root, exclude={"pkg/task.py"}, max_bytes=200)
    assert texts == {"pkg/good.py": "x = 1\n"}
    log = caplog.text
    for name, reason in (("binary.py", "binary"), ("latin.py", "not UTF-8"),
                         ("huge.py", "over the 200-byte cap"), ("link.py", "symlink"),
                         ("loop", "symlink")):
        assert f"{name}: {reason}" in log or (name in log and reason in log)
    assert "task.py" not in log and "SECRET" not in log


def test_workspace_loader_needs_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError, match="not a folder"):
        workspace.load_workspace(tmp_path / "missing")
