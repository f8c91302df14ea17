"""musicapp.analysis.key: the calibrated key confidence (evidence features, cap, logistic map)."""

from __future__ import annotations

import numpy as np

from musicapp.analysis import key as key_mod


def _inputs(chords: list[str], seconds_each: float):
    """Key inputs of a progression: C-major-ish chroma, C bass, the chords' labels/lengths."""
    chroma = np.array([5, 0, 3, 0, 4, 3, 0, 5, 0, 3, 0, 1], dtype=float)
    bass = np.zeros(12)
    bass[0] = 1.0
    return chroma, bass, chords, np.full(len(chords), seconds_each)


def _features(chords: list[str], seconds_each: float) -> tuple[np.ndarray, np.ndarray]:
    c, b, labels, durs = _inputs(chords, seconds_each)
    feats = key_mod.key_features(c, b, labels, durs)
    p = key_mod.key_probabilities(feats)
    return key_mod.confidence_features(feats, p, labels, durs), p


def test_confidence_features_measure_margin_and_amount_of_evidence():
    loop = ["C:maj", "F:maj", "G:maj", "C:maj"]
    x_long, p = _features(loop * 8, 2.0)  # 64 s, 32 chord events (repeats merge only if equal)
    x_short, _ = _features(loop * 2, 2.0)  # 16 s
    names = key_mod.CONFIDENCE_FEATURES
    assert len(x_long) == len(names)
    order = np.sort(p)[::-1]
    assert np.isclose(x_long[names.index("margin")],
                      min(np.log(order[0] / order[1]), key_mod.MARGIN_CAP))
    assert np.isclose(x_long[names.index("log_seconds")], np.log(64 / 30))
    assert x_short[names.index("log_seconds")] < 0 < x_long[names.index("log_seconds")]
    assert x_short[names.index("log_chords")] < x_long[names.index("log_chords")]
    # "N" segments are no evidence
    x_n, _ = _features(loop * 2 + ["N"] * 20, 2.0)
    assert np.isclose(x_n[names.index("log_seconds")], x_short[names.index("log_seconds")])


def test_chord_events_merge_repeats_and_drop_no_chord():
    ev = key_mod.chord_events(["C:maj", "C:maj", "N", "G:maj", "G:maj", "C:maj"],
                              np.array([1.0, 1.0, 2.0, 0.5, 0.5, 1.0]))
    assert ev == [("C:maj", 2.0), ("G:maj", 1.0), ("C:maj", 1.0)]


def test_short_clips_and_few_chords_never_get_near_certainty():
    big_margin = 12.0
    for seconds, chords, cap in ((20.0, 10, 0.91), (10.0, 5, 0.84), (60.0, 4, 0.82),
                                 (200.0, 80, key_mod.MAX_CONFIDENCE)):
        x = np.zeros(len(key_mod.CONFIDENCE_FEATURES))
        x[0] = big_margin
        x[1] = np.log(seconds / 30.0)
        x[2] = np.log((1 + chords) / 16.0)
        conf = key_mod.calibrated_confidence(x)
        assert conf <= cap + 1e-9, (seconds, chords, conf)
        assert conf < 0.99
    assert key_mod.MAX_CONFIDENCE < 0.99


def test_confidence_grows_with_margin_and_stays_a_probability():
    xs = []
    for m in (0.0, 1.0, 3.0, 6.0):
        x = np.zeros(len(key_mod.CONFIDENCE_FEATURES))
        x[0] = m
        x[1] = np.log(60 / 30.0)
        x[2] = np.log(31 / 16.0)
        xs.append(key_mod.calibrated_confidence(x))
    assert all(0.0 < v < 1.0 for v in xs)
    assert xs == sorted(xs) and xs[-1] - xs[0] > 0.3
    # a near tie between two keys is close to a coin toss, not a confident call
    assert xs[0] < 0.75
