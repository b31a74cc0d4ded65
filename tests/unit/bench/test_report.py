"""The bench section of docs/benchmarks.md: only its own markers' content changes."""

from __future__ import annotations

from code_diffusion.bench import report


def test_creates_the_file_with_both_marker_pairs(tmp_path):
    docs = tmp_path / "docs" / "benchmarks.md"
    report.replace_section(docs, "the figures")
    text = docs.read_text()
    for marker in ("<!-- eval:begin -->", "<!-- eval:end -->", report.BEGIN, report.END):
        assert text.count(marker) == 1
    assert text.index(report.BEGIN) < text.index("the figures") < text.index(report.END)


def test_rewrites_only_its_own_section(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# B\n\n<!-- eval:begin -->\neval table\n<!-- eval:end -->\n\n"
                    f"{report.BEGIN}\nold figures\n{report.END}\n\nfooter\n")
    report.replace_section(docs, "new figures")
    text = docs.read_text()
    assert "eval table" in text and "footer" in text
    assert "old figures" not in text and "new figures" in text
    report.replace_section(docs, "newer figures")
    assert docs.read_text().count(report.BEGIN) == 1
    assert "new figures" not in docs.read_text()


def test_appends_the_section_when_the_file_has_none(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# B\n\n<!-- eval:begin -->\neval table\n<!-- eval:end -->\n")
    report.replace_section(docs, "figures")
    text = docs.read_text()
    assert "eval table" in text
    assert text.index("<!-- eval:end -->") < text.index(report.BEGIN)
