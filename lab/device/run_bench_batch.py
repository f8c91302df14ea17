"""``musicapp bench batch`` without the installed entry point (a bare GPU machine runs the lab from
the checkout with PYTHONPATH): ``python3 lab/device/run_bench_batch.py batch --tracks 240 ...``.

A file, not ``python3 -`` with a here-document: the benchmark's worker processes are spawned and
re-import the main module, which must be a real file.
"""

from __future__ import annotations

import argparse
import sys

from musicapp_lab.cli.bench_batch import register_bench


def main(argv: list[str]) -> int:
    """Parse ``argv`` as ``musicapp bench`` would and run the benchmark."""
    parser = argparse.ArgumentParser(prog="musicapp bench")
    register_bench(parser.add_subparsers(dest="target", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
