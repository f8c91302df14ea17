"""``musicapp bench batch``: serial against pipelined batch indexing, in one run."""

from __future__ import annotations

import argparse

from musicapp_lab.cli._out import add_force, check_out


def register_bench(subparsers) -> None:
    """Add ``bench batch``."""
    p = subparsers.add_parser(
        "batch",
        help="index N generated real-length tracks: serial path vs the batch path (tracks/min, memory)",
        description="Generates N tracks of synthesised music (OGG/FLAC, 44.1 kHz stereo), then "
        "indexes them with the full analysis into fresh databases: the serial path (one track "
        "after another in this process) and the batch path (worker processes; the tagger in the "
        "workers or batched in this process; CUDA too when present). Prints tracks/min, "
        "audio-minutes/s, the speed-up over serial and the peak RSS of the process tree at N/2 "
        "and N tracks.",
    )
    p.add_argument("--tracks", type=int, default=12, help="number of tracks (default 12)")
    p.add_argument("--seconds", type=float, default=180.0, help="length of each track (default 180)")
    p.add_argument("--workers", type=int, default=None, help="batch worker processes (default: one per core)")
    p.add_argument("--models", default="workers,parent",
                   help="batch model placements to measure, comma-separated (default workers,parent)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="patches per forward pass of the batch path's model stage (default: the "
                   "engine's, 2 on a CPU and 64 on a GPU)")
    p.add_argument("--cpu-only", action="store_true", help="skip the CUDA run even when a GPU is present")
    p.add_argument("--dir", default="data/bench_batch", help="where the tracks and databases go")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    p.add_argument("--out", default=None, help="write the figures as JSON to this file")
    p.add_argument("--real", default=None, metavar="DIR",
                   help="make the N tracks from the audio files in DIR (gain variants, re-encoded "
                   "as OGG, so every file is distinct) instead of synthesising them")
    p.add_argument("--serial-tracks", type=int, default=None, metavar="K",
                   help="time the serial path on the first K tracks only (it is slow)")
    p.add_argument("--no-serial", action="store_true", help="skip the serial path")
    p.add_argument("--no-single-file", action="store_true",
                   help="skip the single-file reference (musicapp analyze's all-core path, file by file)")
    p.add_argument("--gen-processes", type=int, default=None,
                   help="processes writing the tracks (default: one per core)")
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark."""
    from musicapp_lab.bench.batch import run as run_bench

    check_out(args.out, force=args.force)  # before the minutes of work
    return run_bench(args)
