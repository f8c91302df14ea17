"""``musicapp bench audio``: decode + resample + Mel timing against librosa in the same run."""

from __future__ import annotations

import argparse


def register_bench(subparsers) -> None:
    """Add ``bench audio``."""
    p = subparsers.add_parser(
        "audio",
        help="time decode+resample+Mel of a 3-minute MP3 and FLAC against librosa",
        description="Synthesises a 3-minute stereo 44.1 kHz track, encodes it as MP3 and FLAC, "
        "and times musicapp's decoding and Mel against librosa.load + librosa's Mel in the same "
        "process (medians of several runs), printing seconds and ratios.",
    )
    p.add_argument("--repeats", type=int, default=5, help="timed runs per path (median is shown)")
    p.add_argument("--seconds", type=float, default=180.0, help="length of the test track")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its table."""
    from musicapp_lab.bench.audio import report
    from musicapp_lab.bench.audio import run as run_bench

    print(report(run_bench(repeats=args.repeats, seconds=args.seconds)))
    return 0
