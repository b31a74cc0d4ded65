"""Where the time of a fill goes: a pyinstrument profile of the shipped default.

Each sample's time is charged to the innermost function of this package on its stack (so time
inside torch's modules is charged to the engine function that ran the forward pass), and to
the library the sample's own frame belongs to (torch, tokenizers, tree-sitter, …). The full
call tree is written as text next to the JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PACKAGE = "code_diffusion"
LIBRARIES = ("torch", "transformers", "tokenizers", "tree_sitter", "numpy", "safetensors")
TOP = 12


def profile(run: Callable[[], Any], tree: Path | None = None) -> dict[str, Any]:
    """Profile ``run()``; the shares of the wall time by our function and by library."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        run()
    finally:
        profiler.stop()
    session = profiler.last_session
    root = session.root_frame()
    if tree is not None:
        tree.parent.mkdir(parents=True, exist_ok=True)
        tree.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
    ours: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    for stack, seconds in _leaves(root, ()):
        ours[_innermost_ours(stack)] += seconds
        libraries[_library(stack)] += seconds
    total = sum(ours.values()) or 1.0
    return {
        "seconds": round(session.duration, 2),
        "sampled_seconds": round(total, 2),
        "by_function": [{"function": name, "share": round(t / total, 4)}
                        for name, t in ours.most_common(TOP)],
        "by_library": [{"library": name, "share": round(t / total, 4)}
                       for name, t in libraries.most_common()],
    }


def _leaves(frame: Any, stack: tuple[Any, ...]) -> Iterable[tuple[tuple[Any, ...], float]]:
    here = (*stack, frame)
    if not frame.children:
        yield here, frame.time
        return
    for child in frame.children:
        yield from _leaves(child, here)


def _path(frame: Any) -> str:
    return (frame.file_path or "").replace("\\", "/")


def _innermost_ours(stack: tuple[Any, ...]) -> str:
    for frame in reversed(stack):
        path = _path(frame)
        marker = f"/{PACKAGE}/"
        if marker in path and "/bench/" not in path:
            module = path.split(marker, 1)[1].removesuffix(".py").replace("/", ".")
            return f"{module}.{frame.function}"
    return "(outside the engine)"


def _library(stack: tuple[Any, ...]) -> str:
    for frame in reversed(stack):
        path = _path(frame)
        if not path or path.startswith("<"):
            continue  # [self], built-ins: charged to the caller's library
        if "site-packages/" in path:
            name = path.split("site-packages/", 1)[1].split("/", 1)[0]
            return name if name in LIBRARIES else "other libraries"
        if f"/{PACKAGE}/" in path:
            return PACKAGE
        return "python"
    return "python"
