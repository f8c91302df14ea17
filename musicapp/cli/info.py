"""``musicapp info FILE...``: format, duration, sample rate and channels of audio files."""

from __future__ import annotations

import argparse
import json

from musicapp.cli._args import file_name


def register(subparsers) -> None:
    """Add the ``info`` command."""
    p = subparsers.add_parser(
        "info",
        help="show format, duration, sample rate and channels of audio files",
        description="Read the header of each audio file (any WAV, FLAC, AIFF, OGG, Opus, MP3, "
        "M4A) and print what it holds. Nothing is decoded but a few blocks; for FLAC and WAV the "
        "header is checked against the file, and a truncated file is reported with the length it "
        "really holds; an MP3 or M4A whose data ends before the length its header claims gets a "
        "warning with about how much it holds.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", type=file_name, help="audio files")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the info of each file; exit 2 if any file could not be read."""
    from dataclasses import replace

    from musicapp.audio import probe
    from musicapp.audio.length_check import shortfall_warning
    from musicapp.cli._text import shown
    from musicapp.errors import AudioDecodeError

    status = 0
    for path in args.files:
        try:
            info = probe(path)
        except AudioDecodeError as exc:
            print(f"musicapp: error: {shown(exc)}", file=__import__("sys").stderr)
            status = 2
            continue
        short = shortfall_warning(info)  # an MP3 cut short still declares its full length
        if short:
            info = replace(info, warnings=(*info.warnings, short))
        if args.json:
            print(json.dumps(info.to_dict()))
        else:
            minutes, seconds = divmod(info.duration_s, 60)
            print(
                f"{shown(info.path)}\n  format: {info.format} ({info.codec})\n"
                f"  duration: {int(minutes)}:{seconds:06.3f} ({info.duration_s:.3f} s)\n"
                f"  sample rate: {info.sample_rate} Hz\n  channels: {info.channels}"
            )
            for warning in info.warnings:
                print(f"  warning: {shown(warning)}")
    return status
