"""The tactus chooser's fit and song-grouped cross-validation on separable data."""

from __future__ import annotations

import numpy as np
from musicapp_lab.analysis.beat_model.tactus_fit import cross_validate, fit, predict


def test_grouped_cross_validation_learns_a_separable_level():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    x = np.column_stack([y + rng.normal(0, 0.2, y.size), rng.normal(0, 1, y.size)])
    groups = np.array([f"s{i // 2}" for i in range(y.size)])  # two pieces per song
    oof = cross_validate(x, y, groups, c=1.0, folds=5)
    assert (oof == y).mean() > 0.95
    w = fit(x[y < 2], y[y < 2], 1.0)  # a level never seen is never chosen
    assert set(predict(w, x).tolist()) <= {0, 1}


def test_trees_and_rule_features():
    from musicapp_lab.analysis.beat_model.tactus_fit import fit_trees, predict_trees, with_rule

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 30)
    x = np.column_stack([y + rng.normal(0, 0.2, y.size), rng.normal(0, 1, y.size)])
    xr = with_rule(x, np.ones(y.size, dtype=int))
    assert xr.shape == (y.size, 2 + 3 + 3) and np.all(xr[:, 3] == 1.0)  # one-hot of "keep"
    assert (predict_trees(fit_trees(x, y, 0.0), x) == y).mean() > 0.95
