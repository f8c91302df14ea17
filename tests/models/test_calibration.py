"""Percentile calibration tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musicapp.models.calibration import fit_quantiles, to_percentile


def test_table_shape_and_monotonic():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((5000, 3)) * [1, 10, 0.01] + [0, 5, 0]
    q = fit_quantiles(values)
    assert q.shape == (3, 101) and q.dtype == np.float32
    assert (np.diff(q, axis=1) >= 0).all()
    np.testing.assert_allclose(q[:, 50], np.median(values, axis=0), rtol=1e-4, atol=1e-6)


def test_percentiles_of_the_reference_itself_are_uniform():
    rng = np.random.default_rng(1)
    values = rng.exponential(0.01, size=(20000, 2))  # tiny skewed scores, like musicnn moods
    q = fit_quantiles(values)
    pct = to_percentile(values, q)
    assert pct.shape == values.shape
    assert pct.min() >= 0 and pct.max() <= 100
    hist, _ = np.histogram(pct[:, 0], bins=10, range=(0, 100))
    assert np.all(np.abs(hist / len(values) - 0.1) < 0.01)
    # and fresh draws from the same distribution are uniform too
    fresh = to_percentile(rng.exponential(0.01, size=(20000, 2)), q)
    assert abs(float(np.median(fresh)) - 50) < 2


def test_interpolation_edges_ties_and_nan():
    q = np.array([np.linspace(0, 1, 101), np.full(101, 0.3)], dtype=np.float32)
    s = np.array([[0.505, 0.3], [-1.0, 0.2], [2.0, 0.4], [np.nan, 0.3]])
    pct = to_percentile(s, q)
    assert pct[0, 0] == pytest.approx(50.5, abs=1e-3)
    assert pct[0, 1] == pytest.approx(50.0)  # a constant output sits in the middle
    assert pct[1, 0] == 0 and pct[1, 1] == 0
    assert pct[2, 0] == 100 and pct[2, 1] == 100
    assert np.isnan(pct[3, 0]) and pct[3, 1] == pytest.approx(50.0)


def test_monotonic_in_the_score():
    rng = np.random.default_rng(2)
    q = fit_quantiles(rng.gamma(2.0, size=(3000, 1)))
    s = np.linspace(-1, 15, 2001)[:, None]
    pct = to_percentile(s, q)[:, 0]
    assert (np.diff(pct) >= -1e-5).all()
    assert pct[0] == 0 and pct[-1] == 100


def test_accepts_torch_and_ignores_non_finite_reference_values():
    values = torch.tensor([[0.0], [1.0], [2.0], [float("nan")], [float("inf")]])
    q = fit_quantiles(values)
    assert q[0, 0] == 0 and q[0, -1] == 2
    assert to_percentile(torch.tensor([1.0]), torch.from_numpy(q))[0] == pytest.approx(50.0)


def test_bad_shapes():
    with pytest.raises(ValueError):
        fit_quantiles(np.zeros((0, 3)))
    with pytest.raises(ValueError):
        fit_quantiles(np.full((4, 1), np.nan))
    q = fit_quantiles(np.random.default_rng(0).random((10, 3)))
    with pytest.raises(ValueError):
        to_percentile(np.zeros((2, 4)), q)
    with pytest.raises(ValueError):
        to_percentile(np.zeros(3), q[:, :1])


def test_mood_reference_from_the_weights_metadata(tmp_path):
    import torch

    from musicapp.models.calibration import mood_reference
    from musicapp.models.weights import save_state

    p = tmp_path / "h.safetensors"
    save_state(p, {"x": torch.zeros(1)}, metadata={"reference": "among 7 3-s clips of game music"})
    assert mood_reference(p) == "among 7 3-s clips of game music"
    assert mood_reference(tmp_path / "missing.safetensors").startswith("among ")
    assert mood_reference().startswith("among ")  # the shipped weights (or the generic phrase)
