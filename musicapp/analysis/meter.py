"""Meter (3/4 vs 4/4) and downbeats from beat-level harmonic change and bass onsets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MeterEstimate:
    """Beats per bar, index of the first downbeat among the beats, and a confidence."""

    beats_per_bar: int
    phase: int
    confidence: float


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


def _cos_change(c: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(c, axis=0, keepdims=True)
    u = np.where(n > 1e-12, c / np.maximum(n, 1e-12), 0.0)
    sim = np.sum(u[:, 1:] * u[:, :-1], axis=0)
    return np.concatenate([[0.0], 1.0 - sim])


def downbeat_strength(chroma: np.ndarray, bass: np.ndarray, low_onset_at_beats: np.ndarray,
                      onset_at_beats: np.ndarray) -> np.ndarray:
    """Per-beat evidence that a bar starts there (z-scored sum of several cues)."""
    hc = _cos_change(chroma)
    bc = _cos_change(bass)
    return _z(hc) + 0.7 * _z(bc) + 0.5 * _z(low_onset_at_beats) + 0.25 * _z(onset_at_beats)


def estimate_meter(strength: np.ndarray, bias_4: float = 0.05) -> MeterEstimate:
    """Choose beats per bar (3 or 4) and phase maximising on-bar minus off-bar strength."""
    m = strength.size
    if m < 6:
        return MeterEstimate(4, 0, 0.0)
    best: dict[int, tuple[float, int]] = {}
    for bpb in (3, 4):
        scores = []
        for phase in range(bpb):
            on = np.zeros(m, dtype=bool)
            on[phase::bpb] = True
            scores.append(float(strength[on].mean() - strength[~on].mean()))
        k = int(np.argmax(scores))
        best[bpb] = (scores[k], k)
    s3, s4 = best[3][0], best[4][0] + bias_4
    bpb = 4 if s4 >= s3 else 3
    margin = abs(s4 - s3)
    conf = float(np.clip(margin / 0.8, 0.0, 1.0) * np.clip(max(s3, s4) / 1.0, 0.0, 1.0))
    return MeterEstimate(bpb, best[bpb][1], conf)
