"""``musicapp bench pipeline``: the full analysis of one track on one core vs every usable core."""

from __future__ import annotations

import argparse


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp bench pipeline``."""
    p = subparsers.add_parser(
        "pipeline",
        help="full analysis of one track (tags, codes, V/A, key, tempo, chords): one core vs "
             "all cores, same run",
        description="Times musicapp.pipeline.analyze_path on FILE (default data/bench_3min.wav, "
        "else a rendered 3-minute track) on the one-core path (cores=1: the batch indexer's "
        "serial run and workers) and on the concurrent path (every usable core, work sharing: "
        "`musicapp analyze FILE` and the GUI's worker), alternating in one process after a "
        "warm-up; prints medians, bests, CPU seconds, the ratio, the parts timed alone, whether "
        "both results are identical and the load average before and after. Exit code 0 when "
        "the results are identical.",
    )
    p.add_argument("file", nargs="?", default=None, help="audio file (default data/bench_3min.wav)")
    p.add_argument("--repeats", type=int, default=5, help="alternating timed runs of each path")
    p.add_argument("--alternatives", action="store_true",
                   help="also time the designs not chosen: two threads without work sharing "
                        "(BLAS at one thread and at its default), serial with 2 torch threads")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from musicapp_lab.bench.pipeline import run

    return 0 if run(args.file, max(1, args.repeats), args.alternatives)["identical"] else 1
