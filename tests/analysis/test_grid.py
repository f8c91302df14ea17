"""Tempo from beat grids: exact line fits, dropped beats, tempo segments, nulls."""

from __future__ import annotations

import numpy as np

from musicapp.analysis import grid
from musicapp.analysis.grid import describe_tempo, fit_grid, theil_sen

FPS = 22050 / 512


def _quantised(bpm: float, seconds: float, start: float = 0.3) -> np.ndarray:
    t = np.arange(start, seconds, 60.0 / bpm)
    return np.round(t * FPS) / FPS  # the tracker's frame grid


def test_theil_sen_ignores_outliers():
    x = np.arange(20.0)
    y = 0.5 * x + 1.0
    y[[3, 11]] += 5.0
    slope, intercept = theil_sen(x, y)
    assert abs(slope - 0.5) < 1e-9 and abs(intercept - 1.0) < 1e-9


def test_frame_quantised_beats_give_the_tempo_to_a_tenth():
    for bpm in (170.0, 180.0, 190.0, 120.0, 140.0, 95.0):
        fit = fit_grid(_quantised(bpm, 60.0))
        assert abs(fit.bpm - bpm) < 0.1, (bpm, fit.bpm)
        # 60 / median interval is snapped to the frame grid (the old behaviour)
        assert len(fit.segments) == 1


def test_a_dropped_beat_does_not_bend_the_fit():
    b = _quantised(128.0, 40.0)
    b = np.delete(b, [10, 11, 40])
    assert abs(fit_grid(b).bpm - 128.0) < 0.1


def test_tempo_change_gives_segments_and_curve():
    first = np.arange(0.0, 30.0, 60.0 / 100.0)
    second = first[-1] + np.arange(1, 60) * 60.0 / 140.0
    fit = fit_grid(np.concatenate([first, second]))
    assert [round(s.bpm) for s in fit.segments] == [100, 140]
    assert abs(fit.segments[1].start - first[-1]) < 1.0
    assert fit.curve[0][1] < 105 and fit.curve[-1][1] > 135


def test_rubato_and_too_few_beats_give_null_tempo():
    rng = np.random.default_rng(0)
    rubato = np.cumsum(0.5 * np.exp(rng.normal(0, 0.3, 60)))
    onset = rng.random(3000)
    rep = describe_tempo(rubato, 0.8, onset, 40.0)
    assert rep.bpm is None and "steady" in rep.reason and rep.candidates == []
    rep = describe_tempo(np.array([0.5, 1.0, 1.5]), 0.8, onset, 20.0)
    assert rep.bpm is None and rep.reason and rep.confidence == 0.0
    steady = describe_tempo(_quantised(120.0, 40.0), 0.8, onset, 40.0)
    assert steady.bpm is not None and abs(steady.bpm - 120.0) < 0.1
    assert abs(sum(c["score"] for c in steady.candidates) - 1.0) < 0.01


def _best_split_plain(logibi):
    """The change-point search as first written: np.median for every split."""
    def cost(x):
        return float(np.sum(np.abs(x - np.median(x)))) if x.size else 0.0

    n = logibi.size
    whole = cost(logibi)
    best_k, best_gain = -1, 0.0
    for k in range(grid.MIN_SEGMENT_BEATS, n - grid.MIN_SEGMENT_BEATS + 1):
        gain = whole - cost(logibi[:k]) - cost(logibi[k:])
        if gain > best_gain:
            best_k, best_gain = k, gain
    return best_k, best_gain


def test_best_split_equals_the_plain_search():
    rng = np.random.default_rng(8)
    cases = [np.log(rng.choice([0.48, 0.5, 0.52], size=n)) for n in (15, 16, 17, 40, 301)]
    cases += [np.log(np.r_[np.full(200, 0.5), np.full(180, 0.44)] + rng.normal(0, 0.01, 380))]
    cases += [np.zeros(30), rng.standard_normal(999)]  # all equal (incl. log 1 = 0); no structure
    for logibi in cases:
        assert grid._best_split(logibi) == _best_split_plain(logibi)
    for x in cases:
        med = grid._running_medians(x)
        assert all(med[k - 1] == np.median(x[:k]) for k in range(1, x.size + 1))


def _tempo_curve_plain(beats, window=grid.CURVE_WINDOW):
    """The tempo curve as first written: one _fit_bpm per window."""
    b = np.asarray(beats, dtype=np.float64)
    out = []
    if b.size < 3:
        return out
    w = min(window, b.size)
    hop = max(1, w // 2)
    for start in range(0, b.size - w + 1, hop):
        seg = b[start:start + w]
        bpm, _ = grid._fit_bpm(seg)
        out.append((float(0.5 * (seg[0] + seg[-1])), float(bpm)))
    return out


def test_tempo_curve_equals_the_window_by_window_fits():
    rng = np.random.default_rng(4)
    t = np.cumsum(np.r_[0.3, np.full(300, 0.5) + rng.normal(0, 0.02, 300)])
    dropped = np.delete(t, [5, 6, 40, 41, 42, 100])  # skipped beats: numbered by the gaps
    rubato = np.cumsum(rng.uniform(0.2, 0.9, 120))
    swing = np.cumsum(np.tile([0.33, 0.17], 60))
    quantised = np.round(t * FPS) / FPS
    for beats in (t, dropped, rubato, swing, quantised, t[:3], t[:7], t[:8], t[:9], t[:12]):
        for window in (grid.CURVE_WINDOW, 5, 16):
            assert grid.tempo_curve(beats, window) == _tempo_curve_plain(beats, window)
