"""``code-diffusion eval``: task construction, the sandbox, scoring, reports and the command."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from code_diffusion.engine.types import Candidate
from code_diffusion.evaluation import report as eval_report
from code_diffusion.evaluation import sandbox
from code_diffusion.evaluation import tasks as humaneval
from code_diffusion.evaluation.heldout import (
    indent_for_hole,
    most_frequent_statement,
    whole_statements,
)
from code_diffusion.evaluation.infill import (
    FIXED_CANVAS,
    LENGTH_CONTROL,
    ORACLE_LENGTH,
    DecodeSettings,
    TaskResult,
    editor_buffer,
    fill_task,
    score,
    summarise,
)
from code_diffusion.evaluation.runner import Evaluation

FIXTURE = Path(__file__).parent / "fixtures" / "infill_tasks.jsonl"


@pytest.fixture(scope="module")
def problems():
    return humaneval.read_humaneval()


# --- task construction ---------------------------------------------------------------------------

def test_benchmark_sizes_follow_the_fim_construction(problems) -> None:
    single = humaneval.single_line_tasks(problems)
    multi = humaneval.multi_line_tasks(problems)
    assert len(problems) == 164
    assert len(single) == 1033  # HumanEval-SingleLineInfilling
    assert len(single) + len(multi) == 5815  # the FIM paper's multi-line set includes singles
    assert len({t.task_id for t in single + multi}) == len(single) + len(multi)
    assert all(t.hole == "line" and t.middle.count("\n") == 1 for t in single)
    assert all(t.hole == "block" and t.middle.strip().count("\n") >= 1 for t in multi)


def test_prefix_middle_suffix_reassemble_the_canonical_program(problems) -> None:
    for task in humaneval.single_line_tasks(problems) + humaneval.multi_line_tasks(problems):
        problem = problems[task.task_id.split("/", 1)[1].rsplit("/", 1)[0]]
        assert task.prefix + task.middle + task.suffix == (
            problem["prompt"] + problem["canonical_solution"])
        assert task.filled(task.middle) == task.prefix + task.middle + task.suffix
        assert task.middle.strip() and task.middle.endswith("\n")


def test_subsample_is_fixed_by_the_seed_and_keeps_order(problems) -> None:
    tasks = humaneval.multi_line_tasks(problems)
    a = humaneval.subsample(tasks, 25, seed=0)
    assert [t.task_id for t in a] == [t.task_id for t in humaneval.subsample(tasks, 25, 0)]
    assert [t.task_id for t in a] != [t.task_id for t in humaneval.subsample(tasks, 25, 1)]
    order = {t.task_id: i for i, t in enumerate(tasks)}
    assert [order[t.task_id] for t in a] == sorted(order[t.task_id] for t in a)
    assert len(humaneval.subsample(tasks, 10_000)) == len(tasks)


def test_canonical_completion_passes_and_wrong_ones_fail(problems) -> None:
    single = [t for t in humaneval.single_line_tasks(problems)
              if t.task_id.startswith("humaneval-single-line/HumanEval/0/")]
    task = single[-1]  # "    return False"
    multi = humaneval.multi_line_tasks({"HumanEval/0": problems["HumanEval/0"]})[0]
    wrong = "    return True\n" if "False" in task.middle else "    return False\n"
    programs = [task.program(task.middle), task.program(wrong), multi.program(multi.middle),
                multi.program("    pass\n"), task.program("    return (\n")]
    results = list(sandbox.run_programs(programs, timeout=10))
    assert [r.status for r in results] == ["passed", "failed", "passed", "failed", "failed"]
    assert "SyntaxError" in results[4].detail
    # a line completion without its newline still ends its line
    assert task.filled(task.middle.rstrip("\n")) == task.filled(task.middle)


# --- the sandbox -------------------------------------------------------------------------------

@pytest.mark.parametrize("namespace", [True, False])
def test_sandbox_blocks_the_network(monkeypatch, namespace) -> None:
    if not namespace:  # the in-process guard alone, as on machines without user namespaces
        monkeypatch.setattr(sandbox, "network_namespace_available", lambda: False)
    programs = [
        "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)\n",
        "import socket\nsocket.create_connection(('127.0.0.1', 9))\n",
        "import _socket\n_socket.socket()\n",
        "import urllib.request\nurllib.request.urlopen('http://example.com', timeout=2)\n",
    ]
    for result in sandbox.run_programs(programs, timeout=10):
        assert result.status == "failed"
        assert "disabled" in result.detail or "rror" in result.detail


def test_sandbox_times_out_an_infinite_loop() -> None:
    result = sandbox.run_program("while True:\n    pass\n", timeout=1.5)
    assert result.status == "timeout" and not result.passed
    assert result.seconds < 6


def test_sandbox_does_not_count_an_early_exit_as_a_pass(tmp_path) -> None:
    assert sandbox.run_program("x = 1\n").passed
    for source in ("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n", "raise SystemExit\n"):
        assert sandbox.run_program(source).status == "failed"
    # the program runs in its own temporary directory
    assert sandbox.run_program(f"import os\nassert os.getcwd() != {str(tmp_path)!r}\n").passed


# --- scoring with an engine double -------------------------------------------------------------

@dataclass
class FakeFill:
    candidates: tuple[Candidate, ...]
    forward_passes: int = 3
    elapsed_ms: float = 1.0


@dataclass
class ReferenceGenerator:
    """Follows the generator contract; answers with the reference (or a fixed wrong line)."""

    answers: dict[str, str]
    calls: list[dict] = field(default_factory=list)

    def fill(self, text, start, end=None, *, language=None, specification="", hole="auto",
             length_control=True, canvas_length=None, on_step=None, should_stop=None,
             **params):
        self.calls.append({"hole": hole, "length_control": length_control,
                           "canvas_length": canvas_length, **params})
        key = (text, start)
        right = length_control or canvas_length is not None
        answer = self.answers.get(key, "    pass\n") if right else "    return None"
        return FakeFill((Candidate(answer),))


def _generator_for(tasks) -> ReferenceGenerator:
    return ReferenceGenerator({(editor_buffer(t), len(t.prefix)): t.middle or "" for t in tasks})


def test_fill_and_score_modes(problems) -> None:
    tasks = humaneval.subsample(humaneval.single_line_tasks(problems), 4, seed=3)
    gen = _generator_for(tasks)
    settings = DecodeSettings(max_length=32, steps=8)
    for mode in (LENGTH_CONTROL, FIXED_CANVAS, ORACLE_LENGTH):
        results = [fill_task(gen, t, mode, settings, canvas_length=5) for t in tasks]
        score(tasks, results, timeout=10)
        summary = summarise(mode, results, 32)
        assert summary.tasks == summary.executed == 4
        if mode == FIXED_CANVAS:
            assert summary.passed < 4 and summary.exact_first_line == 0
        else:
            assert summary.pass_at_1 == 1.0 and summary.exact_first_line_rate == 1.0
        assert summary.forward_passes["mean"] == 3
    call = gen.calls[-1]
    assert call["temperature"] == 0.0 and call["num_samples"] == 1 and call["hole"] == "line"
    assert call["canvas_length"] == 5 and call["max_length"] == 32
    assert gen.calls[4]["length_control"] is False and gen.calls[4]["canvas_length"] is None
    assert call["length_control"] is False


def test_passes_with_an_empty_completion_are_counted_apart(problems) -> None:
    # results made by hand: "a" had no answer and its tests passed anyway (a line the tests
    # do not need), "c" is blank and failed
    results = [TaskResult("a", LENGTH_CONTROL, "", 0, 1.0, 1.0, error="no candidate"),
               TaskResult("b", LENGTH_CONTROL, "    return x\n", 3, 1.0, 1.0),
               TaskResult("c", LENGTH_CONTROL, "  \n", 3, 1.0, 1.0)]
    for result, status in zip(results, ("passed", "passed", "failed"), strict=True):
        result.status = status
    summary = summarise(LENGTH_CONTROL, results, 32)
    assert (summary.passed, summary.passed_empty, summary.engine_errors) == (2, 1, 1)
    row = eval_report._rows({"benchmarks": {"humaneval-single-line": {
        "tasks_run": 3, "tasks_total": 1033, "modes": {LENGTH_CONTROL: summary.to_json()}}}})[0]
    assert row[3:5] == ["66.7 %", "1"]
    assert len(row) == len(eval_report.HEADERS)


def test_evaluation_collects_a_full_report(tmp_path, problems, monkeypatch) -> None:
    from code_diffusion.engine.interface import ModelInfo
    from code_diffusion.evaluation import heldout
    from code_diffusion.training.export import EMBEDDED_DIR

    tasks = humaneval.single_line_tasks(problems) + humaneval.read_task_file(FIXTURE)
    evaluation = Evaluation(_generator_for(tasks), ModelInfo(name="reference", family="test"),
                            EMBEDDED_DIR, oracle=True, log=lambda _m: None, progress=False)
    monkeypatch.setattr(evaluation, "_baseline", heldout.BaselineLine("pass", 10, 0.01, '"""'))
    report = evaluation.start_report("code-diffusion eval --limit 3")
    report["benchmarks"]["humaneval-single-line"] = evaluation.run_benchmark(
        "humaneval-single-line", 3, 32)
    report["tasks_file"] = evaluation.run_task_file(FIXTURE, tmp_path / "out.jsonl")
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nkept above\n\n<!-- eval:begin -->\nold\n<!-- eval:end -->\n"
                    "\nkept below\n")
    assert evaluation.finish(report, tmp_path / "r.json", tmp_path / "d.jsonl", docs) == 0

    data = json.loads((tmp_path / "r.json").read_text())
    section = data["benchmarks"]["humaneval-single-line"]
    assert (section["tasks_run"], section["tasks_total"]) == (3, 1033)
    assert set(section["modes"]) == {LENGTH_CONTROL, FIXED_CANVAS, ORACLE_LENGTH}
    assert section["modes"][LENGTH_CONTROL]["pass_at_1"] == 1.0
    assert section["baseline"]["line"] == "pass"
    assert data["machine"]["cores"] >= 1 and data["model"]["training"]["tokens_seen"] > 0
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in out] == [t.task_id for t in humaneval.read_task_file(FIXTURE)]
    text = docs.read_text()
    assert "kept above" in text and "kept below" in text and "old" not in text
    assert "code-diffusion eval --limit 3" in text and "| humaneval-single-line | 3/1033 |" in text


