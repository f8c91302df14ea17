"""Signal descriptors: louder, denser, brighter audio gives larger values; silence gives NaN."""

from __future__ import annotations

import numpy as np
from musicapp_lab.models.emotion_signal import SIGNAL_FEATURES, signal_features

SR = 16000


def _clicks(rate_hz: float, amp: float, seconds: float = 6.0) -> np.ndarray:
    y = np.zeros(int(SR * seconds), np.float32)
    step = int(SR / rate_hz)
    burst = np.random.default_rng(0).normal(size=200).astype(np.float32) * amp
    for i in range(0, len(y) - 200, step):
        y[i:i + 200] += burst
    return y


def test_descriptors_follow_loudness_density_and_brightness() -> None:
    t = np.arange(int(SR * 6.0)) / SR
    tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sparse, dense = _clicks(1.0, 0.3), _clicks(6.0, 0.3)
    f_tone, f_sparse, f_dense = (signal_features(y, SR) for y in (tone, sparse, dense))
    assert set(f_tone) == set(SIGNAL_FEATURES)
    assert signal_features(tone * 4, SR)["rms_db"] > f_tone["rms_db"] + 11  # +12 dB
    assert f_dense["onset_rate"] > f_sparse["onset_rate"]
    assert f_dense["percussive"] > f_tone["percussive"]
    bright = (0.1 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    assert signal_features(bright, SR)["centroid"] > f_tone["centroid"] + 3  # ~3.8 octaves


def test_silence_and_too_short_give_nan() -> None:
    for y in (np.zeros(SR, np.float32), np.ones(100, np.float32),
              np.full(SR, np.nan, np.float32)):
        assert all(np.isnan(v) for v in signal_features(y, SR).values())
