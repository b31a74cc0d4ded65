"""``python -m code_diffusion.reliability storm|session|fuzz|exits|all``: the figures of
``docs/reliability.md``, printed as JSON (and appended to ``--out`` when given).

The storm, the session and the exits run the real server with the embedded model (or
``--model``). Every measurement needs the ``bench`` extra (psutil); ``fuzz`` also needs
hypothesis, from the ``test`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from code_diffusion import extras, measure

PROGRAM = "python -m code_diffusion.reliability"


def machine() -> dict[str, Any]:
    """Where and when the figures were made."""
    return {"date": measure.now_utc(), **measure.describe()}


def _command(args: argparse.Namespace, probe: bool) -> list[str]:
    module = "code_diffusion.reliability.probe" if probe else "code_diffusion"
    base = [sys.executable, "-m", module] + ([] if probe else ["serve"])
    return base + (["--model", args.model] if args.model else [])


def run(name: str, args: argparse.Namespace) -> dict[str, Any]:
    if name == "storm":
        from code_diffusion.reliability.storm import run_storm

        settings = {"debounceMs": args.debounce_ms} if args.debounce_ms is not None else {}
        return asyncio.run(run_storm(seconds=args.seconds, rate=args.rate, count=args.documents,
                                     command=_command(args, probe=True),
                                     configuration=settings))
    if name == "session":
        from code_diffusion.reliability.longrun import run_session

        figures = asyncio.run(run_session(requests=args.requests,
                                          sample_every=args.sample_every,
                                          command=_command(args, probe=False)))
        if not args.samples:
            figures.pop("samples")
        return figures
    if name == "fuzz":
        from code_diffusion.reliability.fuzz import run_fuzz

        return run_fuzz(args.examples, command=_command(args, probe=False),
                        random_seed=args.seed)
    from code_diffusion.reliability.exits import measure_exits

    return measure_exits(args.repeats, command=_command(args, probe=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM,
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["storm", "session", "fuzz", "exits", "all"])
    parser.add_argument("--model", metavar="DIR", help="model directory (default: embedded)")
    parser.add_argument("--seconds", type=float, default=20.0, help="storm length (20)")
    parser.add_argument("--rate", type=float, default=50.0,
                        help="storm keystrokes, each with a request, per second (50)")
    parser.add_argument("--documents", type=int, default=5, help="storm documents (5)")
    parser.add_argument("--debounce-ms", type=int, help="storm codeDiffusion.debounceMs")
    parser.add_argument("--requests", type=int, default=10_000, help="session length (10000)")
    parser.add_argument("--sample-every", type=int, default=100,
                        help="session requests between two samples (100)")
    parser.add_argument("--samples", action="store_true", help="print the session samples")
    parser.add_argument("--examples", type=int, default=1_100, help="fuzz messages (1100)")
    parser.add_argument("--seed", type=int, default=20261125, help="fuzz seed")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each exit (5)")
    parser.add_argument("--out", metavar="FILE", help="append the JSON record to FILE")
    args = parser.parse_args(argv)
    names = ["storm", "session", "fuzz", "exits"] if args.what == "all" else [args.what]
    if not extras.require(PROGRAM, "bench", ("psutil",)):
        return 2
    if "fuzz" in names and not extras.require(f"{PROGRAM} fuzz", "test", ("hypothesis",)):
        return 2
    for name in names:
        record = {"what": name, "command": " ".join([PROGRAM,
                                                     *(argv if argv is not None
                                                       else sys.argv[1:])]),
                  "machine": machine(), "figures": run(name, args)}
        text = json.dumps(record, indent=1, ensure_ascii=False)
        print(text, flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