# --- files, reports and helpers ----------------------------------------------------------------

def test_task_file_round_trip_and_errors(tmp_path) -> None:
    tasks = humaneval.read_task_file(FIXTURE)
    assert len(tasks) == 4 and tasks[-1].middle is None and tasks[0].hole == "auto"
    assert humaneval.exact_first_line("    return a + b  \nmore", tasks[0].middle)
    assert not humaneval.exact_first_line("return a + b\n", tasks[0].middle)
    bad = tmp_path / "bad.jsonl"
    for line, message in (("{", "not valid JSON"), ('{"task_id": "a", "prefix": ""}', "suffix"),
                          ('{"task_id": "a", "prefix": 1, "suffix": ""}', "must be a string")):
        bad.write_text(line + "\n")
        with pytest.raises(humaneval.TaskFileError, match=message):
            humaneval.read_task_file(bad)


def test_update_docs_creates_or_appends_the_section(tmp_path) -> None:
    path = tmp_path / "docs" / "benchmarks.md"
    eval_report.update_docs(path, "first")
    eval_report.update_docs(path, "second")
    text = path.read_text()
    assert text.count(eval_report.BEGIN) == 1 and "second" in text and "first" not in text
    other = tmp_path / "other.md"
    other.write_text("# Other\n\nsomeone else's section\n")
    eval_report.update_docs(other, "mine")
    assert other.read_text().startswith("# Other\n\nsomeone else's section\n")


