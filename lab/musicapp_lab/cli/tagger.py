"""Tagger commands: ``musicapp convert-musicnn`` and ``musicapp bench tagger``.

Only the standard library is imported here; torch and the models load inside the commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicapp_lab.cli._out import add_force, refuse_existing
from musicapp_lab.paths import REPO, RESOURCES

_DEFAULT_OUT = RESOURCES / "models"
_DEFAULT_REFERENCE = (
    REPO / "tests" / "models" / "data" / "musicnn_reference.npz"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``convert-musicnn``."""
    p = subparsers.add_parser(
        "convert-musicnn",
        help="convert the musicnn 0.1.0 TensorFlow checkpoints into safetensors (no TensorFlow)",
        description=(
            "Read the MSD/MTT musicnn and VGG checkpoints from the musicnn 0.1.0 wheel (get it "
            "with `pip download --no-deps musicnn==0.1.0`) or from an unpacked folder, and write "
            "musicnn_*.safetensors, their .sha256 sidecars and MUSICNN_MODEL_CARD.md. "
            "Only the checkpoint files are taken from the wheel (ISC licence, (c) Music "
            "Technology Group, UPF)."
        ),
    )
    p.add_argument("--src", required=True, type=Path, help="musicnn wheel (.whl) or a folder")
    p.add_argument(
        "--out", type=Path, default=_DEFAULT_OUT, help=f"output folder (default {_DEFAULT_OUT})"
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="NAME",
        help="subset of MSD_musicnn MTT_musicnn MSD_vgg MTT_vgg (default: all four)",
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=_DEFAULT_REFERENCE,
        help="TensorFlow reference outputs (.npz) to measure the port's parity for the model card "
        "(skipped when the file does not exist)",
    )
    add_force(p)
    p.set_defaults(func=_run_convert)

    c = subparsers.add_parser(
        "calibrate-musicnn",
        help="measure the musicnn teachers' tag-score distributions on a folder of music",
        description=(
            "Score up to --per-file evenly spread 3-s segments of every audio file under SRC "
            "with MSD_musicnn and MTT_musicnn and write the percentile tables "
            "(musicnn_calibration.safetensors) that turn raw tag probabilities into percentiles."
        ),
    )
    c.add_argument("--src", required=True, type=Path, help="folder with reference music")
    c.add_argument("--out", type=Path, default=_DEFAULT_OUT, help=f"output folder ({_DEFAULT_OUT})")
    c.add_argument("--per-file", type=int, default=8, help="segments per file (default 8)")
    c.add_argument("--min-kb", type=int, default=200,
                   help="skip files smaller than this many KiB: jingles, effects (default 200)")
    add_force(c)
    c.set_defaults(func=_run_calibrate)


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp bench tagger``."""
    p = subparsers.add_parser(
        "tagger",
        help="time the tagger engine against librosa + the ported musicnn alone",
        description=(
            "Time the full tagger engine path (decode, log-Mel, model, calibration, segments) "
            "against the reference path (librosa.load + librosa Mel + the ported MSD musicnn) "
            "on the same track in the same process, with 1 and 2 CPU threads, and print ratios."
        ),
    )
    p.add_argument("file", nargs="?", type=Path, help="audio file (default: a synthetic track)")
    p.add_argument("--seconds", type=float, default=180.0, help="synthetic track length (180)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (1 2)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per path, best kept (3)")
    p.add_argument("--device", default="cpu", help="device for the engine path (cpu)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_run_bench)


def _run_convert(args: argparse.Namespace) -> int:
    from musicapp.models.musicnn import MODEL_NAMES, WEIGHT_FILES
    from musicapp_lab.models.musicnn_convert import CARD_NAME, convert_musicnn

    names = tuple(args.models) if args.models else MODEL_NAMES
    for path in [args.out / WEIGHT_FILES[n] for n in names if n in WEIGHT_FILES] + [
            args.out / CARD_NAME]:  # (a missing --out folder is created)
        refuse_existing(path, force=args.force)
    reference = args.reference if args.reference and args.reference.exists() else None
    summary = convert_musicnn(
        args.src, args.out, tuple(args.models) if args.models else None, reference
    )
    for name, s in summary.items():
        parity = s["parity"].get("prob")
        extra = f", max |prob - TF| {parity:.1e}" if parity is not None else ""
        print(f"{name}: {args.out / s['file']} ({s['parameters']:,} parameters, "
              f"sha256 {s['sha256'][:16]}...{extra})")  # fmt: skip
    print(f"model card: {args.out / CARD_NAME}")
    return 0


def _run_calibrate(args: argparse.Namespace) -> int:
    from musicapp.models.device import configure_threads
    from musicapp_lab.models.musicnn_calibrate import CALIBRATION_FILE, build_calibration

    # the card is updated in place; a missing --out folder is created
    refuse_existing(args.out / CALIBRATION_FILE, force=args.force)
    configure_threads(1)
    path = build_calibration(args.src, args.out, per_file=args.per_file,
                             min_bytes=args.min_kb * 1024)
    print(f"calibration tables: {path}")
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from musicapp_lab.bench.tagger import main as bench_main

    return bench_main(args)
