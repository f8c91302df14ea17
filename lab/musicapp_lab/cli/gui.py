"""``musicapp bench gui``: responsiveness of the desktop app (the app itself is ``musicapp gui``)."""

from __future__ import annotations

import argparse


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp bench gui``."""
    p = subparsers.add_parser(
        "gui",
        help="cold start, event-loop stalls during analysis, live fps and overflows",
        description="Measures the desktop app: cold start to a visible window (vs a bare "
        "PySide6 window; torch must not be imported), the lateness of a 10 ms QTimer while a "
        "file opens and while a full analysis runs (vs the idle window), and - with an input "
        "device - live-spectrogram frames per second at 1280x800, input overflows and stalls "
        "while recording with the feature-map model running. Exit code 0 when every target is "
        "met (< 2 s start, <= 50 ms stalls, >= 30 fps, 0 overflows).",
    )
    p.add_argument("--record-seconds", type=float, default=60.0,
                   help="length of the recording test (0 skips it)")
    p.add_argument("--track-seconds", type=float, default=30.0,
                   help="length of the generated track that is analysed")
    p.add_argument("--runs", type=int, default=3, help="cold-start runs (the median is shown)")
    p.add_argument("--speed-tracks", type=int, default=3,
                   help="3-minute tracks analysed one after the other, then the first reopened "
                        "(0 skips this part)")
    p.add_argument("--only", default=None,
                   help="comma-separated parts to run: start, stalls, speed, record (default: "
                        "all); e.g. --only speed for the GUI analysis times (later tracks: where "
                        "the time went, worker decode/analysis, IPC, GUI)")
    p.add_argument("--base", default=None, metavar="REV",
                   help="before/after in one run: the same harness on a git worktree of REV "
                        "and on this tree, alternating, in fresh processes; prints medians, "
                        "the ratio now/base and whether any figure is worse")
    p.add_argument("--stall-runs", type=int, default=2,
                   help="with --base: analyses per tree for the stall figures (0 skips them)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from musicapp.errors import MusicappError
    from musicapp_lab.bench.gui import PARTS, run

    if args.base:
        from musicapp_lab.bench.gui_compare import run as compare

        return compare(args.base, max(1, args.runs), max(0, args.stall_runs),
                       args.track_seconds, args.record_seconds)
    parts = PARTS if not args.only else tuple(p.strip() for p in args.only.split(",") if p.strip())
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise MusicappError(f"--only: unknown part(s) {', '.join(unknown)}; choose from "
                            f"{', '.join(PARTS)}")
    return run(args.record_seconds, args.track_seconds, args.runs, args.speed_tracks, parts)
