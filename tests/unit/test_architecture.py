"""The package's layering, read from the source (``ast``), never by importing it.

* **No import circles.** Module-level imports (including ones inside a module-level ``try`` or
  ``if``, but not ``if TYPE_CHECKING:`` blocks, which never run) form a graph; importing
  ``a.b.c`` also runs the ``__init__`` of ``a.b`` unless the importer lives in that package
  already. The graph must have no cycle.
* **Function-level (lazy) imports** are how a module defers a heavy import (torch on the first
  model load). They are not edges of that graph, because they run after every module is loaded,
  but they may not hide a circle: a module that imports ``B`` inside a function must not be
  imported, directly or through others, by ``B`` at module level.
* **The engine imports no pygls or lsprotocol**, at any level.
* **``lsp/`` imports no torch or transformers**: not itself at any level, and not through the
  modules it imports at module level (so starting the server loads neither).
* **Model family names stay in ``engine/adapters/``**: no identifier (a name, an attribute, an
  import, a definition, a keyword) and no one-word string literal outside it names a family.
  Prose (docstrings, comments, messages with spaces) may cite them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "server"
PACKAGE = "code_diffusion"
FAMILY_NAMES = re.compile(
    r"dream|llada|modernbert|diffucoder|dcoder|qwen|roberta|bertfor|bertmodel|bertconfig",
    re.IGNORECASE)
FAMILY_HOME = "code_diffusion.engine.adapters"
FAMILY_EXEMPT = {
    "code_diffusion.training.model":
        "it defines the embedded model's architecture (a ModernBERT by choice); the engine "
        "reaches that model only through the family registry",
}


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    top: set[str] = field(default_factory=set)
    """Modules imported at module level (at run time)."""
    lazy: set[str] = field(default_factory=set)
    """Modules imported inside functions."""


@cache
def modules() -> dict[str, Module]:
    out = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        out[name] = Module(name, path, is_package, ast.parse(path.read_text(encoding="utf-8")))
    for module in out.values():
        _collect(module, out)
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(node: ast.AST, module: Module) -> Iterator[str]:
    """Absolute names a single import statement brings in (``from x import y`` gives ``x.y``
    as well as ``x``: ``y`` may be a submodule)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.name.split(".")
            base = base[: len(base) - node.level + (1 if module.is_package else 0)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        yield origin
        for alias in node.names:
            yield f"{origin}.{alias.name}"


def _collect(module: Module, known: dict[str, Module]) -> None:
    def visit(nodes: list[ast.stmt], lazy: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                (module.lazy if lazy else module.top).update(_imports(node, module))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
                visit(inner, True)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse, lazy)
            else:
                for attribute in ("body", "orelse", "finalbody"):
                    visit(getattr(node, attribute, []), lazy)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, lazy)

    visit(module.tree.body, False)


