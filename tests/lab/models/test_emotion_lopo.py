"""Leave-one-package-out helpers: within-package AUC, package means, the logistic fit."""

from __future__ import annotations

import numpy as np
from musicapp_lab.models import emotion_lopo as el


def test_within_package_auc_counts_only_pairs_of_one_package() -> None:
    # package a: positives above negatives; package b: reversed; across packages b is higher
    scores = np.array([2.0, 1.0, 10.0, 11.0])
    labels = np.array([1, -1, 1, -1])
    packages = np.array(["a", "a", "b", "b"])
    assert el.within_package_auc(scores, labels, packages) == 0.5
    assert el.within_package_auc(scores[:2], labels[:2], packages[:2]) == 1.0
    # no package holds both classes: undefined
    assert np.isnan(el.within_package_auc(scores, labels, np.array(["a", "b", "c", "d"])))
    r = el.boot_within(scores, labels, packages, n_boot=50)
    assert r["pairs"] == 2 and 0.0 <= r["lo"] <= r["hi"] <= 1.0


def test_package_mean_removes_within_package_order() -> None:
    s = np.array([1.0, 3.0, 10.0])
    out = el.package_mean(s, np.array(["a", "a", "b"]))
    assert out.tolist() == [2.0, 2.0, 10.0]


def test_logistic_separates_a_separable_axis_and_shrinks_with_less_c() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = np.where(x[:, 0] > 0, 1, -1)
    w, _ = el._logistic(x, y, c=1.0)
    w_small, _ = el._logistic(x, y, c=0.01)
    assert w[0] > 0 and abs(w[0]) > abs(w[1])
    assert abs(w_small[0]) < abs(w[0])


def test_paired_difference_is_zero_for_the_same_scores() -> None:
    s = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([-1, -1, 1, 1])
    d = el.paired_diff(s, s, y, n_boot=20)
    assert d == {"diff": 0.0, "lo": 0.0, "hi": 0.0}
