"""Round trips through every supported format, ranges, rates, channels and long files."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.audio import iter_blocks, load_audio, probe
from tests.helpers.signals import ALL_FORMATS, dominant_frequency, stereo_test_signal, write_audio

LOSSLESS = {"wav", "flac", "aiff"}


@pytest.mark.parametrize("ext", ALL_FORMATS)
def test_round_trip_every_format(tmp_path, ext):
    sr = 44100 if ext != "opus" else 48000
    src = stereo_test_signal(2.0, sr)
    path = write_audio(tmp_path / f"tone.{ext}", src, sr)

    info = probe(path)
    assert info.channels == 2
    assert info.sample_rate == sr
    assert info.duration_s == pytest.approx(2.0, abs=0.1)

    stereo = load_audio(path, sr=None, mono=False)
    assert stereo.samples.dtype == np.float32
    assert stereo.samples.shape[0] == 2
    assert stereo.sample_rate == sr
    assert stereo.duration_s == pytest.approx(2.0, abs=0.1)
    mid = slice(int(0.5 * sr), int(1.5 * sr))
    assert dominant_frequency(stereo.samples[0, mid], sr) == pytest.approx(440, abs=2)
    assert dominant_frequency(stereo.samples[1, mid], sr) == pytest.approx(660, abs=2)
    if ext in LOSSLESS:
        np.testing.assert_allclose(stereo.samples, src, atol=1e-4)

    mono16 = load_audio(path, sr=16000, mono=True)
    assert mono16.samples.ndim == 1
    assert mono16.sample_rate == 16000
    assert len(mono16.samples) == pytest.approx(32000, abs=0.06 * 16000)
    spec = np.abs(np.fft.rfft(mono16.samples[8000:24000]))
    freqs = np.fft.rfftfreq(16000, 1 / 16000)
    top2 = sorted(freqs[np.argsort(spec)[-2:]])
    assert top2 == pytest.approx([440, 660], abs=2)


def test_resampled_matches_librosa_quality(tmp_path):
    import librosa

    sr = 44100
    src = stereo_test_signal(3.0, sr)
    path = write_audio(tmp_path / "x.flac", src, sr)
    ours = load_audio(path, sr=16000).samples
    ref, _ = librosa.load(path, sr=16000)
    n = min(len(ours), len(ref))
    assert abs(len(ours) - len(ref)) <= 1
    np.testing.assert_allclose(ours[:n], ref[:n], atol=2e-4)


def test_time_range(tmp_path):
    sr = 22050
    t = np.arange(4 * sr) / sr
    ramp = np.concatenate([np.full(sr, v, np.float32) for v in (0.1, 0.2, 0.3, 0.4)])
    sig = (ramp * np.sign(np.sin(2 * np.pi * 100 * t) + 1e-9)).astype(np.float32)
    path = write_audio(tmp_path / "steps.wav", sig, sr)
    part = load_audio(path, sr=None, offset=1.25, duration=1.5)
    assert part.duration_s == pytest.approx(1.5, abs=1e-3)
    assert part.offset_s == 1.25
    np.testing.assert_allclose(np.abs(part.samples[:100]).max(), 0.2, atol=1e-3)
    np.testing.assert_allclose(np.abs(part.samples[-100:]).max(), 0.3, atol=1e-3)


@pytest.mark.parametrize("ext", ["mp3", "m4a"])
def test_time_range_compressed(tmp_path, ext):
    sr = 44100
    sig = np.concatenate([np.zeros(2 * sr, np.float32), stereo_test_signal(2.0, sr)[0]])
    path = write_audio(tmp_path / f"late.{ext}", sig, sr)
    part = load_audio(path, sr=16000, offset=2.5, duration=1.0)
    assert part.duration_s == pytest.approx(1.0, abs=0.01)
    assert dominant_frequency(part.samples, 16000) == pytest.approx(440, abs=3)


def test_iter_blocks_equals_load(tmp_path):
    sr = 44100
    src = stereo_test_signal(7.3, sr)
    path = write_audio(tmp_path / "long.flac", src, sr)
    whole = load_audio(path, sr=16000).samples
    blocks = list(iter_blocks(path, sr=16000, block_seconds=2.0))
    assert all(len(b) == 32000 for b in blocks[:-1])
    np.testing.assert_allclose(np.concatenate(blocks), whole, atol=1e-6)


def test_eight_channels_and_odd_rates(tmp_path):
    for sr in (8000, 192000):
        sig = np.stack([np.full(sr, 0.1 * (c + 1), np.float32) for c in range(8)])
        path = write_audio(tmp_path / f"eight_{sr}.wav", sig, sr)
        info = probe(path)
        assert (info.channels, info.sample_rate) == (8, sr)
        multi = load_audio(path, sr=None, mono=False)
        assert multi.samples.shape == (8, sr)
        mono = load_audio(path, sr=16000)
        assert len(mono.samples) == pytest.approx(16000, abs=2)
        np.testing.assert_allclose(np.median(mono.samples), 0.45, atol=2e-3)


def test_long_file_memory_is_bounded(tmp_path):
    """A 20-minute file decodes with peak extra memory close to one output copy."""
    import tracemalloc

    sr = 16000
    minutes = 20
    path = tmp_path / "long.wav"
    import soundfile as sf

    with sf.SoundFile(str(path), "w", sr, 1, "PCM_16") as f:
        chunk = (0.1 * np.sin(np.arange(sr * 60) * 0.05)).astype(np.float32)
        for _ in range(minutes):
            f.write(chunk)
    out_bytes = sr * 60 * minutes * 4
    tracemalloc.start()
    audio = load_audio(path, sr=16000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert audio.duration_s == pytest.approx(minutes * 60, abs=0.01)
    assert peak < 1.3 * out_bytes, f"peak {peak / 1e6:.0f} MB for {out_bytes / 1e6:.0f} MB of output"
