"""``musicapp record OUT.wav --seconds N`` and ``musicapp devices``."""

from __future__ import annotations

import argparse
import json
import sys

from musicapp.cli._args import check_output_kind, file_name, finite_float, int_range, text
from musicapp.cli._text import shown
from musicapp.params import RECORDING

#: The longest take ``record`` accepts (24 hours).
MAX_TAKE_SECONDS = 24 * 3600.0


def register(subparsers) -> None:
    """Add the ``record`` and ``devices`` commands."""
    p = subparsers.add_parser(
        "record",
        help="record from an input device to a WAV file",
        description="Record from the default (or chosen) input device. The WAV file on disk is "
        "kept valid while recording, so an interrupted take is never lost.",
    )
    p.add_argument("output", type=file_name, metavar="OUT.wav", help="WAV file to write")
    p.add_argument("--seconds", type=finite_float(0, MAX_TAKE_SECONDS, lo_open=True), required=True,
                   help="length of the take in seconds (up to 24 hours)")
    p.add_argument("--device", type=text("device"),
                   help="input device index or part of its name (default: system default)")
    p.add_argument("--rate", type=int_range(8000, 384_000), default=RECORDING.sample_rate,
                   help="sample rate in Hz, 8000..384000")
    p.add_argument("--channels", type=int_range(1, 32), default=RECORDING.channels,
                   help="number of channels, 1..32")
    p.add_argument("--force", "--overwrite", dest="force", action="store_true",
                   help="overwrite OUT.wav if it exists (--overwrite, as in the other commands)")
    p.set_defaults(func=run_record)

    d = subparsers.add_parser("devices", help="list audio input and output devices")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=run_devices)


def run_record(args: argparse.Namespace) -> int:
    """Record a take of ``--seconds`` and print a summary."""
    from pathlib import Path

    from musicapp.audio.recorder import Recorder
    from musicapp.outputs import check_output

    out = Path(args.output)
    check_output(out, overwrite=args.force, flag="--force")  # before any device is opened
    check_output_kind(args.output, "WAV", "record")
    rec = Recorder(
        out, device=args.device, sample_rate=args.rate, channels=args.channels, max_seconds=args.seconds
    )
    rec.start()
    print(f"recording {args.seconds:g} s from {rec.device.name!r} to {shown(out)} ...",
          file=sys.stderr)
    try:
        rec.wait(args.seconds + 10)
    except KeyboardInterrupt:
        print("interrupted: keeping the take so far", file=sys.stderr)
    result = rec.stop()
    print(
        f"{shown(result.path)}: {result.duration_s:.2f} s, {result.sample_rate} Hz, "
        f"{result.channels} ch, overflows: {result.overflows}"
    )
    if result.error:
        print(f"musicapp: error: {shown(result.error)}", file=sys.stderr)
        return 1
    return 0


def run_devices(args: argparse.Namespace) -> int:
    """List devices."""
    from musicapp.audio.devices import list_devices

    devices = list_devices()
    if args.json:
        print(json.dumps([d.to_dict() for d in devices], indent=1))
        return 0
    for d in devices:
        marks = ("<in " if d.is_default_input else "") + ("<out" if d.is_default_output else "")
        print(
            f"{d.index:3d} {d.name} ({d.hostapi}) in:{d.max_input_channels} "
            f"out:{d.max_output_channels} {d.default_sample_rate:.0f} Hz {marks}"
        )
    if not devices:
        print("no audio devices found")
    return 0
