"""Hostile and damaged audio files, made by code (no downloaded files).

Each maker writes one file into a folder and returns its path. The files reproduce the cases of
issue 14: headers that lie about the sample rate or the length, streamed FLAC, WAVs that only FFmpeg
would try, float WAVs with huge samples, truncated and damaged files.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float, sr: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    """A float32 sine tone."""
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_bytes(
    data: bytes,
    *,
    rate: int = 22050,
    channels: int = 1,
    bits: int = 16,
    fmt_tag: int = 1,
    data_size: int | None = None,
    riff_size: int | None = None,
) -> bytes:
    """A RIFF/WAVE file with a 16-byte fmt chunk; every header field can lie."""
    block = max(1, channels * bits // 8)
    declared = len(data) if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", declared & 0xFFFFFFFF) + data
    size = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", size & 0xFFFFFFFF) + body


def pcm16(samples: np.ndarray) -> bytes:
    """Little-endian 16-bit PCM bytes of float samples in [-1, 1]."""
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def wav_1hz(folder: Path, seconds_of_data: float = 2.0) -> Path:
    """An ~88 KB 16-bit WAV whose header claims a 1 Hz sample rate (issue 14 C1/H4)."""
    p = folder / "one_hz.wav"
    p.write_bytes(wav_bytes(pcm16(tone(seconds_of_data, 22050)), rate=1))
    return p


def flac_file(folder: Path, name: str = "tone.flac", seconds: float = 3.0, sr: int = 22050) -> Path:
    """A valid 16-bit mono FLAC tone."""
    p = folder / name
    sf.write(p, tone(seconds, sr), sr, format="FLAC", subtype="PCM_16")
    return p


def _patch_streaminfo(p: Path, *, rate: int | None = None, total: int | None = None) -> Path:
    raw = bytearray(p.read_bytes())
    assert raw[:4] == b"fLaC" and raw[4] & 0x7F == 0, "STREAMINFO must be the first block"
    (word,) = struct.unpack(">Q", raw[18:26])  # rate(20) channels-1(3) bps-1(5) total(36)
    if rate is not None:
        word = (word & ~(((1 << 20) - 1) << 44)) | ((rate & 0xFFFFF) << 44)
    if total is not None:
        word = (word & ~((1 << 36) - 1)) | (total & ((1 << 36) - 1))
    raw[18:26] = struct.pack(">Q", word)
    p.write_bytes(bytes(raw))
    return p


def flac_1hz(folder: Path) -> Path:
    """A FLAC whose STREAMINFO claims a 1 Hz sample rate."""
    return _patch_streaminfo(flac_file(folder, "one_hz.flac"), rate=1)


def flac_streamed(folder: Path, seconds: float = 3.0) -> Path:
    """A valid FLAC with STREAMINFO total samples 0 (as FFmpeg writes to a pipe) (C3)."""
    return _patch_streaminfo(flac_file(folder, "streamed.flac", seconds), total=0)


def flac_inflated(folder: Path) -> Path:
    """A FLAC whose STREAMINFO claims 2**36 - 1 samples (a 256 GiB decode if trusted) (C3)."""
    return _patch_streaminfo(flac_file(folder, "inflated.flac"), total=(1 << 36) - 1)


def flac_truncated(folder: Path, seconds: float = 30.0, keep: float = 0.3) -> Path:
    """A noisy FLAC cut to ``keep`` of its bytes (issue 15 item 8)."""
    p = folder / "truncated.flac"
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(int(seconds * 22050))).astype(np.float32)
    sf.write(p, y, 22050, format="FLAC", subtype="PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: int(len(raw) * keep)])
    return p


def flac_damaged_block(folder: Path, seconds: float = 10.0) -> Path:
    """A FLAC with one block of garbage in the middle (U1): most of it is recoverable."""
    p = folder / "damaged.flac"
    rng = np.random.default_rng(1)
    y = (0.3 * rng.standard_normal(int(seconds * 22050))).astype(np.float32)
    sf.write(p, y, 22050, format="FLAC", subtype="PCM_16")
    raw = bytearray(p.read_bytes())
    mid = len(raw) // 4
    raw[mid : mid + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    p.write_bytes(bytes(raw))
    return p


def wav_truncated(folder: Path, seconds: float = 4.0, keep: float = 0.5) -> Path:
    """A 16-bit WAV whose data chunk declares more bytes than the file holds."""
    p = folder / "truncated.wav"
    data = pcm16(tone(seconds, 22050))
    full = wav_bytes(data)
    p.write_bytes(full[: 44 + int(len(data) * keep)])
    return p


def wav_unknown_tag(folder: Path) -> Path:
    """A WAV with an unknown format tag and 0 bits per sample: libsndfile refuses, FFmpeg tries (C5)."""
    p = folder / "unknown_tag.wav"
    p.write_bytes(wav_bytes(pcm16(tone(1.0, 22050)), fmt_tag=0x1234, bits=0))
    return p


def wav_float_huge(folder: Path, value: float = 3e38) -> Path:
    """A 32-bit float WAV with samples near +-3e38 (C6)."""
    p = folder / "huge_float.wav"
    y = np.where(tone(2.0, 22050) >= 0, value, -value).astype(np.float32)
    sf.write(p, y, 22050, subtype="FLOAT")
    return p


def mp3_file(folder: Path, name: str = "tone.mp3", seconds: float = 8.0) -> Path:
    """An MP3 tone (libsndfile's LAME encoder)."""
    p = folder / name
    rng = np.random.default_rng(2)
    y = tone(seconds, 44100) + (0.05 * rng.standard_normal(int(seconds * 44100))).astype(np.float32)
    sf.write(p, y, 44100, format="MP3", subtype="MPEG_LAYER_III")
    return p


def mp3_damaged(folder: Path) -> Path:
    """An 8 s MP3 with garbage over ~10 % of its bytes at 30 % (U1)."""
    p = mp3_file(folder, "damaged.mp3")
    raw = bytearray(p.read_bytes())
    at, n = int(len(raw) * 0.3), len(raw) // 10
    raw[at : at + n] = np.random.default_rng(3).integers(0, 256, n, dtype=np.uint8).tobytes()
    p.write_bytes(bytes(raw))
    return p


def mp3_truncated(folder: Path, keep: float = 0.5) -> Path:
    """An 8 s MP3 cut to half its bytes."""
    p = mp3_file(folder, "truncated.mp3")
    raw = p.read_bytes()
    p.write_bytes(raw[: int(len(raw) * keep)])
    return p


def silent_wav(folder: Path, seconds: float, sr: int = 16000) -> Path:
    """A long silent 16-bit mono WAV written without holding it in memory."""
    p = folder / f"silent_{int(seconds)}s.wav"
    n = int(seconds * sr)
    with open(p, "wb") as fh:
        fh.write(wav_bytes(b"", rate=sr, data_size=2 * n, riff_size=36 + 2 * n))
        chunk = bytes(2 * sr * 60)
        left = 2 * n
        while left > 0:
            fh.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return p
