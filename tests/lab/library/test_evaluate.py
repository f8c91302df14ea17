"""Evaluation helpers: AP@k, mAP with excluded groups, LSH/ITQ shapes, threshold rule, degradations."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.library import degrade
from musicapp_lab.library.evaluate import choose_threshold, merge_identification, summarise
from musicapp_lab.library.evaluate_similarity import (
    average_precision_at_k,
    hamming_matrix,
    itq_bits,
    lsh_bits,
    map_at_k,
)

from musicapp.library.store import LibraryError


def test_average_precision():
    assert average_precision_at_k(np.array([1, 0, 1, 0]), 10, 2) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision_at_k(np.array([0, 0, 0]), 10, 3) == 0.0


def test_map_perfect_and_excludes_own_group():
    labels = np.array(["a", "a", "b", "b"])
    groups = np.array([0, 1, 2, 3])
    dist = np.array([[0, 1, 5, 5], [1, 0, 5, 5], [5, 5, 0, 1], [5, 5, 1, 0]], float)
    assert map_at_k(dist, labels, groups) == 1.0
    # Same-group items are not counted even when nearest.
    groups = np.array([0, 0, 1, 2])
    assert map_at_k(dist, labels, groups, k=10) == pytest.approx(1.0)


def test_itq_beats_lsh_on_clustered_data():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((6, 32)) * 3
    labels = np.repeat(np.arange(6), 30)
    emb = centres[labels] + rng.standard_normal((180, 32))
    groups = np.arange(180)
    lsh = map_at_k(hamming_matrix(lsh_bits(emb, 16)), labels, groups)
    itq = map_at_k(hamming_matrix(itq_bits(emb, 16)), labels, groups)
    assert itq_bits(emb, 16).shape == (180, 16)
    assert itq >= lsh - 0.05 and itq > 0.6
    d = hamming_matrix(np.array([[0, 1, 1], [1, 1, 0]]))
    assert d.tolist() == [[0, 2], [2, 0]]


def test_threshold_rule():
    scores = list(range(100))  # 0..99
    t = choose_threshold(scores, 0.01)
    assert np.mean(np.array(scores) >= t) <= 0.01 and np.mean(np.array(scores) >= t - 1) > 0.01


@pytest.mark.parametrize("seed", range(5))
def test_threshold_rule_on_real_valued_scores(seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(4.0, 1.5, size=int(rng.integers(50, 2000)))
    t = choose_threshold(scores.tolist(), 0.01, step=0.1)
    assert np.mean(scores >= t) <= 0.01
    assert np.mean(scores >= t - 0.1) > 0.01 or t == pytest.approx(0.1)  # smallest such multiple
    assert abs(t * 10 - round(t * 10)) < 1e-9


@pytest.mark.parametrize("condition", degrade.CONDITIONS)
def test_degradations_keep_length_and_change_signal(condition):
    rng = np.random.default_rng(0)
    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 8000)).astype(np.float32)
    out = degrade.apply(condition, y, 8000, rng)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    if condition.startswith("tempo"):
        rate = 1.05 if condition.endswith("+5") else 0.95
        assert out.size == pytest.approx(y.size / rate, rel=0.01)
    else:
        assert abs(out.size - y.size) < 2000  # MP3 adds encoder delay/padding
    if condition == "noise0":
        noise = out - y
        assert 10 * np.log10(np.mean(y**2) / np.mean(noise**2)) == pytest.approx(0, abs=0.1)


def _cells(rng, durations):
    cells = {}
    for d in durations:
        for cond in ("clean", "noise0"):
            lib = [(int(rng.random() < 0.9), float(rng.normal(20, 8)), 0.0, 10) for _ in range(30)]
            non = [(float(rng.normal(2, 1)), 0.0, 3) for _ in range(20)]
            cells[f"{d:g}s/{cond}"] = {
                "duration_s": d,
                "condition": cond,
                "library": lib,
                "test_nonlib": non[:10],
                "calib_nonlib": non[10:],
                "seconds": 1.0,
            }
    return cells


def test_merging_parallel_runs_equals_one_run():
    rng = np.random.default_rng(0)
    meta = {
        "library_tracks": 5,
        "library_packages": ["a"],
        "nonlib_packages": ["b"],
        "landmarks": 99,
        "nonlib_tracks": {"calibration": 2, "test": 2},
        "library_hours": 1.0,
    }
    short, long = _cells(rng, (3, 5)), _cells(rng, (10,))
    whole = summarise({**short, **long}, meta)
    merged = merge_identification([summarise(short, meta), summarise(long, meta)])
    assert merged["threshold"] == whole["threshold"]
    assert merged["cells"] == whole["cells"]
    with pytest.raises(LibraryError):
        merge_identification([summarise(short, meta), summarise(short, meta)])  # same cells twice
    with pytest.raises(LibraryError):
        merge_identification([summarise(short, meta), summarise(long, {**meta, "landmarks": 1})])
