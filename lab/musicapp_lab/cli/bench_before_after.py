"""``musicapp bench before-after``: user-visible timings of a base revision and the working tree."""

from __future__ import annotations

import argparse


def register_bench(subparsers) -> None:
    """Add ``bench before-after``."""
    p = subparsers.add_parser(
        "before-after",
        help="CLI analyze, GUI cold start and chords -o: a base revision vs the working tree",
        description="Checks out --base into a temporary git worktree and times the whole-process "
        "`analyze` of a 3-minute track, the GUI's cold start to a visible window and `chords -o` "
        "for both trees, alternating, in one run; prints medians and ratios.",
    )
    p.add_argument("--base", default="HEAD~1", help="git revision to compare with (default HEAD~1)")
    p.add_argument("--repeats", type=int, default=3, help="alternating runs per tree")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the comparison and print the table."""
    from musicapp_lab.bench.before_after import run as run_bench

    print(run_bench(args.base, max(1, args.repeats)))
    return 0
