"""``code-diffusion train``: build the corpus, train the embedded model, export it."""

from __future__ import annotations

import argparse
from pathlib import Path

from code_diffusion import extras


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="build the corpus and tokenizer, train the embedded model (resumable), export it",
        description=(
            "Builds the corpus from the standard library, the installed dependencies and the "
            "projects pinned in training/corpus_projects.txt (downloaded once into "
            "~/.cache/code-diffusion/corpus), trains the tokenizer and the masked-diffusion "
            "model on the CPU, and "
            "resumes from RUN_DIR/checkpoint.pt when it exists. Stops after --minutes; run it "
            "again to continue."
        ),
    )
    parser.add_argument("--run-dir", type=Path, default=Path("runs/embedded"),
                        help="where corpus arrays, tokenizer, checkpoint and log live")
    parser.add_argument("--size", choices=("tiny", "small", "base"), default="small")
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="wall-time budget for this invocation (default 60)")
    parser.add_argument("--total-steps", type=int, default=3200,
                        help="length of the learning-rate schedule in optimiser steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 leaves a core free for the editor and tests)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="build the corpus, tokenizer and token arrays, then stop")
    parser.add_argument("--corpus-only", action="store_true",
                        help="download the pinned corpus projects if missing, then write "
                             "docs/corpus-files.tsv and stop")
    parser.add_argument("--export", action="store_true",
                        help="after training, export the checkpoint as the embedded model")
    parser.add_argument("--export-only", action="store_true",
                        help="export RUN_DIR/checkpoint.pt without training")
    parser.add_argument("--export-dir", type=Path, default=None,
                        help="where to export (default: the package's models/embedded)")
    parser.add_argument("--max-context", type=int, default=None, metavar="TOKENS",
                        help="with --export/--export-only: the window the engine serves the "
                             "exported model with (default: --seq-len of the run; 256 halves "
                             "a full pass of a model trained at 512)")
    parser.add_argument("--docs", action="store_true",
                        help="with --export: also write docs/corpus-files.tsv and the training "
                             "curve docs/images/training-curve.png")
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=100,
                        help="held-out figures every this many steps")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--seq-len", type=int, default=256,
                        help="training window length in tokens (at most 512; the export "
                             "records it as the model's max_context)")
    parser.add_argument("--muon", action="store_true",
                        help="Muon for the encoder matrices, AdamW for the rest")
    parser.add_argument("--windows", choices=("stream", "context"), default="stream",
                        help="stream: random windows of the token stream; context: the "
                             "editor's mixture (holes laid out by the engine's canvas)")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="warm-start a fresh run from this model directory (e.g. the "
                             "package's models/embedded; its tokenizer is kept), or continue "
                             "another run's checkpoint.pt file in RUN_DIR (its step, optimiser "
                             "and random state; RUN_DIR needs that run's corpus files)")
    parser.add_argument("--copy-head", type=int, default=0, metavar="KEY_DIM",
                        help="add a copy head with this key width (a pointer distribution "
                             "over the window's tokens, gated with the vocabulary's); a warm "
                             "start, a continued checkpoint or RUN_DIR's own checkpoint "
                             "without one gets it fresh")
    parser.add_argument("--copy-share", type=float, default=0.0, metavar="P",
                        help="--windows context: the share of line holes drawn among lines "
                             "that stand verbatim ahead of the hole in the window (default 0: "
                             "lines with a snippet)")
    parser.add_argument("--shares", default="", metavar="KIND=P,...",
                        help="--windows context: change the mixture's shares, e.g. "
                             "rest_of_line=0.24,line=0.30 (kinds: line, rest_of_line, block, "
                             "draft, described; plain masking takes the rest)")
    parser.add_argument("--reveal-share", type=float, default=None, metavar="P",
                        help="--windows context: the share of holes that show part of their "
                             "true text, as the sampler's canvas is after some commits "
                             "(default: training.windows.REVEAL_SHARE)")
    parser.add_argument("--no-bf16", action="store_true",
                        help="train in float32 even where the CPU has bfloat16")