def test_baseline_helpers() -> None:
    line = most_frequent_statement(['"""\n"""\n"""\n', "    pass\n    pass\nx = 1\n"])
    assert (line.line, line.most_frequent) == ("pass", '"""')
    # a line of a call spread over lines compiles alone (a tuple) but is no statement there
    split_call = "f(\n    self,\n)\n" * 3 + "if x:\n    y = 1\n" * 2
    assert most_frequent_statement([split_call]).line == "y = 1"
    joined, commented, spread = "a = 1; b = 2\n", "c = 3  # note\n", "d = (\n 4)\n"
    assert whole_statements(joined + commented + spread + "while x:\n  pass\n") == ["pass"]
    assert indent_for_hole("def f():\n", "    return 1\n") == "    "
    assert indent_for_hole("    x = 1\n", "    return x\n") == "    "
    assert indent_for_hole("    if x:\n        y()\n", "    return x\n") == "    "


def test_heldout_loss_on_a_small_text() -> None:
    from code_diffusion.evaluation.heldout import heldout_report
    from code_diffusion.training.export import EMBEDDED_DIR

    text = Path(humaneval.__file__).read_text()
    report = heldout_report(EMBEDDED_DIR, rates=(0.1, 0.5), windows=4, texts=[text],
                            train_texts=[Path(sandbox.__file__).read_text()])
    assert report["windows"] == 4 and [r["rate"] for r in report["rates"]] == [0.1, 0.5]
    for row in report["rates"]:
        assert math.isfinite(row["model_ce"]) and row["masked_tokens"] > 0
        assert 0 < row["unigram_ce"] < 20


