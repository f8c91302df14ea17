"""Fit the tactus level chooser (multinomial logistic regression) and compare it with the rule.

Reads the ``.npz`` of :mod:`.tactus_study`. Cross-validation is grouped by song over the
training pieces (``train-real``: POP909 training excerpts, ``train-gen``: generated
progressions); the development pieces are only scored (by a model fitted on all training
pieces). Level accuracy = share of pieces (with an annotated level among x1/2, x1, x2) whose
chosen level is the annotated one, with a bootstrap 95 % interval over pieces.

Run: ``python -m musicapp_lab.analysis.beat_model.tactus_fit data/tactus/levels.npz``. Result
(2026-11-27): no better than the product's chord-length rule on the development data, so nothing
ships (figures in the beat model's README section of the issue-11 report).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

TRAIN_SETS = ("train-real", "train-gen")
C_VALUES = (0.03, 0.1, 0.3, 1.0, 3.0)


def fit(x: np.ndarray, y: np.ndarray, c: float) -> dict[str, np.ndarray]:
    """Standardisation and multinomial logistic weights (classes 0, 1, 2 = LEVELS)."""
    from sklearn.linear_model import LogisticRegression

    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    m = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / std, y)
    coef = np.zeros((3, x.shape[1]))
    bias = np.full(3, -30.0)  # a level never seen in training is never chosen
    if m.classes_.size == 2:  # binary: one weight vector, as a two-way softmax
        (a, b), w, c0 = m.classes_, m.coef_[0] / 2, m.intercept_[0] / 2
        coef[a], bias[a], coef[b], bias[b] = -w, -c0, w, c0
    else:
        for k, cls in enumerate(m.classes_):
            coef[cls], bias[cls] = m.coef_[k], m.intercept_[k]
    return {"mean": mean, "std": std, "coef": coef, "bias": bias}


def predict(w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Chosen level index per row."""
    return np.argmax(((x - w["mean"]) / w["std"]) @ w["coef"].T + w["bias"], axis=1)


def boot(v: np.ndarray, n: int = 2000) -> tuple[float, float, float]:
    """Mean and bootstrap 95 % interval."""
    rng = np.random.default_rng(0)
    b = [v[rng.integers(0, v.size, v.size)].mean() for _ in range(n)]
    return float(v.mean()), float(np.percentile(b, 2.5)), float(np.percentile(b, 97.5))


def fit_trees(x: np.ndarray, y: np.ndarray, c: float):
    """Gradient-boosted depth-2 trees (100, learning rate 0.05; ``c`` unused)."""
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(max_depth=2, n_estimators=100, learning_rate=0.05,
                                      random_state=0).fit(x, y)


def predict_trees(m, x: np.ndarray) -> np.ndarray:
    """Chosen level index per row of a :func:`fit_trees` model."""
    return m.predict(x)


def with_rule(x: np.ndarray, rule: np.ndarray) -> np.ndarray:
    """``x`` plus the rule's decision (one-hot), log tempo squared, tempo x chord length and
    "tempo >= 115 BPM" (log_bpm and log_beats_per_chord must be columns 0 and 1)."""
    lb = x[:, :1]
    return np.hstack([x, np.eye(3)[rule], lb ** 2, lb * x[:, 1:2],
                      (lb > np.log2(1.15)).astype(float)])


def cross_validate(x: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float,
                   folds: int = 10, fitter=fit, predictor=predict) -> np.ndarray:
    """Out-of-fold predictions, folds grouped by song."""
    uniq = np.unique(groups)
    fold_of = {g: i % folds for i, g in
               enumerate(uniq[np.random.default_rng(1).permutation(uniq.size)])}
    f = np.array([fold_of[g] for g in groups])
    out = np.zeros(y.size, dtype=int)
    for k in range(folds):
        w = fitter(x[f != k], y[f != k], c)
        out[f == k] = predictor(w, x[f == k])
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: CV over C, then the dev comparison."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("levels", type=Path)
    ap.add_argument("--c", type=float, default=None, help="fix C (default: best by CV)")
    ap.add_argument("--drop", action="append", default=[], help="leave out a feature")
    ap.add_argument("--trees", action="store_true",
                    help="gradient-boosted depth-2 trees instead of the logistic regression")
    ap.add_argument("--with-rule", action="store_true",
                    help="add the rule's decision and tempo interactions as features")
    args = ap.parse_args(argv)
    from musicapp_lab.analysis.beat_model.level_features import FEATURES

    d = np.load(args.levels)
    meta = json.loads(str(d["meta"]))
    keep = [i for i, n in enumerate(FEATURES) if n not in args.drop]
    x, y, rule = d["features"][:, keep], d["label"], d["rule"]
    if args.with_rule:
        x = with_rule(x, rule)
    fitter, predictor = (fit_trees, predict_trees) if args.trees else (fit, predict)
    sets = np.array([m["set"] for m in meta])
    groups = np.array([m["set"] + ":" + m["song"] for m in meta])
    ok = y >= 0
    tr = np.isin(sets, TRAIN_SETS) & ok
    print(f"training pieces with a level: {tr.sum()} (labels {np.bincount(y[tr], minlength=3)})")
    best = None
    for c in ([args.c] if args.c else (C_VALUES[:1] if args.trees else C_VALUES)):
        oof = cross_validate(x[tr], y[tr], groups[tr], c, fitter=fitter, predictor=predictor)
        acc = (oof == y[tr]).astype(float)
        print(f"C={c:<5} CV level accuracy {boot(acc)[0]:.3f} "
              f"(real {acc[sets[tr] == 'train-real'].mean():.3f}, "
              f"gen {acc[sets[tr] == 'train-gen'].mean():.3f})")
        if best is None or acc.mean() > best[1]:
            best = (c, acc.mean(), oof)
    c, _, oof = best
    racc = (rule[tr] == y[tr]).astype(float)
    macc = (oof == y[tr]).astype(float)
    print(f"chosen C={c}; training CV: rule {racc.mean():.3f}, model {macc.mean():.3f}, "
          f"paired diff {boot(macc - racc)}")
    for s in TRAIN_SETS:
        sel = sets[tr] == s
        print(f"  {s}: rule {boot(racc[sel])}, model {boot(macc[sel])}")
    w = fitter(x[tr], y[tr], c)
    for s in sorted(set(sets) - set(TRAIN_SETS)):
        sel = (sets == s) & ok
        p = predictor(w, x[sel])
        print(f"  {s} (n={sel.sum()}): rule {boot((rule[sel] == y[sel]).astype(float))}, "
              f"model {boot((p == y[sel]).astype(float))}")
        for i in np.flatnonzero(sel)[p != y[sel]]:
            print(f"     {meta[i]['name']} true {meta[i]['truth_bpm']:.1f} grid "
                  f"{meta[i]['grid_bpm']:.1f} label {y[i]} model {p[list(np.flatnonzero(sel)).index(i)]}"
                  f" rule {rule[i]}")
    if args.trees or args.with_rule:
        return
    print("weights (standardised features):")
    for k, n in enumerate(np.array(FEATURES)[keep]):
        print(f"  {n:22s} " + " ".join(f"{w['coef'][j, k]:+.2f}" for j in range(3)))


if __name__ == "__main__":
    main()