def run(args: argparse.Namespace) -> int:
    if args.docs and not extras.require("code-diffusion train --docs", "bench", ("matplotlib",)):
        return 2
    from code_diffusion.training import data, export
    from code_diffusion.training.train import TrainConfig, Trainer
    from code_diffusion.training.windows import parse_shares

    if not 0.0 <= args.copy_share <= 1.0:
        print(f"error: --copy-share must be in [0, 1], got {args.copy_share}")
        return 2
    if args.copy_share and args.windows != "context":
        print("error: --copy-share shapes the context windows; give --windows context too")
        return 2
    if args.shares and args.windows != "context":
        print("error: --shares sets the context mixture; give --windows context too")
        return 2
    if args.reveal_share is not None and not 0.0 <= args.reveal_share <= 1.0:
        print(f"error: --reveal-share must be in [0, 1], got {args.reveal_share}")
        return 2
    try:
        parse_shares(args.shares)
    except ValueError as error:
        print(f"error: --shares: {error}")
        return 2
    if args.corpus_only:
        from code_diffusion.training import corpus

        corpus.write_docs(Path("docs/corpus-files.tsv"), export.EMBEDDED_DIR / "tokenizer.json")
        return 0
    tokenizer = (args.init_from / "tokenizer.json"
                 if args.init_from and args.init_from.is_dir() else None)
    if args.prepare_only:
        data.build(args.run_dir, 4096, tokenizer_file=tokenizer)
        return 0
    if args.init_from and args.init_from.is_file() and not (args.run_dir / "train.bin").exists():
        print(f"error: {args.run_dir} has no corpus arrays; copy the corpus files of the run "
              f"that wrote {args.init_from} into it (train.bin, valid.bin, texts-*.jsonl, "
              "tokenizer.json, data_stats.json, manifest.json) so the data are the same")
        return 2
    if args.init_from and not (args.run_dir / "train.bin").exists():
        data.build(args.run_dir, 4096, tokenizer_file=tokenizer)
    if not args.export_only:
        cfg = TrainConfig(run_dir=str(args.run_dir), size=args.size, minutes=args.minutes,
                          total_steps=args.total_steps, batch_size=args.batch_size,
                          lr=args.lr, threads=args.threads, bf16=not args.no_bf16,
                          warmup_steps=args.warmup_steps, eval_every=args.eval_every,
                          checkpoint_minutes=args.checkpoint_minutes,
                          seq_len=args.seq_len, muon=args.muon, windows=args.windows,
                          init_from=str(args.init_from or ""), copy_head=args.copy_head,
                          copy_share=args.copy_share, shares=args.shares,
                          **({} if args.reveal_share is None
                             else {"reveal_share": args.reveal_share}))
        Trainer(cfg).train()
    if args.export or args.export_only:
        if not (args.run_dir / "checkpoint.pt").exists():
            print(f"error: no checkpoint in {args.run_dir}; train first (code-diffusion train)")
            return 2
        target = args.export_dir or export.EMBEDDED_DIR
        try:
            meta = export.export(args.run_dir, target, max_context=args.max_context)
        except ValueError as error:
            print(f"error: --max-context: {error}")
            return 2
        training = meta["training"]
        print(f"exported step {training['stages'][-1]['steps']} of {args.run_dir} to {target}: "
              f"{training['steps']:,} steps and {training['tokens_seen']:,} tokens in "
              f"{len(training['stages'])} stage(s)")
        if args.docs:
            _write_docs(args.run_dir)
    return 0


def _write_docs(run_dir: Path) -> None:
    """The corpus table and the training curve that docs/model-card.md shows."""
    from code_diffusion.training import data, export
    from code_diffusion.training.curve import plot_curve
    from code_diffusion.training.train import unigram_ce

    files = export.write_corpus_table(run_dir, Path("docs/corpus-files.tsv"))
    unigram = unigram_ce(data.load_tokens(run_dir, "train"), data.load_tokens(run_dir, "valid"),
                         4096)
    plot_curve(run_dir / "log.jsonl", Path("docs/images/training-curve.png"), unigram)
    print(f"wrote docs/corpus-files.tsv ({files} files) and docs/images/training-curve.png "
          f"(unigram held-out CE {unigram:.3f} nats)")
