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


def duration_text(header_s: float, decodable_s: float | None = None) -> str:
    """"0:40.765 (40.765 s)"; for a file whose data ends early (``decodable_s``, from
    :func:`musicapp.audio.length_check.readable_end_frames`) the header's length is only a
    claim: "0:40.8 (header says; about 0:20 decodes)"."""
    if decodable_s is None:
        minutes, seconds = divmod(header_s, 60)
        return f"{int(minutes)}:{seconds:06.3f} ({header_s:.3f} s)"
    tenths = round(header_s * 10)
    whole = round(decodable_s)
    return (f"{tenths // 600}:{(tenths % 600) / 10:04.1f} (header says; about "
            f"{whole // 60}:{whole % 60:02d} decodes)")


def run(args: argparse.Namespace) -> int:
    """Print the info of each file; exit 2 if any file could not be read."""
    from dataclasses import replace

    from musicapp.audio import probe
    from musicapp.audio.length_check import readable_end_frames, shortfall_warning
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
        # an MP3 or M4A cut short still declares its full length: the header's duration is
        # then a claim, not what plays
        real = readable_end_frames(info)
        short = shortfall_warning(info) if real is not None else None
        if short:
            info = replace(info, warnings=(*info.warnings, short))
        decodable = real / info.sample_rate if short and real is not None else None
        if args.json:
            d = info.to_dict()
            if decodable is not None:
                d["decodable_duration_s"] = round(decodable, 1)
            print(json.dumps(d))
        else:
            print(
                f"{shown(info.path)}\n  format: {info.format} ({info.codec})\n"
                f"  duration: {duration_text(info.duration_s, decodable)}\n"
                f"  sample rate: {info.sample_rate} Hz\n  channels: {info.channels}"
            )
            for warning in info.warnings:
                print(f"  warning: {shown(warning)}")
    return status
