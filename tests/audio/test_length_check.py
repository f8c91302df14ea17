"""An MP3 cut short still declares its full length: a few seeks find where its data ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio import load_audio, probe
from musicapp.audio.length_check import readable_end_frames, shortfall_warning

SR = 44100


def _mp3(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * SR)) / SR
    noise = 0.05 * np.random.default_rng(0).standard_normal(t.size)
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t) + noise).astype(np.float32), SR,
             format="MP3", subtype="MPEG_LAYER_III")
    return path


def _cut(path: Path, keep: float) -> Path:
    raw = path.read_bytes()
    out = path.with_name(f"cut_{path.name}")
    out.write_bytes(raw[: int(len(raw) * keep)])  # as `head -c` does
    return out


def test_an_mp3_cut_in_half_is_found_about_half_as_long_as_its_header_says(tmp_path):
    cut = _cut(_mp3(tmp_path / "song.mp3", 20.0), 0.5)
    info = probe(cut)
    assert info.duration_s == pytest.approx(20.0, abs=0.1)  # the header still says 20 s
    real = readable_end_frames(info)
    assert real is not None
    decoded = load_audio(cut).duration_s  # what a full decode gets
    assert real / SR == pytest.approx(decoded, abs=1.0)
    assert shortfall_warning(info) == "the file is shorter than its header says (about 10 s of 20 s)"


def test_a_whole_mp3_gets_no_warning(tmp_path):
    info = probe(_mp3(tmp_path / "song.mp3", 12.0))
    assert readable_end_frames(info) is None and shortfall_warning(info) is None


def test_other_formats_are_left_to_probe(tmp_path):
    p = tmp_path / "song.flac"
    sf.write(p, np.zeros(SR, np.float32), SR)
    assert readable_end_frames(probe(p)) is None


def _faststart_m4a(path: Path, seconds: float) -> Path:
    """An AAC M4A with its index (moov) first, as streaming encoders write it: cut in half, it
    still opens and declares its full length."""
    import av

    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * SR)) / SR)).astype(np.float32)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("aac", rate=SR)
        stream.layout = "mono"
        for i in range(0, y.size, 1024):
            frame = av.AudioFrame.from_ndarray(y[None, i:i + 1024], format="flt", layout="mono")
            frame.sample_rate = SR
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_an_m4a_cut_in_half_is_found_too(tmp_path):
    full = _faststart_m4a(tmp_path / "song.m4a", 20.0)
    assert shortfall_warning(probe(full)) is None
    info = probe(_cut(full, 0.5))
    assert info.backend == "pyav" and info.duration_s == pytest.approx(20.0, abs=0.1)
    assert shortfall_warning(info) == "the file is shorter than its header says (about 10 s of 20 s)"
