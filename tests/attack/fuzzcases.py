"""Fuzz cases shared by the hypothesis tests (short, in CI) and ``tests.attack.long_fuzz``.

Each ``*_case`` function writes one file from plain parameters; each ``check_*`` function runs
the product on it and returns an outcome name, raising ``AssertionError`` when the behaviour is
wrong (an exception other than the project's clear errors, non-finite or absurd output).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from musicapp.errors import AudioDecodeError, MusicappError
from tests.attack.hostile import pcm16, tone, wav_bytes

#: Output rate of the decode checks.
RATE = 16000


def wav_case(
    folder: Path, *, payload: int, rate: int, channels: int, bits: int, fmt_tag: int,
    data_size: int | None, riff_size: int | None, seed: int = 0,
) -> Path:  # fmt: skip
    """A WAV whose header fields are all chosen by the caller (payload bytes of a tone + noise)."""
    rng = np.random.default_rng(seed)
    data = pcm16(tone(payload / 2 / 22050 + 1e-9, 22050))[:payload]
    if len(data) < payload:
        data += rng.integers(0, 256, payload - len(data), dtype=np.uint8).tobytes()
    p = folder / "fuzz.wav"
    p.write_bytes(wav_bytes(data, rate=rate, channels=channels, bits=bits, fmt_tag=fmt_tag,
                            data_size=data_size, riff_size=riff_size))  # fmt: skip
    return p


def base_flac() -> bytes:
    """A 0.5 s mono 16-bit FLAC at 22050 Hz (the seed the FLAC cases patch)."""
    buf = io.BytesIO()
    sf.write(buf, tone(0.5, 22050), 22050, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def flac_case(
    folder: Path, base: bytes, *, rate: int, channels_m1: int, bps_m1: int, total: int,
    min_block: int, max_block: int,
) -> Path:  # fmt: skip
    """``base`` with its STREAMINFO fields replaced (every field at its full bit width)."""
    raw = bytearray(base)
    raw[8:12] = struct.pack(">HH", min_block & 0xFFFF, max_block & 0xFFFF)
    word = ((rate & 0xFFFFF) << 44) | ((channels_m1 & 7) << 41) | ((bps_m1 & 31) << 36)
    word |= total & ((1 << 36) - 1)
    raw[18:26] = struct.pack(">Q", word)
    p = folder / "fuzz.flac"
    p.write_bytes(bytes(raw))
    return p


def mutated_case(folder: Path, base: bytes, ext: str, edits: list[tuple[int, int]], cut: int | None) -> Path:
    """``base`` with bytes overwritten (``(position, value)``) and optionally cut at ``cut``."""
    raw = bytearray(base)
    for pos, value in edits:
        if raw:
            raw[pos % len(raw)] = value & 0xFF
    if cut is not None:
        raw = raw[: max(1, cut % (len(raw) + 1))]
    p = folder / f"fuzz.{ext}"
    p.write_bytes(bytes(raw))
    return p


def check_decode(path: Path) -> str:
    """Probe and decode ``path``: a clear refusal, or finite float32 audio of a plausible length."""
    from musicapp.audio import load_audio, probe

    try:
        info = probe(path)
    except AudioDecodeError as exc:
        assert str(path) in str(exc)
        return "refused"
    assert math.isfinite(info.duration_s) and info.duration_s >= 0, info
    assert 1000 <= info.sample_rate <= 768_000 and 1 <= info.channels <= 64, info
    try:
        audio = load_audio(path, sr=RATE)
    except AudioDecodeError as exc:
        assert str(path) in str(exc)
        return "undecodable"
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert np.isfinite(audio.samples).all()
    # Never more audio than the bytes could hold: 1 bit per sample at the lowest rate is generous.
    size = path.stat().st_size
    assert audio.samples.size <= max(RATE, size * 8 * RATE / 1000), (audio.samples.size, size)
    return "warned" if audio.warnings else "decoded"


#: Options whose values the CLI fuzz chooses: (command, option, is_integer).
NUMERIC_OPTIONS = [
    ("chords", "--valence", False), ("chords", "--arousal", False), ("chords", "--seed", True),
    ("chords", "--temperature", False), ("chords", "--top-p", False),
    ("chords", "--candidates", True), ("chords", "--tempo", False),
    ("chords", "--max-nondiatonic", True), ("chords", "--regenerate-from", True),
    ("record", "--seconds", False), ("record", "--rate", True), ("record", "--channels", True),
    ("analyze", "--threads", True),
]  # fmt: skip

#: Values that broke the CLI before (issue 14) plus edge cases.
NASTY_VALUES = ["nan", "NaN", "inf", "-inf", "1e999", "-1e999", "", " ", "0", "-0", "-1", "1e-320",
                "100000000", "4294967296", "0x10", "1_000", "²", "٣", "1.5", "+7", "\x00"]  # fmt: skip

#: Allowed ranges of every numeric option after parsing (``None`` for unchecked).
RANGES = {
    "valence": (-1, 1), "arousal": (-1, 1), "seed": (0, 2**32 - 1), "temperature": (0, 10),
    "top_p": (0, 1), "candidates": (1, 256), "tempo": (20, 400), "max_nondiatonic": (0, 16),
    "regenerate_from": (1, 64), "seconds": (0, 24 * 3600), "rate": (8000, 384_000),
    "channels": (1, 32), "threads": (1, 256),
}  # fmt: skip


def cli_argv(command: str, values: dict[str, str]) -> list[str]:
    """The argument list of ``command`` with the given option values (and what it needs)."""
    argv = [command]
    if command == "record":
        argv.append("take.wav")
        values = {"--seconds": "1", **values}
    if command == "chords" and "--valence" in values and "--arousal" not in values:
        values = {**values, "--arousal": "0"}
    if command == "chords" and "--arousal" in values and "--valence" not in values:
        values = {**values, "--valence": "0"}
    if command == "chords" and "--regenerate-from" in values:
        argv += ["--progression", "I V vi IV"]
    for option, value in values.items():
        argv.append(f"{option}={value}")
    if command == "analyze":
        argv.append("missing.wav")
    return argv


@functools.cache
def _parser():
    from musicapp.cli import build_parser

    return build_parser()


def check_cli_parse(argv: list[str]) -> str:
    """Parse ``argv``: a clean argparse error (exit 2) or values inside their documented ranges."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = _parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2 and "error:" in err.getvalue(), (exc.code, err.getvalue())
        return "refused"
    for name, (lo, hi) in RANGES.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        assert math.isfinite(value) and lo <= value <= hi, (name, value)
    return "accepted"


def check_chords_run(argv: list[str]) -> str:
    """Run ``musicapp chords`` in-process: exit 0, or 2 with a message; nothing else escapes."""
    from musicapp.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exc:
        assert exc.code == 2 and "error:" in err.getvalue(), (exc.code, err.getvalue())
        return "refused"
    except MusicappError as exc:  # pragma: no cover - main() catches these
        raise AssertionError(f"uncaught {exc!r}") from exc
    assert code in (0, 2), (code, err.getvalue())
    if code == 0:
        assert "nan" not in out.getvalue().lower(), out.getvalue()
    return "ran" if code == 0 else "refused"
