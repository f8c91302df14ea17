"""Lab commands for the chord model: ``train chords``, ``evaluate chords``, ``bench compose``."""

from __future__ import annotations

import argparse
import json
import sys


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp train chords``."""
    p = subparsers.add_parser(
        "chords", help="train the ChordGRU progression model (CPU, a few minutes)",
        description="Train ChordGRU on the music21 corpus extraction plus the curated table "
        "(resources/compose/), split by tune, keep the best validation epoch, write safetensors "
        "+ sha256.")
    p.add_argument("-o", "--output", help="weights path (default: resources/models/"
                   "chordgru.safetensors)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--log", help="also append the log to this file")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    """Train and print the log."""
    from pathlib import Path

    from musicapp.compose.model import DEFAULT_WEIGHTS
    from musicapp_lab.compose.train import train

    logf = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115

    def log(line: str) -> None:
        print(line, flush=True)
        if logf:
            logf.write(line + "\n")
            logf.flush()

    try:
        res = train(Path(args.output) if args.output else DEFAULT_WEIGHTS, epochs=args.epochs,
                    seed=args.seed, batch=args.batch, lr=args.lr, device=args.device, log=log,
                    threads=args.threads)
    finally:
        if logf:
            logf.close()
    print(json.dumps(res, indent=1))
    return 0


def register_evaluate(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp evaluate chords``."""
    p = subparsers.add_parser(
        "chords", help="perplexity vs n-gram baselines, loop statistics, constraints, "
        "conditioning effect sizes",
        description="Evaluate the shipped ChordGRU: held-out perplexity/top-1 vs unigram, bigram "
        "and interpolated trigram; generated-vs-real loop entropy and coverage; 8-gram copy "
        "rate; constraint satisfaction over N loops; conditioning effect sizes.")
    p.add_argument("--model", help="weights file (default: shipped)")
    p.add_argument("--constraint-loops", type=int, default=10000)
    p.add_argument("--condition-loops", type=int, default=1000)
    p.add_argument("--loops", type=int, default=1000, help="generated loops for the entropy, "
                   "coverage and copy figures (1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT", help="also write all figures as JSON")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    """Run the evaluation and print the table."""
    from musicapp_lab.compose.evaluate import run

    res = run(args.model, n_constraint_loops=args.constraint_loops,
              n_condition_loops=args.condition_loops, n_loops=args.loops, seed=args.seed)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1, default=float)
    return 0


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp bench compose``."""
    p = subparsers.add_parser(
        "compose", help="time an 8-chord loop + arrangement + MIDI write (target < 50 ms)",
        description="Median time of generate (8 chords, 8 candidates) + arrange + atomic MIDI "
        "write, per stage, with ratios to the 50 ms budget and to a plain mido write of the same "
        "file measured in the same process.")
    p.add_argument("--repeats", type=int, default=50)
    p.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark."""
    from musicapp_lab.bench.compose import main

    return main(repeats=args.repeats)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
