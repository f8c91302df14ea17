"""Learned downbeat phase chooser: window chroma change and the per-phase features."""

from __future__ import annotations

import numpy as np
from musicapp_lab.analysis.beat_model.downbeat_phase import candidate_features, window_change


def _chroma(changes_every: int, n: int = 32, offset: int = 0) -> np.ndarray:
    c = np.zeros((12, n))
    for i in range(n):
        c[((i - offset) // changes_every * 5) % 12, i] = 1.0
    return c


def test_window_change_peaks_where_the_chord_changes():
    ch = window_change(_chroma(4, offset=1), 2)
    assert set(np.flatnonzero(ch > 0.9)) == set(range(1, 32, 4))  # (i - 1) // 4 steps


def test_the_bar_start_phase_has_the_largest_change_feature():
    t = _chroma(4, offset=2)  # one chord per bar, bars starting on beat 2
    row = {"cues": np.random.default_rng(0).normal(0, 0.01, (4, 32)).tolist(),
           "treble": t.tolist(), "bass": t.tolist()}
    x = candidate_features(row, 4)
    assert x.shape == (4, 8)
    assert int(np.argmax(x[:, 5])) == 2  # 4-beat treble window change
