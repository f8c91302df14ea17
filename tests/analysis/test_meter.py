"""Meter and downbeat phase from per-beat downbeat evidence."""

from __future__ import annotations

import numpy as np

from musicapp.analysis import meter


def _pattern(values: list[float], bars: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.tile(values, bars) + 0.3 * rng.standard_normal(len(values) * bars)


def test_half_bar_pattern_is_four_four():
    # chords change every two beats, a little more on beat 1: strong period 2, weak period 4
    s = _pattern([1.6, -1.0, 1.0, -1.0], 12)
    assert meter.explained_share(s, 4) > meter.explained_share(s, 3)
    m = meter.estimate_meter(s)
    assert (m.beats_per_bar, m.phase) == (4, 0)


def test_waltz_pattern_is_three_four_with_its_phase():
    s = _pattern([-0.8, 1.8, -0.8], 16, seed=1)
    m = meter.estimate_meter(s)
    assert (m.beats_per_bar, m.phase) == (3, 1)
    assert 0 < m.confidence <= 1


def test_flat_evidence_has_no_confidence():
    m = meter.estimate_meter(np.zeros(24))
    assert m.beats_per_bar == 4 and m.confidence == 0.0
    assert meter.explained_share(np.zeros(8), 4) == 0.0


def test_kick_on_one_and_three_does_not_move_the_downbeat():
    bars = 12
    n = 4 * bars
    chroma = np.zeros((12, n))
    for i in range(n):  # a new chord on beat 1 of every bar
        chroma[(i // 4 * 5) % 12, i] = 1.0
        chroma[(i // 4 * 5 + 4) % 12, i] = 0.8
    bass = chroma.copy()
    low = np.tile([1.0, 0.1, 1.3, 0.1], bars)  # kick on 1 and 3, louder on 3
    onset = np.tile([1.0, 0.5, 1.0, 0.5], bars)
    strength = meter.downbeat_strength(chroma, bass, low, onset)
    m = meter.estimate_meter(strength)
    assert (m.beats_per_bar, m.phase) == (4, 0)
