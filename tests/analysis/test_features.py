"""Frame features: the buffered, chunked forms equal the plain ones exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sfft

from musicapp.analysis import features as F

REAL = sorted((Path(__file__).resolve().parents[2] / ".gpu_real").glob("*.ogg"))


def _music(seconds: float, seed: int = 0) -> np.ndarray:
    """Harmonic tones, clicks and a little noise at the analysis rate (float32)."""
    rng = np.random.default_rng(seed)
    sr = F.SAMPLE_RATE
    t = np.arange(int(seconds * sr)) / sr
    y = sum(0.2 / (h + 1) * np.sin(2 * np.pi * f * (h + 1) * t)
            for f in (110.0, 277.2, 329.6) for h in range(4))
    y = y + 0.01 * rng.standard_normal(t.size)
    y[:: sr // 2] += 0.8
    return y.astype(np.float32)


def _mel_and_rms_plain(y: np.ndarray, n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """The Mel power and RMS as first written: 2048 whole frames per step."""
    yp = np.pad(np.asarray(y, dtype=np.float32), (n_fft // 2, n_fft // 2))
    frames = sliding_window_view(yp, n_fft)[::hop]
    n = frames.shape[0]
    mel = np.empty((64, n), dtype=np.float32)
    rms = np.empty(n, dtype=np.float32)
    basis_t = F._mel_basis().T
    window = F._hann(n_fft)
    for a in range(0, n, 2048):
        spec = sfft.rfft(frames[a:a + 2048] * window, axis=1)
        power = spec.real**2 + spec.imag**2
        rms[a:a + 2048] = np.sqrt(np.mean(power, axis=1) / n_fft * 2)
        mel[:, a:a + 2048] = (power @ basis_t).T
    return mel, rms


def _to_analysis_rate_plain(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0) if y.shape[0] <= 8 and y.shape[0] < y.shape[1] else y.mean(axis=1)
    y = np.nan_to_num(y.ravel(), nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    if sample_rate != F.SAMPLE_RATE and y.size:
        from musicapp.audio import resample

        y = np.asarray(resample(y, int(sample_rate), F.SAMPLE_RATE), dtype=np.float32)
    return y


def _to_analysis_frames_plain(C: np.ndarray, factor: int) -> np.ndarray:
    if factor <= 1 or C.shape[1] < 2:
        return C
    n = (C.shape[1] - 1) * factor + 1
    pos = np.arange(n) / factor
    i0 = np.minimum(pos.astype(int), C.shape[1] - 2)
    a = (pos - i0).astype(np.float32)
    return (1 - a) * C[:, i0] + a * C[:, i0 + 1]


@pytest.mark.parametrize("seconds", [0.2, 3.0, 50.0, 97.5])  # 97.5 s: over 4096 frames
def test_mel_and_rms_equal_the_plain_form(seconds):
    y = _music(seconds, seed=int(seconds))
    mel, rms = F._mel_and_rms(y, 2048, F.HOP)
    mel0, rms0 = _mel_and_rms_plain(y, 2048, F.HOP)
    assert np.array_equal(mel, mel0)
    assert np.array_equal(rms, rms0)


def test_to_analysis_rate_equals_the_plain_form():
    y = _music(2.0)
    bad = y.copy()
    bad[[5, 50, 500]] = [np.nan, np.inf, -np.inf]
    stereo = np.stack([y, 0.5 * y])
    for samples, sr in ((y, F.SAMPLE_RATE), (bad, F.SAMPLE_RATE), (stereo, F.SAMPLE_RATE),
                        (stereo.T, 44100), (y.astype(np.float64), 16000)):
        out = F.to_analysis_rate(samples, sr)
        assert out.dtype == np.float32
        assert np.array_equal(out, _to_analysis_rate_plain(samples, sr))
    out = F.to_analysis_rate(y, F.SAMPLE_RATE)
    out[0] = 7.0  # a copy: the caller's samples are never changed
    assert y[0] != 7.0


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_to_analysis_frames_equals_the_plain_form(factor):
    rng = np.random.default_rng(factor)
    for cols in (1, 2, 3, 400):
        C = rng.random((12, cols), dtype=np.float32)
        out, ref = F._to_analysis_frames(C, factor), _to_analysis_frames_plain(C, factor)
        assert np.array_equal(out, ref)
        # the same memory layout: later sums over the frames run in memory order
        assert out.strides == ref.strides


def _semitone_spectrum_plain(y: np.ndarray, n_frames: int) -> tuple[np.ndarray, float]:
    """The semitone spectrum with the gathered interpolation of the first form."""
    import librosa

    from musicapp.analysis.cqt import cqt_magnitude

    n_bins = F.N_SEMITONES * F.BINS_PER_SEMITONE
    fmin = librosa.midi_to_hz(F.MIDI_LOW - 1.0 / F.BINS_PER_SEMITONE)
    y_half = librosa.resample(y, orig_sr=F.SAMPLE_RATE, target_sr=F.CQT_RATE, res_type="soxr_hq")
    C = cqt_magnitude(y_half, F.CQT_RATE, F.CQT_HOP, fmin, n_bins, 12 * F.BINS_PER_SEMITONE)
    C = _to_analysis_frames_plain(C, F.CQT_HOP * F.SAMPLE_RATE // (F.CQT_RATE * F.HOP))
    C = C[:, :n_frames]
    if C.shape[1] < n_frames:
        C = np.pad(C, ((0, 0), (0, n_frames - C.shape[1])))
    energy = (C**2).reshape(F.N_SEMITONES, F.BINS_PER_SEMITONE, -1).sum(axis=(0, 2))
    phase = np.angle(np.sum(energy * np.exp(2j * np.pi * (np.arange(3) - 1) / 3)))
    tuning = float(phase / (2 * np.pi))
    idx = np.arange(n_bins, dtype=np.float64) + tuning * F.BINS_PER_SEMITONE
    i0 = np.clip(np.floor(idx).astype(int), 0, n_bins - 1)
    i1 = np.clip(i0 + 1, 0, n_bins - 1)
    a = (idx - np.floor(idx)).astype(np.float32)[:, None]
    Cs = ((1 - a) * C[i0] + a * C[i1]).reshape(F.N_SEMITONES, F.BINS_PER_SEMITONE, -1)
    semis = 0.25 * Cs[:, 0] + 0.5 * Cs[:, 1] + 0.25 * Cs[:, 2]
    return semis.astype(np.float32), tuning


@pytest.mark.parametrize("seconds", [1.5, 40.0])
def test_semitone_spectrum_equals_the_plain_form(seconds):
    y = _music(seconds, seed=7)
    n_frames = F._mel_and_rms(y, 2048, F.HOP)[1].size
    semis, tuning = F._semitone_spectrum(y, n_frames)
    semis0, tuning0 = _semitone_spectrum_plain(y, n_frames)
    assert tuning == tuning0
    assert np.array_equal(semis, semis0)


@pytest.mark.skipif(not REAL, reason="no real recordings in .gpu_real")
def test_mel_and_rms_equal_the_plain_form_on_a_real_recording():
    from musicapp.audio import load_audio

    y = load_audio(REAL[-1], sr=F.SAMPLE_RATE, mono=True).samples
    y = F.to_analysis_rate(y, F.SAMPLE_RATE)
    mel, rms = F._mel_and_rms(y, 2048, F.HOP)
    mel0, rms0 = _mel_and_rms_plain(y, 2048, F.HOP)
    assert np.array_equal(mel, mel0) and np.array_equal(rms, rms0)
    semis, tuning = F._semitone_spectrum(y, rms.size)
    semis0, tuning0 = _semitone_spectrum_plain(y, rms.size)
    assert tuning == tuning0 and np.array_equal(semis, semis0)
