"""``musicapp record OUT.wav --seconds N`` and ``musicapp devices``."""

from __future__ import annotations

import argparse
import json
import sys

from musicapp.params import RECORDING


def register(subparsers) -> None:
    """Add the ``record`` and ``devices`` commands."""
    p = subparsers.add_parser(
        "record",
        help="record from an input device to a WAV file",
        description="Record from the default (or chosen) input device. The WAV file on disk is "
        "kept valid while recording, so an interrupted take is never lost.",
    )
    p.add_argument("output", metavar="OUT.wav", help="WAV file to write")
    p.add_argument("--seconds", type=float, required=True, help="length of the take in seconds")
    p.add_argument("--device", help="input device index or part of its name (default: system default)")
    p.add_argument("--rate", type=int, default=RECORDING.sample_rate, help="sample rate in Hz")
    p.add_argument("--channels", type=int, default=RECORDING.channels, help="number of channels")
    p.add_argument("--force", action="store_true", help="overwrite OUT.wav if it exists")
    p.set_defaults(func=run_record)

    d = subparsers.add_parser("devices", help="list audio input and output devices")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=run_devices)


def run_record(args: argparse.Namespace) -> int:
    """Record a take of ``--seconds`` and print a summary."""
    from pathlib import Path

    from musicapp.audio.recorder import Recorder
    from musicapp.errors import FileExistsRefusal

    if args.seconds <= 0:
        print("musicapp: error: --seconds must be > 0", file=sys.stderr)
        return 2
    out = Path(args.output)
    if out.exists() and not args.force:
        raise FileExistsRefusal(f"{out}: already exists; use --force to overwrite")
    rec = Recorder(
        out, device=args.device, sample_rate=args.rate, channels=args.channels, max_seconds=args.seconds
    )
    rec.start()
    print(f"recording {args.seconds:g} s from {rec.device.name!r} to {out} ...", file=sys.stderr)
    try:
        rec.wait(args.seconds + 10)
    except KeyboardInterrupt:
        print("interrupted: keeping the take so far", file=sys.stderr)
    result = rec.stop()
    print(
        f"{result.path}: {result.duration_s:.2f} s, {result.sample_rate} Hz, "
        f"{result.channels} ch, overflows: {result.overflows}"
    )
    if result.error:
        print(f"musicapp: error: {result.error}", file=sys.stderr)
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
