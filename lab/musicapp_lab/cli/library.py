"""Lab commands for the library: ``evaluate library`` and ``bench library``."""

from __future__ import annotations

import argparse

from musicapp_lab.cli._out import add_force, refuse_existing


def register_evaluate(subparsers) -> None:
    """Add ``musicapp evaluate library``."""
    p = subparsers.add_parser(
        "library",
        help="identification hit rates under degradations; similarity mAP of the hash codes",
        description="Identification: excerpts of library tracks at random offsets under noise, "
        "reverb, telephone band, MP3 and tempo change; the threshold is set on held-out "
        "non-library queries (<= 1%% false positives) and checked on others. Similarity: mAP@10 "
        "of the tagger's codes vs LSH and ITQ (needs the tagger).",
    )
    p.add_argument(
        "--data",
        default="data/debian-music/extracted",
        help="folder of real music (default: data/debian-music/extracted)",
    )
    p.add_argument("--queries", type=int, default=300, help="queries per cell (default 300)")
    p.add_argument("--durations", default="3,5,10", help="excerpt seconds (default 3,5,10)")
    p.add_argument("--conditions", default=None, help="comma list (default: all)")
    p.add_argument(
        "--library-fraction",
        type=float,
        default=0.6,
        help="share of tracks put in the library (rest: non-library)",
    )
    p.add_argument("--min-seconds", type=float, default=30.0, help="ignore shorter files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cache", default="data/library_eval", help="folder for decoded audio and fingerprints cache"
    )
    p.add_argument("--part", choices=["identify", "similarity", "all"], default="all")
    p.add_argument(
        "--packages",
        default=None,
        help="similarity: only these packages (comma list), e.g. the tagger's held-out test packages",
    )
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="do not run: pool the identification results of runs made in parallel (e.g. "
        "--durations 3,5 and --durations 10) under one threshold",
    )
    add_force(p)
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from musicapp_lab.library.evaluate import main as evaluate_main

    if args.out:  # before the minutes of work (a missing folder is created)
        refuse_existing(args.out, force=args.force)
    return evaluate_main(args)


def register_bench(subparsers) -> None:
    """Add ``musicapp bench library``."""
    p = subparsers.add_parser(
        "library",
        help="Hamming top-10 over 1e6 codes, identification latency, index size, throughput",
    )
    p.add_argument("--codes", type=int, default=1_000_000, help="codes for the Hamming benchmark")
    p.add_argument("--tracks", type=int, default=1000, help="library size for the identification benchmark")
    p.add_argument(
        "--throughput-tracks", type=int, default=24, help="tracks to index for the throughput figure"
    )
    p.add_argument(
        "--data",
        default="data/debian-music/extracted",
        help="real music used where available (else generated audio)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from musicapp_lab.bench.library import main as bench_main

    return bench_main(args)
