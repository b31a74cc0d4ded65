"""The pinned projects of the corpus and the evaluation projects it must never contain.

The projects listed in ``corpus_projects.txt`` are downloaded with pip (no dependencies) into
``~/.cache/code-diffusion/corpus/``, once: a project whose archive is already there is not asked
for again. Their ``.py`` files are read straight from the wheel or sdist.

The ``repo-single-line`` benchmark's projects (``EVALUATION_PINS``) are kept out three ways: by
distribution name, by any path component that names one of them (a vendored copy), and by
content: every ``.py`` file of their pinned wheels is fingerprinted and a corpus file whose
normalised lines match or nearly match one of them is dropped (:class:`EvaluationGuard`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from code_diffusion.engine.errors import CodeDiffusionError

CACHE = Path.home() / ".cache" / "code-diffusion"
CORPUS_CACHE = CACHE / "corpus"
EVALUATION_CACHE = CACHE / "repo-bench"
PROJECTS_FILE = Path(__file__).with_name("corpus_projects.txt")

EVALUATION_PINS = ("sortedcontainers==2.4.0", "cachetools==8.0.0", "funcy==2.1",
                   "pyflakes==4.1.0")
EVALUATION_NAMES = frozenset(p.split("==")[0] for p in EVALUATION_PINS)

VENDOR_DIRS = frozenset({"_vendor", "vendor", "vendored", "_vendored", "extern", "_extern"})
"""Directories holding other projects' code inside a package: not part of the package."""

NEAR_MATCH_SHARE = 0.5
"""A corpus file sharing this share of an evaluation file's distinctive lines (or this share of
its own) is taken for a copy of it."""
MIN_SHARED_LINES = 4
MIN_LINE_CHARS = 12
"""Lines shorter than this (``else:``, ``return None``) are too common to mark a copy."""


_TRAILING_COMMENT = re.compile(r"\s+#[^'\"]*$")


class CorpusError(CodeDiffusionError):
    """The corpus cannot be built as asked; the message says what to run."""


def normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def read_pins(path: Path = PROJECTS_FILE) -> list[Pin]:
    """The ``name==version`` lines of ``path`` (comments and blank lines skipped)."""
    pins = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise CorpusError(f"{path}:{number}: expected 'name==version', got {raw!r}")
        pins.append(Pin(normalise_name(name.strip()), version.strip()))
    return pins


def archive_of(pin: Pin, cache: Path = CORPUS_CACHE) -> Path | None:
    """The downloaded wheel or sdist of ``pin`` in ``cache``, or None."""
    found = []
    for path in sorted(cache.glob("*")) if cache.is_dir() else []:
        m = re.match(r"(.+?)-(\d[^-]*?)(-[^/]+\.whl|\.tar\.gz|\.zip)$", path.name)
        if m and normalise_name(m[1]) == pin.name and m[2] == pin.version:
            found.append(path)
    wheels = [p for p in found if p.suffix == ".whl"]
    return (wheels or found or [None])[0]


def fetch(pins: list[Pin], cache: Path = CORPUS_CACHE, log=print) -> dict[str, Path]:
    """Download each missing pin with pip: its pure-Python wheel, else its sdist. Resumable: an
    archive already in ``cache`` is kept."""
    cache.mkdir(parents=True, exist_ok=True)
    archives = {}
    for pin in pins:
        archive = archive_of(pin, cache)
        if archive is None:
            log(f"downloading {pin} into {cache}")
            _pip_download(pin, cache)
            archive = archive_of(pin, cache)
        if archive is None:
            raise CorpusError(f"pip downloaded {pin} but no archive named like it is in {cache}")
        archives[str(pin)] = archive
    return archives


def _pip_download(pin: Pin, cache: Path) -> None:
    base = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(cache)]
    wheel = [*base, "--only-binary=:all:", "--platform", "any", "--implementation", "py",
             "--python-version", "3.11", str(pin)]
    if subprocess.run(wheel, capture_output=True).returncode == 0:
        return
    sdist = subprocess.run([*base, "--no-binary=:all:", str(pin)], capture_output=True,
                           text=True)
    if sdist.returncode != 0:
        raise CorpusError(f"pip could not download {pin} (neither a pure-Python wheel nor an "
                          f"sdist): {sdist.stderr.strip()[-500:]}")


def cached_archives(pins: list[Pin], cache: Path = CORPUS_CACHE) -> dict[str, Path]:
    """The archive of every pin, without downloading; an error names the missing ones."""
    archives = {str(p): archive_of(p, cache) for p in pins}
    missing = [name for name, path in archives.items() if path is None]
    if missing:
        raise CorpusError(f"{len(missing)} pinned corpus projects are not in {cache} "
                          f"({', '.join(missing[:5])}...): run `code-diffusion train "
                          f"--corpus-only` to download them")
    return {name: path for name, path in archives.items() if path is not None}


