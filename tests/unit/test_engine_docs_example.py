"""docs/engine.md opens with the code of docs/examples/quickstart.py (which
tests/unit/test_public_api.py runs), so the example a reader copies is the one that is run."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_engine_docs_open_with_the_quickstart_code():
    text = (DOCS / "engine.md").read_text(encoding="utf-8")
    first_block = re.search(r"```python\n(.*?)```", text, re.S)
    assert first_block is not None, "docs/engine.md has no python code block"
    assert text.index("```python") < text.index("\n## "), "the example is not the opening"
    example = (DOCS / "examples" / "quickstart.py").read_text(encoding="utf-8")
    code = example.split('"""', 2)[2].lstrip("\n")
    assert first_block.group(1) == code
    assert len(code.splitlines()) <= 10