def test_heldout_loss_counts_the_copy_head(tmp_path) -> None:
    """The shipped weights scored as the engine serves them (copy head mixed in) and their
    backbone alone (the vocabulary head, what transformers loads) give different figures on
    the same masked positions; the same model twice gives the same."""
    from code_diffusion.evaluation.heldout import heldout_report
    from code_diffusion.training.export import EMBEDDED_DIR
    from tiny_models import embedded_backbone

    common = dict(rates=(0.1,), windows=2, texts=[Path(humaneval.__file__).read_text()],
                  train_texts=[Path(sandbox.__file__).read_text()])
    served = heldout_report(EMBEDDED_DIR, **common)["rates"][0]
    again = heldout_report(EMBEDDED_DIR, **common)["rates"][0]
    backbone = heldout_report(embedded_backbone(tmp_path / "backbone"), **common)["rates"][0]
    assert served["masked_tokens"] == backbone["masked_tokens"] > 0
    assert served["model_ce"] == again["model_ce"]
    assert abs(served["model_ce"] - backbone["model_ce"]) > 1e-3


def test_limits_and_command_line() -> None:
    from code_diffusion.commands import eval as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--benchmark", "all", "--limit", "50",
                              "--limit", "humaneval-multi-line=200", "--no-heldout"])
    names = command.selected_benchmarks(args)
    assert names == ["humaneval-single-line", "humaneval-multi-line"]
    assert command.parse_limits(args.limit, names) == {"humaneval-single-line": 50,
                                                       "humaneval-multi-line": 200}
    assert command.command_line(args) == (
        "code-diffusion eval --benchmark all --limit 50 --limit humaneval-multi-line=200 "
        "--no-heldout")


# --- the command with the real embedded model --------------------------------------------------

def test_eval_tasks_with_the_embedded_model(tmp_path) -> None:
    pytest.importorskip("code_diffusion.engine.generator")
    from code_diffusion.commands import eval as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    args = parser.parse_args(["eval", "--tasks", str(FIXTURE), "--out", str(out), "--json",
                              str(report), "--no-heldout", "--no-fixed-canvas",
                              "--max-length", "8", "--steps", "4"])
    assert command.run(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    expected = [t.task_id for t in humaneval.read_task_file(FIXTURE)]
    assert [r["task_id"] for r in rows] == expected
    assert all(isinstance(r["completion"], str) for r in rows)
    data = json.loads(report.read_text())
    summary = data["tasks_file"]["modes"][LENGTH_CONTROL]
    assert summary["tasks"] == 4 and summary["with_reference"] == 3
    assert summary["forward_passes"]["mean"] >= 1
