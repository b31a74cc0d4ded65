"""The copy probe keeps exactly the statement lines that stand elsewhere in their file."""

from __future__ import annotations

from code_diffusion.evaluation.copying import copyable_tasks

FILE = '''def first(items):
    total = 0
    for item in items:
        total += item
    return total


def second(items):
    total = 0
    for item in items:
        total += item * 2
    return total
'''


def test_only_lines_repeated_in_their_file_are_tasks():
    tasks = copyable_tasks([("pkg/mod.py", FILE)], limit=100, seed=0)
    lines = sorted(t.middle.strip() for t in tasks)
    assert lines == sorted(["total = 0", "total = 0", "return total", "return total",
                            "for item in items:", "for item in items:"])
    for task in tasks:
        assert task.prefix + task.middle + task.suffix == FILE
        assert task.path == "pkg/mod.py"


def test_the_sample_is_fixed_by_its_seed():
    files = [(f"m{i}.py", FILE) for i in range(10)]
    one, two = (copyable_tasks(files, limit=7, seed=3) for _ in range(2))
    assert [t.task_id for t in one] == [t.task_id for t in two] and len(one) == 7
    assert [t.task_id for t in copyable_tasks(files, 7, 4)] != [t.task_id for t in one]


def test_line_windows_are_scored_on_the_holes_real_tokens():
    import math

    from code_diffusion.engine.loading import load_model
    from code_diffusion.evaluation.copying import line_window_ce

    result = line_window_ce(load_model(precision="float32"), [FILE * 3], count=12, seed=0)
    assert sum(part["windows"] for part in result.values()) == 12
    assert result["copyable"]["windows"] > 0  # the file repeats its lines
    for part in result.values():
        assert part["windows"] == 0 or 0 < part["ce"] < math.log(4096) * 3


def test_texts_without_line_windows_are_an_error_not_a_hang():
    import pytest

    from code_diffusion.engine.loading import load_model
    from code_diffusion.evaluation.copying import line_window_ce

    with pytest.raises(ValueError, match="fewer than 3 line windows"):
        line_window_ce(load_model(precision="float32"), ["x = 1\n"], count=3, seed=0)
