"""The context evaluation: scores, the task file with a workspace, and the eval flags."""

from __future__ import annotations

import argparse
import json

import pytest

from code_diffusion.engine.context import ContextOptions
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.evaluation import context

OTHER = ("def weigh(items):\n    total = 0\n    for item in items:\n"
         "        total += item.weight\n    return total\n")
OWN = ("def first(items):\n    total = 0\n    for item in items:\n"
       "        total += item.size\n    return total\n")


def test_scores_of_one_completion():
    right = context.task_scores("total += 1  ", "total += 1", single_line=True)
    assert right["exact"] == 1 and right["accepted"] == len("total += 1")
    head = context.task_scores("total +=", "total += 1", single_line=True)
    assert head["exact"] == 0 and head["accepted"] == len("total +=")
    wrong = context.task_scores("total -= 1", "total += 1", single_line=True)
    assert wrong["accepted"] == 0 and 0 < wrong["similarity"] < 100
    assert context.task_scores("", "x = 1", True)["answered"] == 0
    two = context.task_scores("a = 1\nb = 2", "a = 1\nb = 3", single_line=False)
    assert two["exact"] == 0 and two["accepted"] == 0


def write_workspace(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "other.py").write_text(OTHER)
    (folder / "own.py").write_text("this text must never be read\n" + OTHER)
    cursor = OWN.index("total += item.size")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"task_id": "t1", "prefix": OWN[:cursor],
                                 "suffix": OWN[cursor + len("total += item.size"):],
                                 "middle": "total += item.size", "path": "own.py"}) + "\n")
    return folder, tasks


def test_a_task_file_with_a_workspace_never_reads_the_tasks_own_file(tmp_path):
    folder, tasks_path = write_workspace(tmp_path)
    tasks, indexes = context.file_tasks(tasks_path, folder)
    assert [t.path for t in tasks] == ["own.py"] and tasks[0].hole == "line"
    assert indexes["workspace"].paths() == ["other.py"]


def test_a_task_s_specification_reaches_the_fill(tmp_path):
    """``repo-code-actions`` tasks (and task files) carry the comment or docstring the code is
    written from; the evaluation hands it to the generator as the code actions do."""
    path = tmp_path / "tasks.jsonl"
    record = {"task_id": "t1", "prefix": "# add one\n", "suffix": "\n", "middle": "x += 1",
              "hole": "block", "specification": "add one"}
    path.write_text(json.dumps(record) + "\n")
    [task], _ = context.file_tasks(path, None)
    assert (task.specification, task.hole) == ("add one", "block")
    seen = {}

    class Recording:
        def fill(self, text, cursor, **kwargs):
            seen.update(kwargs)
            raise RuntimeError("recorded")

    with pytest.raises(RuntimeError, match="recorded"):
        context.ContextEvaluation(None, {}).fill(Recording(), task, None)
    assert seen["specification"] == "add one" and seen["hole"] == "block"
    path.write_text(json.dumps({**record, "specification": ["add one"]}) + "\n")
    with pytest.raises(ValueError, match="'specification' must be a string"):
        context.file_tasks(path, None)


def test_drafts_only_row_and_upper_bound(tmp_path):
    folder, tasks_path = write_workspace(tmp_path)
    tasks, indexes = context.file_tasks(tasks_path, folder)
    evaluation = context.ContextEvaluation(CodeGenerator(context.NoModel()), indexes)
    row = evaluation.run_row("drafts only", tasks, ContextOptions())
    assert row["tasks"] == 1 and row["answered"] == 100.0
    top = evaluation.details[0]["candidates"][0]
    assert top["origin"] == "draft" and top["source"].startswith(("own.py:", "other.py:"))
    bound = evaluation.right_among_drafts(tasks, ContextOptions())
    assert bound["tasks"] == 1


def test_eval_flags(tmp_path):
    from code_diffusion.commands import eval as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--benchmark", "repo-single-line", "--limit", "5",
                              "--no-ablations"])
    assert command.repo_benchmarks(args) == ["repo-single-line"]
    assert command.selected_benchmarks(args) == []
    assert "--no-ablations" in command.command_line(args)
    lone = parser.parse_args(["eval", "--workspace", str(tmp_path)])
    assert command.run(lone) == 2


@pytest.mark.slow
def test_eval_tasks_with_a_workspace_on_the_embedded_model(tmp_path):
    from code_diffusion.commands import eval as command

    folder, tasks_path = write_workspace(tmp_path)
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    report = tmp_path / "report.json"
    args = parser.parse_args(["eval", "--tasks", str(tasks_path), "--workspace", str(folder),
                              "--no-ablations", "--json", str(report)])
    assert command.run(args) == 0
    table = json.loads(report.read_text())["sections"][str(tasks_path)]
    assert {"model only (no context)", "model + context (default)",
            "drafts only (no model)"} <= set(table)
    assert all(row["tasks"] == 1 for row in table.values())
