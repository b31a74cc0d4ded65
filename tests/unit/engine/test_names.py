"""Names a candidate reads that the file never mentions: the check and the reason it gives."""

from __future__ import annotations

import pytest

from code_diffusion.engine.names import NameScope

FUNCTION = ("import math\n\ndef f(numbers, threshold):\n"
            "    for idx, elem in enumerate(numbers):\n        \n    return False\n")
HOLE = FUNCTION.index("        \n")


def scope(text: str = FUNCTION, start: int = HOLE, end: int = HOLE + 8,
          language: str | None = "python") -> NameScope | None:
    return NameScope.of(text, start, end, language)


@pytest.mark.parametrize(("candidate", "unknown"), [
    ("        if dim:", ["dim"]),
    ("        distance = di2 + elem", ["di2"]),
    ("        if elem > threshold:", []),
    ("        if math.isclose(elem, threshold): return True", []),
    ("        print(len(numbers), sep=sep_value)", ["sep_value"]),
    ("        print(numbers, sep=' ')", []),  # a keyword argument's name is not read
    ("        value = elem.real", []),  # nor a name after a dot; value is bound here
    ("        total += elem", ["total"]),  # augmented assignment reads its target
    ("        total = 0\n        total += elem", []),
    ("        squares = [z * z for z in numbers if z > w]", ["w"]),
    ("        key = lambda q: q + k", ["k"]),
    ("        print(f'{elem} {bad}')", ["bad"]),
    ("        else:", []),
    ("        except ValueError as error:", []),
    ("        elif elem in seen:", ["seen"]),
    ("        for a, b in zip(numbers, numbers[1:]):", []),
    ("        def inner(x, *rest, scale=1): return x * scale + len(rest)", []),
    ("        print(__name__, __file__)", []),
])
def test_the_names_a_line_reads_and_nothing_defines(candidate, unknown):
    assert scope().unknown(candidate) == unknown


def test_a_line_that_does_not_parse_alone_is_not_checked():
    assert scope().unknown("        x = (") is None
    assert scope().unknown("        , y)") is None
    # a block whose later lines are less indented than its first
    assert scope().unknown("        x = 1\n    y = zz") is None


def test_only_the_candidates_part_of_the_line_is_checked():
    text = "x = undefined_here(ba\nbar_baz = 1\n"
    cursor = text.index("\n")
    typed = scope(text, cursor, cursor)
    assert typed.unknown("r_baz)") == []
    assert typed.unknown("r)") == ["bar"]  # the name the completion makes
    # the user's own unknown name before the hole is not the candidate's
    assert typed.unknown(")") == []


def test_names_on_the_holes_line_and_anywhere_else_in_the_file_count_as_known():
    text = "def g():\n    return helper(1)\n\n\ndef helper(n):\n    return n\n"
    cursor = text.index("helper(1)")
    assert scope(text, cursor, cursor + len("helper")).unknown("helper") == []
    assert scope(text, cursor, cursor + len("helper")).unknown("helpr") == ["helpr"]
    line = "total = compute(values)\n"
    at = line.index("values")
    assert scope(line, at, at + len("values")).unknown("total") == []  # bound on its line
    # a selection being rewritten: its own names are the file's
    assert scope(line, at, at + len("values")).unknown("values[1:]") == []


def test_other_languages_and_star_imports_are_not_checked():
    assert scope(language="javascript") is None
    assert scope(language=None) is None
    starred = "from os.path import *\n" + FUNCTION
    assert NameScope.of(starred, HOLE + 22, HOLE + 30, "python") is None