@functools.lru_cache(maxsize=64)
def archive_sources(archive: Path) -> dict[str, bytes]:
    """Every ``.py`` member of a wheel or sdist, by its path inside the package.

    For an sdist the leading ``name-version/`` directory is dropped and only files under a
    package directory (one with ``__init__.py``, possibly under ``src/``) are kept: setup
    scripts, docs and examples are not the project's library code.
    """
    if archive.suffix == ".whl" or archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            members = {n: zf.read(n) for n in zf.namelist() if n.endswith(".py")}
    else:
        with tarfile.open(archive) as tf:
            members = {}
            for info in tf.getmembers():
                if info.isfile() and info.name.endswith(".py"):
                    handle = tf.extractfile(info)
                    if handle is not None:
                        members[info.name] = handle.read()
    if archive.suffix == ".whl":
        return {n: b for n, b in members.items() if ".dist-info/" not in n and ".data/" not in n}
    return _sdist_packages(members)


def _sdist_packages(members: dict[str, bytes]) -> dict[str, bytes]:
    stripped = {n.split("/", 1)[1]: b for n, b in members.items() if "/" in n}
    stripped = {(n[4:] if n.startswith("src/") else n): b for n, b in stripped.items()}
    packages = {n.split("/", 1)[0] for n in stripped if n.count("/") == 1
                and n.endswith("/__init__.py")}
    return {n: b for n, b in stripped.items() if n.split("/", 1)[0] in packages}


def names_evaluation_project(relpath: str) -> str | None:
    """The evaluation project a path component names (``x/_vendor/cachetools/__init__.py``),
    or None."""
    for part in relpath.lower().split("/"):
        stem = re.sub(r"\.py$", "", part).replace("-", "_")
        for name in EVALUATION_NAMES:
            if stem == name or stem.startswith((f"{name}_", f"{name}.", f"{name}-")):
                return name
    return None


def is_vendored(relpath: str) -> bool:
    return any(part in VENDOR_DIRS for part in relpath.split("/")[:-1])


def normalised_lines(text: str) -> list[str]:
    """Lines stripped of indentation and of a trailing comment (one without quotes in it);
    comment-only and blank lines removed."""
    out = []
    for line in text.splitlines():
        line = _TRAILING_COMMENT.sub("", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _fingerprint(lines: list[str]) -> str:
    return hashlib.sha1("\n".join(lines).encode()).hexdigest()


def _distinctive(lines: list[str]) -> set[str]:
    return {line for line in lines if len(line) >= MIN_LINE_CHARS}


class EvaluationGuard:
    """Recognises copies of the evaluation projects' files, exact or near."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.exact: dict[str, str] = {}
        self.lines: dict[str, set[str]] = {}
        self.index: dict[str, list[str]] = {}
        for name, text in sources.items():
            lines = normalised_lines(text)
            if not lines:
                continue
            self.exact[_fingerprint(lines)] = name
            distinctive = _distinctive(lines)
            if len(distinctive) >= MIN_SHARED_LINES:
                self.lines[name] = distinctive
                for line in distinctive:
                    self.index.setdefault(line, []).append(name)

    @classmethod
    def from_cache(cls, cache: Path = EVALUATION_CACHE, fetch_missing: bool = False,
                   log=print) -> EvaluationGuard:
        pins = [Pin(*p.split("==")) for p in EVALUATION_PINS]
        archives = fetch(pins, cache, log) if fetch_missing else cached_archives(pins, cache)
        sources = {}
        for pin, archive in archives.items():
            for member, raw in archive_sources(archive).items():
                sources[f"{pin}/{member}"] = raw.decode("utf-8", errors="replace")
        return cls(sources)

    def match(self, text: str) -> str | None:
        """The evaluation file ``text`` copies (exactly or nearly), or None."""
        lines = normalised_lines(text)
        if not lines:
            return None
        exact = self.exact.get(_fingerprint(lines))
        if exact is not None:
            return exact
        own = _distinctive(lines)
        shared: dict[str, int] = {}
        for line in own:
            for name in self.index.get(line, ()):
                shared[name] = shared.get(name, 0) + 1
        for name, count in sorted(shared.items(), key=lambda kv: -kv[1]):
            if count < MIN_SHARED_LINES:
                break
            if count >= NEAR_MATCH_SHARE * min(len(self.lines[name]), len(own)):
                return name
        return None


def iter_project_files(archives: dict[str, Path]) -> Iterator[tuple[str, str, bytes]]:
    """``(name==version, relpath, content)`` for every ``.py`` file of the pinned projects."""
    for pin, archive in sorted(archives.items()):
        for member, raw in sorted(archive_sources(archive).items()):
            yield pin, member, raw