def internal_edges(module: Module, names: set[str]) -> set[str]:
    """The package's own modules that running these imports loads, parents included (a parent
    the importer already lives in is being loaded already)."""
    known = modules()
    own = {".".join(module.name.split(".")[:i]) for i in range(1, module.name.count(".") + 1)}
    edges = set()
    for name in names:
        if not name.startswith(PACKAGE):
            continue
        parts = name.split(".")
        for i in range(2, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in known and prefix not in own and prefix != module.name:
                edges.add(prefix)
    return edges


def graph() -> dict[str, set[str]]:
    return {name: internal_edges(m, m.top) for name, m in modules().items()}


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                strong(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                out.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            strong(node)
    return out


def externals(module: Module, lazy: bool = True) -> set[str]:
    names = module.top | (module.lazy if lazy else set())
    return {n.split(".")[0] for n in names if not n.startswith(PACKAGE)}


def test_the_walk_sees_the_package():
    known = modules()
    assert "code_diffusion.engine.generator" in known and "code_diffusion.lsp.server" in known
    assert "code_diffusion.engine.options" in graph()["code_diffusion.engine.generator"]


def test_no_import_circles():
    assert cycles(graph()) == []


def test_lazy_imports_hide_no_circle():
    edges = graph()
    hidden = []
    for name, module in modules().items():
        for target in internal_edges(module, module.lazy):
            if name in reachable(target, edges) or target == name:
                hidden.append(f"{name} imports {target} in a function, and {target} imports "
                              f"{name} at module level")
    assert hidden == []


def test_the_engine_imports_no_lsp_library():
    bad = {name: sorted(externals(m) & {"pygls", "lsprotocol"}) for name, m in modules().items()
           if name.startswith("code_diffusion.engine")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_server_layer_imports_no_torch():
    edges, known = graph(), modules()
    heavy = {"torch", "transformers"}
    bad = {}
    for name, module in known.items():
        if not name.startswith("code_diffusion.lsp"):
            continue
        direct = externals(module) & heavy
        through = {dep for dep in reachable(name, edges)
                   if externals(known[dep], lazy=False) & heavy}
        if direct or through:
            bad[name] = sorted(direct | through)
    assert bad == {}


def _words(module: Module) -> Iterator[tuple[int, str]]:
    """Identifiers and one-word string literals of the module, with their lines; docstrings
    are left out."""
    docstrings = set()
    for node in ast.walk(module.tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.add(id(body[0].value))
    for node in ast.walk(module.tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, ast.alias | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield line, node.name
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            yield line, node.arg
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield line, node.module
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings and not re.search(r"\s", node.value.strip())):
            yield line, node.value


def test_family_names_stay_in_the_adapters():
    found = []
    for name, module in modules().items():
        if name.startswith(FAMILY_HOME) or name in FAMILY_EXEMPT:
            continue
        for line, word in _words(module):
            if FAMILY_NAMES.search(word):
                found.append(f"{module.path.relative_to(ROOT)}:{line}: {word}")
    assert found == []


@pytest.mark.parametrize(("source", "rule"), [
    ("import pygls\n", test_the_engine_imports_no_lsp_library),
    ("def f():\n    from lsprotocol import types\n", test_the_engine_imports_no_lsp_library),
    ("import code_diffusion.engine.generator\n", test_no_import_circles),
    ("X = 'llada'\n", test_family_names_stay_in_the_adapters),
])
def test_the_rules_fail_on_a_violation(monkeypatch, source, rule):
    """Each rule fails when a module breaks it (here ``engine/options.py`` gains ``source``;
    the options module is imported by the generator, so importing the generator back is a
    circle)."""
    known = dict(modules())
    original = known["code_diffusion.engine.options"]
    tree = ast.parse(original.path.read_text(encoding="utf-8") + source)
    changed = Module(original.name, original.path, False, tree)
    known[original.name] = changed
    _collect(changed, known)
    monkeypatch.setitem(globals(), "modules", lambda: known)
    with pytest.raises(AssertionError):
        rule()


def test_the_server_rule_fails_on_a_violation(monkeypatch):
    known = dict(modules())
    original = known["code_diffusion.lsp.status"]
    for source in ("import torch\n", "import code_diffusion.engine.diffusion\n",
                   "def f():\n    import transformers\n"):
        tree = ast.parse(original.path.read_text(encoding="utf-8") + source)
        changed = Module(original.name, original.path, False, tree)
        known[original.name] = changed
        _collect(changed, known)
        monkeypatch.setitem(globals(), "modules", lambda known=known: known)
        with pytest.raises(AssertionError):
            test_the_server_layer_imports_no_torch()


def test_a_lazy_import_may_not_hide_a_circle(monkeypatch):
    known = dict(modules())
    original = known["code_diffusion.engine.options"]
    tree = ast.parse(original.path.read_text(encoding="utf-8")
                     + "def f():\n    from code_diffusion.engine import generator\n")
    changed = Module(original.name, original.path, False, tree)
    known[original.name] = changed
    _collect(changed, known)
    monkeypatch.setitem(globals(), "modules", lambda: known)
    with pytest.raises(AssertionError):
        test_lazy_imports_hide_no_circle()
