"""Landmark fingerprint: the faster spectrogram and peak picking equal the plain forms exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.fft import rfft
from scipy.ndimage import maximum_filter, maximum_filter1d, uniform_filter1d

from musicapp.library import fingerprint as fp
from tests.library.music import song

REAL = sorted((Path(__file__).resolve().parents[2] / ".gpu_real").glob("*.ogg"))


def _spectrogram_plain(y: np.ndarray) -> np.ndarray:
    """The whitened spectrogram as first written: (frames, bins), filters along axis 0."""
    y = np.asarray(y, dtype=np.float32)
    if y.size < fp.N_FFT:
        y = np.pad(y, (0, fp.N_FFT - y.size))
    frames = np.lib.stride_tricks.sliding_window_view(y, fp.N_FFT)[:: fp.HOP]
    window = np.hanning(fp.N_FFT).astype(np.float32)
    mag = np.abs(rfft(frames * window, axis=1)).astype(np.float32)
    mag = uniform_filter1d(mag, size=fp.SMOOTH_FRAMES, axis=0, mode="nearest")
    logmag = np.log(mag + 1e-4 * (float(mag.max()) + 1e-9))
    return logmag - uniform_filter1d(logmag, size=fp.WHITEN_FRAMES, axis=0, mode="nearest")


def _find_peaks_plain(y: np.ndarray, density: int = fp.PEAKS_PER_SECOND) -> fp.Peaks:
    """Peak picking as first written: scipy's 2-D maximum filter on the (frames, bins) layout."""
    sub = _spectrogram_plain(y)[:, fp.MIN_BIN : fp.MAX_BIN + 1]
    size = (2 * fp.PEAK_TIME_NEIGHBOURS + 1, 2 * fp.PEAK_FREQ_NEIGHBOURS + 1)
    local_max = maximum_filter(sub, size=size, mode="constant", cval=-np.inf)
    t, f = np.nonzero((sub == local_max) & (sub > 0.0))
    if t.size == 0:
        return fp.Peaks(np.zeros(0, np.int32), np.zeros(0, np.int32))
    strength = sub[t, f]
    block = (t * fp.FRAME_SECONDS).astype(np.int64)
    order = np.lexsort((-strength, block))
    t, f, block = t[order], f[order], block[order]
    starts = np.r_[0, np.flatnonzero(np.diff(block)) + 1]
    rank = np.arange(t.size) - np.repeat(starts, np.diff(np.r_[starts, t.size]))
    keep = rank < density
    t, f = t[keep], f[keep] + fp.MIN_BIN
    order = np.lexsort((f, t))
    return fp.Peaks(t[order].astype(np.int32), f[order].astype(np.int32))


@pytest.mark.parametrize("size", [1, 3, 5, 7, 9, 11, 15])
def test_sliding_max_equals_scipy_maximum_filter(size):
    rng = np.random.default_rng(size)
    # few distinct values: many ties; shorter than the window on one axis too
    for shape in ((40, 33), (3, 50), (1, 1)):
        x = rng.integers(0, 5, shape).astype(np.float32) - 2.0
        for axis in (0, 1):
            ref = maximum_filter1d(x, size, axis=axis, mode="constant", cval=-np.inf)
            assert np.array_equal(fp.sliding_max(x, size, axis), ref)


def test_spectrogram_and_peaks_equal_the_plain_forms_on_generated_music():
    for seed, seconds in ((1, 20.0), (2, 7.3), (3, 0.03)):
        y = song(seed, seconds, sr=fp.SAMPLE_RATE).astype(np.float32)
        assert np.array_equal(fp.spectrogram(y), _spectrogram_plain(y))
        for density in (fp.PEAKS_PER_SECOND, fp.QUERY_PEAKS_PER_SECOND):
            new, ref = fp.find_peaks(y, density), _find_peaks_plain(y, density)
            assert len(ref) > 0 or seconds < 1
            assert np.array_equal(new.times, ref.times)
            assert np.array_equal(new.bins, ref.bins)


@pytest.mark.skipif(not REAL, reason="no real recordings in .gpu_real")
def test_peaks_equal_the_plain_form_on_a_real_recording():
    from musicapp.audio import load_audio

    y = load_audio(REAL[0], sr=fp.SAMPLE_RATE, mono=True).samples[: 60 * fp.SAMPLE_RATE]
    new, ref = fp.find_peaks(y), _find_peaks_plain(y)
    assert len(ref) > 1000
    assert np.array_equal(new.times, ref.times) and np.array_equal(new.bins, ref.bins)
