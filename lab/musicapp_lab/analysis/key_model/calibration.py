"""Fit and check the key confidence map (``musicapp.analysis.key.CONFIDENCE_COEF``).

Reads what :mod:`.capture` recorded (the inputs of the product's key step per piece), scores
every piece with the product's key rule (``key_features`` + ``key_probabilities``: the key
choice itself is not changed here) and compares two confidences:

* **before**: the best key's softmax probability times the tonality factor (the product until
  issue 11's calibration);
* **after**: a logistic map of :func:`musicapp.analysis.key.confidence_features` (margin, how
  much chord time and how many chords, tonic-chord share and its lead over the relative key,
  first/last chord, cadences, bass on the tonic) times the same tonality factor.

Training: the beat model's POP909 excerpts and generated pieces (``data/tactus``), whole and cut
to 10 s and 20 s; song-grouped 10-fold cross-validation (all cuts of a song in one fold), ECE
on the held-out predictions with a bootstrap 95 % interval over songs. Then the map fitted on all
training pieces is checked on both development splits (``dev``, ``dev-real``). Nothing else is
read: the evaluation splits are the lead's.

Run::

    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.key_model.calibration \
        --train data/keymodel/calib_train.json --dev data/keymodel/calib_dev.json \
        --figure musicapp/analysis/key_reliability.png
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FOLDS = 10
BOOT = 1000
L2 = 1.0  # ridge on the standardised weights (not the intercept)


@dataclass
class Scored:
    """One recorded piece scored by the product's key rule."""

    split: str
    variant: str
    group: str
    correct: float
    mirex: float
    base: float  # confidence before (softmax top probability x tonality)
    tonal: float  # tonality factor (0 for a track with no key)
    x: np.ndarray | None  # confidence features (None: no key)
    seconds: float


