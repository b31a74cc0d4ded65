"""``code-diffusion generate``: fill a hole in a file, or write code from a description."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from code_diffusion.commands._model_args import (
    add_model_arguments,
    load_from_args,
    quiet_transformers,
)
from code_diffusion.engine.context import ContextOptions, WorkspaceIndex
from code_diffusion.engine.errors import InvalidRequestError

DEFAULT_MAX_LENGTH = 48


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="fill a hole in a file, or write code from a description",
        description="Prints the candidates for the hole at --line/--col of --file (1-based, as "
                    "editors show them), or for a description given with --spec.")
    parser.add_argument("--spec", default="", help="what the code should do (specification)")
    parser.add_argument("--language", default=None, help="LSP language id, e.g. python")
    parser.add_argument("--file", type=Path, help="the buffer to fill a hole in")
    parser.add_argument("--line", type=int, help="1-based line of the cursor in --file")
    parser.add_argument("--col", type=int, help="1-based column of the cursor in --file")
    parser.add_argument("--end-line", type=int, help="with --end-col: replace a selection")
    parser.add_argument("--end-col", type=int)
    parser.add_argument("--hole", default="auto", choices=("auto", "line", "block", "span"))
    parser.add_argument("--workspace", type=Path, metavar="DIR",
                        help="the project folder around --file: its other .py files are "
                             "context too (nothing outside DIR is read)")
    parser.add_argument("--no-context", action="store_true",
                        help="the model alone on the window around the cursor: no drafts, "
                             "snippets or cache prior from the file")
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    sampling.add_argument("--num-samples", type=int, default=3)
    sampling.add_argument("--batch-size", type=int, default=4)
    sampling.add_argument("--guidance-scale", type=float, default=1.0)
    sampling.add_argument("--temperature", type=float, default=0.0)
    sampling.add_argument("--steps", type=int, default=8,
                          help="most denoising steps (default 8, as the language server)")
    sampling.add_argument("--num-iterations", type=int, default=0)
    sampling.add_argument("--seed", type=int, default=None)
    sampling.add_argument("--no-rewards", action="store_true",
                          help="do not score and rank candidates by syntax and confidence")
    add_model_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON list")


def request_params(args: argparse.Namespace) -> dict:
    return dict(max_length=args.max_length, num_samples=args.num_samples,
                batch_size=args.batch_size, guidance_scale=args.guidance_scale,
                temperature=args.temperature, steps=args.steps,
                num_iterations=args.num_iterations, seed=args.seed,
                use_rewards=not args.no_rewards, precision=args.precision, device=args.device)


def run(args: argparse.Namespace) -> int:
    from code_diffusion.engine.devices import resolve_device
    from code_diffusion.engine.types import GenerationRequest

    params = request_params(args)
    GenerationRequest(specification=args.spec, language=args.language, **params)  # validate
    text, start, end, language = _buffer(args)
    resolve_device(args.device)
    quiet_transformers()
    from code_diffusion.engine.generator import CodeGenerator

    generator = CodeGenerator(load_from_args(args))
    if args.file is None:
        result = generator.from_specification(args.spec, language, require_passing=False,
                                              **params)
    else:
        path, index = _context_of(args)
        result = generator.fill(text, start, end, language=language, specification=args.spec,
                                hole=args.hole, require_passing=False, path=path,
                                workspace=index,
                                context=None if args.no_context else ContextOptions(),
                                **params)
    if args.json:
        print(json.dumps([c.to_json() for c in result.candidates], indent=1))
        return 0
    where = f" at line {args.line}, column {args.col}" if args.file else ""
    print(f"{len(result.candidates)} candidate(s){where} ({result.kind} hole, "
          f"{result.forward_passes} forward passes, {result.elapsed_ms:.0f} ms, "
          f"model {generator.info.name}):")
    for index, candidate in enumerate(result.candidates, 1):
        problems = f" (failed: {'; '.join(candidate.problems)})" if candidate.problems else ""
        chance = ("" if candidate.problems or candidate.chance is None
                  else f"; chance {candidate.chance:.2f}")
        print(f"\n--- candidate {index}: {candidate.provenance()}{chance}{problems}")
        print(candidate.text)
    if not result.passing():
        print("note: no candidate passed the checks (see 'failed' above); try more --steps, "
              "another --temperature, or a larger --max-length", file=sys.stderr)
    return 0


def _context_of(args: argparse.Namespace) -> tuple[str, WorkspaceIndex | None]:
    """The file's name for context assembly and the index of ``--workspace`` (the file
    itself left out: its text is the buffer)."""
    if args.workspace is None:
        return args.file.name, None
    from code_diffusion.evaluation.workspace import load_workspace

    root = args.workspace.resolve()
    try:
        path = args.file.resolve().relative_to(root).as_posix()
    except ValueError:
        raise InvalidRequestError("workspace", f"--file {args.file} is not inside --workspace "
                                               f"{args.workspace}") from None
    try:
        files = load_workspace(root, exclude={path})
    except NotADirectoryError as exc:
        raise InvalidRequestError("workspace", str(exc)) from None
    index = WorkspaceIndex()
    for name, text in files.items():
        index.update(name, text)
    return path, index


def _buffer(args: argparse.Namespace) -> tuple[str, int, int | None, str | None]:
    """The file's text and the hole's offsets (checked), or an empty buffer for --spec."""
    if args.file is None:
        if not args.spec.strip():
            raise InvalidRequestError("spec", "give --spec TEXT, or --file F --line N --col M")
        return "", 0, None, args.language or "python"
    if args.line is None or args.col is None:
        raise InvalidRequestError("line", "--file needs --line N and --col M (1-based)")
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        raise InvalidRequestError("file", f"cannot read --file {args.file}: "
                                          f"{exc.strerror}") from None
    if b"\x00" in raw:
        raise InvalidRequestError("file", f"--file {args.file} looks binary (it has NUL "
                                          "bytes); give a text file")
    text = raw.decode("utf-8", errors="replace")
    start = offset_of(text, args.line, args.col, "line", "col")
    end = None
    if args.end_line is not None or args.end_col is not None:
        end = offset_of(text, args.end_line or args.line, args.end_col or 1,
                        "end-line", "end-col")
    language = args.language or ("python" if args.file.suffix in (".py", ".pyi") else None)
    return text, start, end, language


def offset_of(text: str, line: int, col: int, line_flag: str, col_flag: str) -> int:
    """The offset of 1-based ``line``/``col`` in ``text``; out of range is an error."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise InvalidRequestError(line_flag, f"--{line_flag} must be between 1 and "
                                             f"{len(lines)} for this file, got {line}")
    width = len(lines[line - 1])
    if not 1 <= col <= width + 1:
        raise InvalidRequestError(col_flag, f"--{col_flag} must be between 1 and {width + 1} "
                                            f"on line {line}, got {col}")
    return sum(len(ln) + 1 for ln in lines[: line - 1]) + col - 1

