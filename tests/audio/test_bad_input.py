"""Every kind of bad input gives AudioDecodeError naming the file and the problem."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio import load_audio, probe
from musicapp.errors import AudioDecodeError
from tests.helpers.signals import stereo_test_signal, write_audio


def _expect(path, fragment, fn=load_audio):
    with pytest.raises(AudioDecodeError) as info:
        fn(path)
    msg = str(info.value)
    assert str(path) in msg
    assert fragment in msg.lower()
    return info.value


def test_missing_file(tmp_path):
    _expect(tmp_path / "nope.wav", "does not exist")


def test_directory(tmp_path):
    _expect(tmp_path, "directory")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    _expect(p, "empty")


def test_zero_length_wav(tmp_path):
    p = tmp_path / "zero.wav"
    sf.write(str(p), np.zeros(0, np.float32), 16000)
    _expect(p, "no audio")


def test_random_bytes_named_mp3(tmp_path):
    p = tmp_path / "noise.mp3"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    _expect(p, "not a recognised audio file")
    _expect(p, "not a recognised audio file", fn=probe)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    p = write_audio(tmp_path / "locked.wav", np.zeros(1000, np.float32), 8000)
    p.chmod(0)
    _expect(p, "permission denied")


def test_unreadable_file_even_as_root(tmp_path, monkeypatch):
    """os.access is what decides; simulate a file the process may not read."""
    p = write_audio(tmp_path / "locked.wav", np.zeros(1000, np.float32), 8000)
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(p) else real(path, mode))
    _expect(p, "permission denied")


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg", "m4a"])
def test_truncated_files_salvage_or_fail_clearly(tmp_path, ext):
    sr = 44100
    full = write_audio(tmp_path / f"full.{ext}", stereo_test_signal(4.0, sr), sr)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    try:
        audio = load_audio(cut)
    except AudioDecodeError as exc:  # nothing salvageable: a clear message is fine
        assert str(cut) in str(exc)
        return
    assert 0.5 < audio.duration_s < 3.5
    assert np.isfinite(audio.samples).all()


def test_truncated_flac_strict_raises(tmp_path):
    sr = 44100
    full = write_audio(tmp_path / "full.flac", stereo_test_signal(4.0, sr), sr)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    lenient = load_audio(cut)
    assert lenient.warnings and "truncated" in lenient.warnings[0]
    with pytest.raises(AudioDecodeError, match="truncated"):
        load_audio(cut, strict=True)


def test_header_only_wav(tmp_path):
    full = write_audio(tmp_path / "full.wav", np.zeros(1000, np.float32), 8000)
    p = tmp_path / "header.wav"
    p.write_bytes(full.read_bytes()[:44])
    _expect(p, "no audio")


def test_nan_and_inf_samples_are_repaired_with_warning(tmp_path):
    y = np.full(16000, 0.25, np.float32)
    y[100:110] = np.nan
    y[200] = np.inf
    p = tmp_path / "nan.wav"
    sf.write(str(p), y, 16000, subtype="FLOAT")
    audio = load_audio(p)
    assert np.isfinite(audio.samples).all()
    assert audio.samples[105] == 0.0
    assert "11 non-finite" in audio.warnings[0]
    with pytest.raises(AudioDecodeError, match="non-finite"):
        load_audio(p, strict=True)


def test_all_nan_is_refused(tmp_path):
    p = tmp_path / "allnan.wav"
    sf.write(str(p), np.full(8000, np.nan, np.float32), 16000, subtype="FLOAT")
    _expect(p, "nan")


def test_offset_past_end_and_bad_ranges(tmp_path):
    p = write_audio(tmp_path / "short.wav", np.zeros(8000, np.float32), 8000)
    _expect(p, "past the end", fn=lambda x: load_audio(x, offset=5.0))
    _expect(p, "invalid offset", fn=lambda x: load_audio(x, offset=-1))
    _expect(p, "invalid duration", fn=lambda x: load_audio(x, duration=0))


def test_error_is_a_musicapp_error(tmp_path):
    from musicapp.errors import MusicappError

    assert issubclass(AudioDecodeError, MusicappError)