def score_records(records: list[dict]) -> list[Scored]:
    """Run the product's key rule on recorded inputs."""
    from musicapp.analysis import key as key_mod
    from musicapp.analysis import key_report as kr
    from musicapp_lab.analysis.evalset import scoring

    out = []
    for r in records:
        c = np.asarray(r["key_chroma"], dtype=float)
        truth = {"key": r["truth"]}
        tk = (int(r["truth"][0]), r["truth"][1])
        if kr.no_key_reason(c) is not None:
            out.append(Scored(r["split"], r["variant"], r["group"], 0.0, 0.0, 0.0, 0.0, None,
                              r["seconds"]))
            continue
        tonal = float(np.clip((c.std() / c.mean() - kr.NOISE_TONALITY) / 0.3, 0.0, 1.0))
        durs = np.asarray(r["durations"], dtype=float)
        feats = key_mod.key_features(c, np.asarray(r["bass_chroma"]), r["labels"], durs)
        p = key_mod.key_probabilities(feats)
        best = int(np.argmax(p))
        key = (best % 12, key_mod.MODES[best // 12])
        x = key_mod.confidence_features(feats, p, r["labels"], durs)
        out.append(Scored(r["split"], r["variant"], r["group"], float(key == tk),
                          float(scoring.key_score(truth, key[0], key[1])),
                          float(p[best]) * tonal, tonal, x, r["seconds"]))
    return out


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = L2) -> np.ndarray:
    """Ridge logistic regression by Newton steps; returns (intercept, weights) in raw units."""
    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
    Z = np.hstack([np.ones((X.shape[0], 1)), (X - mu) / sd])
    w = np.zeros(Z.shape[1])
    reg = np.full(Z.shape[1], l2)
    reg[0] = 0.0
    for _ in range(50):
        q = 1.0 / (1.0 + np.exp(-np.clip(Z @ w, -30, 30)))
        g = Z.T @ (q - y) + reg * w
        H = (Z * (q * (1 - q))[:, None]).T @ Z + np.diag(reg) + 1e-9 * np.eye(Z.shape[1])
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = w[1:] / sd
    return np.concatenate([[w[0] - float(weights @ mu)], weights])


def predict(coef: np.ndarray, s: Scored) -> float:
    """The calibrated confidence of one scored piece (0 without a key); ``coef`` has one
    weight per CONFIDENCE_FEATURES (see :func:`_full_coef`)."""
    from musicapp.analysis.key import calibrated_confidence

    if s.x is None:
        return 0.0
    return calibrated_confidence(s.x, tuple(coef)) * s.tonal


#: Feature subsets compared (column indices of CONFIDENCE_FEATURES; None = all).
VARIANTS: dict[str, list[int] | None] = {
    "margin only (Platt)": [0],
    "margin + amount": [0, 1, 2],
    "margin + amount + agreement": [0, 1, 2, 4, 5, 6],
    "all features": None,
}


def _full_coef(coef: np.ndarray, columns: list[int] | None) -> np.ndarray:
    """Intercept + one weight per CONFIDENCE_FEATURES (0 for the features left out)."""
    from musicapp.analysis.key import CONFIDENCE_FEATURES

    if columns is None:
        return coef
    out = np.zeros(len(CONFIDENCE_FEATURES) + 1)
    out[0] = coef[0]
    out[[c + 1 for c in columns]] = coef[1:]
    return out


def _design(items: list[Scored], columns: list[int] | None) -> tuple[np.ndarray, np.ndarray]:
    keyed = [s for s in items if s.x is not None]
    X = np.array([s.x if columns is None else s.x[columns] for s in keyed])
    return X, np.array([s.correct for s in keyed])


def grouped_cv(items: list[Scored], columns: list[int] | None = None, seed: int = 0,
               l2: float = L2) -> np.ndarray:
    """Out-of-fold calibrated confidence of every item (song-grouped folds)."""
    groups = sorted({s.group for s in items})
    rng = np.random.default_rng(seed)
    fold_of = {g: i % FOLDS for i, g in enumerate(rng.permutation(groups))}
    out = np.zeros(len(items))
    for f in range(FOLDS):
        train = [s for s in items if fold_of[s.group] != f]
        coef = _full_coef(fit_logistic(*_design(train, columns), l2=l2), columns)
        for i, s in enumerate(items):
            if fold_of[s.group] == f:
                out[i] = predict(coef, s)
    return out


def ece(conf: np.ndarray, correct: np.ndarray) -> float:
    """The evaluation's ECE (10 equal-width bins)."""
    from musicapp_lab.analysis.evalset.evaluate import expected_calibration_error

    return expected_calibration_error(list(zip(conf.tolist(), correct.tolist(), strict=True)))


def boot_by_group(groups: list[str], fn, seed: int = 0) -> tuple[float, float]:
    """Bootstrap 95 % interval of ``fn(index array)`` resampling groups (songs/pieces)."""
    rng = np.random.default_rng(seed)
    uniq = sorted(set(groups))
    members = {g: [i for i, gg in enumerate(groups) if gg == g] for g in uniq}
    vals = []
    for _ in range(BOOT):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.array([i for j in pick for i in members[uniq[j]]])
        vals.append(fn(idx))
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def nll(conf: np.ndarray, correct: np.ndarray) -> float:
    """Mean negative log-likelihood of the stated confidences."""
    c = np.clip(conf, 1e-4, 1 - 1e-4)
    return float(-np.mean(correct * np.log(c) + (1 - correct) * np.log(1 - c)))


def summary(name: str, conf: np.ndarray, items: list[Scored], base: np.ndarray) -> dict:
    """ECE / NLL before and after with bootstrap intervals over songs."""
    y = np.array([s.correct for s in items])
    groups = [s.group for s in items]
    res = {
        "name": name, "n": len(items), "mirex": float(np.mean([s.mirex for s in items])),
        "accuracy": float(y.mean()),
        "ece_before": ece(base, y), "ece_after": ece(conf, y),
        "ece_before_ci": boot_by_group(groups, lambda i: ece(base[i], y[i])),
        "ece_after_ci": boot_by_group(groups, lambda i: ece(conf[i], y[i])),
        "ece_diff_ci": boot_by_group(groups, lambda i: ece(conf[i], y[i]) - ece(base[i], y[i])),
        "nll_before": nll(base, y), "nll_after": nll(conf, y),
        "mean_conf_before": float(base.mean()), "mean_conf_after": float(conf.mean()),
    }
    return res


def _fmt(r: dict) -> str:
    return (f"{r['name']:34s} n {r['n']:4d}  MIREX {r['mirex']:.3f}  acc {r['accuracy']:.3f}  "
            f"ECE {r['ece_before']:.3f} [{r['ece_before_ci'][0]:.2f}, {r['ece_before_ci'][1]:.2f}]"
            f" -> {r['ece_after']:.3f} [{r['ece_after_ci'][0]:.2f}, {r['ece_after_ci'][1]:.2f}]"
            f"  diff [{r['ece_diff_ci'][0]:+.3f}, {r['ece_diff_ci'][1]:+.3f}]  NLL "
            f"{r['nll_before']:.3f} -> {r['nll_after']:.3f}  mean conf {r['mean_conf_before']:.2f}"
            f" -> {r['mean_conf_after']:.2f}")


def reliability_figure(panels: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
                       path: Path, *, force: bool = True) -> Path:
    """Reliability diagrams, one panel per (title, before, after, correct)."""
    from musicapp_lab.analysis import reliability_plot as rp

    fig, axes = rp.figure(len(panels), (4.2, 4.4))
    for ax, (title, before, after, y) in zip(axes, panels, strict=True):
        rp.draw_panel(ax, [rp.Curve(before, y, f"before (ECE {ece(before, y):.3f})", "s:"),
                           rp.Curve(after, y, f"calibrated (ECE {ece(after, y):.3f})", "o-",
                                    counts=True)],
                      title=f"{title}\n{len(y)} pieces", xlabel="stated key confidence",
                      ylabel="share of keys exactly right", title_size=9, legend_size=7)
    return rp.save(fig, path, force=force)


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    from musicapp.analysis.key import CONFIDENCE_FEATURES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, default=Path("data/keymodel/calib_train.json"))
    ap.add_argument("--dev", type=Path, default=Path("data/keymodel/calib_dev.json"))
    ap.add_argument("--figure", type=Path, default=None)
    ap.add_argument("--l2", type=float, default=L2)
    ap.add_argument("--variant", choices=list(VARIANTS), default=None,
                    help="feature set to ship (default: the lowest training-CV ECE)")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args(argv)
    from musicapp_lab.cli._out import cli_errors, refuse_same_file

    with cli_errors():  # before the fits
        refuse_same_file({"--figure": args.figure, "--out": args.out})
    train = score_records(json.loads(args.train.read_text()))
    dev = score_records(json.loads(args.dev.read_text()))
    for s in train + dev:
        assert s.split in ("train-real", "train-gen", "dev", "dev-real"), s.split
    report: dict = {"features": list(CONFIDENCE_FEATURES), "rows": []}
    full = [i for i, s in enumerate(train) if s.variant == "full"]
    short = [i for i, s in enumerate(train) if s.variant != "full"]
    base = np.array([s.base for s in train])
    chosen, best_cv = None, None
    for vname, cols in VARIANTS.items():
        oof = grouped_cv(train, cols, l2=args.l2)
        for sub, idx in (("whole", full), ("cut 10/20 s", short)):
            r = summary(f"train CV {vname} [{sub}]", oof[idx], [train[i] for i in idx], base[idx])
            report["rows"].append(r)
            print(_fmt(r))
            if sub == "whole" and (best_cv is None or r["ece_after"] < best_cv):
                chosen, best_cv = vname, r["ece_after"]
        coef = _full_coef(fit_logistic(*_design(train, cols), l2=args.l2), cols)
        for split in ("dev-real", "dev"):
            for variant in ("full", "crop20"):
                items = [s for s in dev if s.split == split and s.variant == variant]
                after = np.array([predict(coef, s) for s in items])
                r = summary(f"  {vname}: {split} [{variant}]", after, items,
                            np.array([s.base for s in items]))
                report["rows"].append(r)
                print(_fmt(r))
    cols = VARIANTS[args.variant or chosen]
    print(f"chosen by training CV ECE (whole excerpts): {chosen}; shipped: {args.variant or chosen}")
    coef = _full_coef(fit_logistic(*_design(train, cols), l2=args.l2), cols)
    report["coef"] = coef.tolist()
    print("CONFIDENCE_COEF = (" + ", ".join(f"{c:.4f}" for c in coef) + ")")
    oof_all = grouped_cv(train, cols, l2=args.l2)
    tops = [max((oof_all[i] for i, s in enumerate(train) if s.variant == v), default=0.0)
            for v in ("full", "crop20", "crop10")]
    print(f"max stated confidence, training CV: whole {tops[0]:.3f}, 20 s {tops[1]:.3f}, "
          f"10 s {tops[2]:.3f}")
    panels = [("training, song-grouped 10-fold CV (whole excerpts)", base[full], oof_all[full],
               np.array([train[i].correct for i in full]))]
    dev_after_all, dev_before_all, dev_y_all = [], [], []
    for split in ("dev-real", "dev"):
        items = [s for s in dev if s.split == split and s.variant == "full"]
        dev_after_all += [predict(coef, s) for s in items]
        dev_before_all += [s.base for s in items]
        dev_y_all += [s.correct for s in items]
    panels.append(("development splits dev + dev-real (whole pieces)", np.array(dev_before_all),
                   np.array(dev_after_all), np.array(dev_y_all)))
    if args.figure:
        reliability_figure(panels, args.figure)
        print(f"figure -> {args.figure}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
