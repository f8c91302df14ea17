"""Leave-one-package-out comparison of valence/arousal estimates on the allowed soundtracks.

Issue 16 asks for energetic-vs-calm and bright-vs-dark separation on *held-out packages*. This
module scores, on the eight allowed Debian soundtracks (weak title labels,
:mod:`musicapp_lab.models.weak_labels`), every package by models that never saw its labels:

* the **shipped** fusion (:func:`musicapp.models.va_fusion.load_model`; label-free, so its
  "held-out" score is its plain output) and the **tagger alone** (the student's own head);
* **single signal descriptors** with a sign fixed before looking (louder, denser, more
  percussive, brighter, faster = more energetic; major mode, brighter = brighter valence):
  :mod:`musicapp_lab.models.emotion_signal` plus the analysis' tempo, level and key mode;
* a label-free **signal sum** (the mean of the signed, standardised arousal descriptors; for
  valence key mode + centroid);
* two small **fitted** fusions, refitted per held-out package on the other seven: an
  L2-regularised, class-balanced logistic regression (C fixed at 1, no tuning) on 9
  standardised descriptors (5 signal + tempo + key mode + the tagger's valence and arousal),
  and the same plus 8 principal components of the student's 128-d embedding (PCA fitted on the
  training packages of each fold).

Figures: ROC-AUC by track pooled over the held-out packages (what the issue asks), and the
**within-package** ROC-AUC (only pairs of tracks of the same package count: is a package's
battle theme heard as more energetic than *its own* menu theme?). 95 % intervals from 2000
resamples of labelled tracks (seed 0). The tracks are the cached excerpts of
:mod:`musicapp_lab.models.emotion_features` (two 40-s excerpts per track).

    .venv/bin/python -m musicapp_lab.models.emotion_lopo            # prints the tables
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from musicapp.models.va_fusion import FEATURES
from musicapp_lab.models.emotion import bootstrap_auc, roc_auc
from musicapp_lab.models.emotion_fusion import AXES, Track, load_tracks, track_outputs
from musicapp_lab.models.emotion_signal import SIGNAL_FEATURES, load_signal

N_BOOT = 2000
SEED = 0
#: Signed single descriptors per axis (sign fixed a priori).
SINGLE: dict[str, tuple[tuple[str, float], ...]] = {
    "arousal": (("rms_db", 1), ("level", 1), ("flux", 1), ("onset_rate", 1), ("tempo", 1),
                ("percussive", 1), ("centroid", 1), ("chord_rate", 1)),
    "valence": (("key_major", 1), ("chord_major", 1), ("centroid", 1)),
}
#: Label-free sums of signed standardised descriptors.
SUMS: dict[str, tuple[tuple[str, float], ...]] = {
    "arousal": (("rms_db", 1), ("flux", 1), ("onset_rate", 1), ("tempo", 1), ("percussive", 1),
                ("centroid", 1)),
    "valence": (("key_major", 1), ("centroid", 1)),
}
#: Inputs of the fitted fusions (both axes).
FIT_INPUTS: tuple[str, ...] = (*SIGNAL_FEATURES, "tempo", "key_major", "tagger_valence",
                               "tagger_arousal")
N_PCA = 8
C_REG = 1.0


def feature_table(tracks: list[Track], signal: dict[tuple[str, str, int], dict[str, float]]
                  ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-track columns (duration-weighted means over excerpts): the fusion descriptors
    (:data:`FEATURES`), the signal descriptors and the mean student embedding (T, 128)."""
    cols: dict[str, list[float]] = {f: [] for f in (*FEATURES, *SIGNAL_FEATURES)}
    emb = []
    for t in tracks:
        desc = t.rows()[0]
        for i, f in enumerate(FEATURES):
            cols[f].append(float(desc[i]))
        w = np.array([a["duration_s"] for a in t.windows])
        for f in SIGNAL_FEATURES:
            v = np.array([signal.get((a["package"], a["track_key"], int(a["window"])), {})
                          .get(f, np.nan) for a in t.windows], dtype=float)
            ok = np.isfinite(v)
            cols[f].append(float(np.average(v[ok], weights=w[ok])) if ok.any() else np.nan)
        e = np.array([a.get("embedding") or [np.nan] * 128 for a in t.windows], dtype=float)
        emb.append(np.average(e, axis=0, weights=w))
    return {k: np.array(v) for k, v in cols.items()}, np.array(emb)


def within_package_auc(scores: np.ndarray, labels: np.ndarray, packages: np.ndarray) -> float:
    """ROC-AUC over pairs (positive, negative) of the same package only (NaN: no such pair)."""
    num, den = 0.0, 0
    for p in np.unique(packages):
        m = (packages == p) & (labels != 0) & np.isfinite(scores)
        pos, neg = scores[m & (labels > 0)], scores[m & (labels < 0)]
        if len(pos) and len(neg):
            d = pos[:, None] - neg[None, :]
            num += float((d > 0).sum() + 0.5 * (d == 0).sum())
            den += d.size
    return num / den if den else float("nan")


def boot_within(scores: np.ndarray, labels: np.ndarray, packages: np.ndarray,
                n_boot: int = N_BOOT, seed: int = SEED) -> dict[str, float]:
    """Within-package AUC and its 95 % interval from resampling labelled tracks."""
    keep = np.flatnonzero((labels != 0) & np.isfinite(scores))
    s, y, p = scores[keep], labels[keep], packages[keep]
    auc = within_package_auc(s, y, p)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(s), len(s))
        b = within_package_auc(s[i], y[i], p[i])
        if np.isfinite(b):
            boots.append(b)
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots else (np.nan, np.nan)
    pairs = sum(int(((p == q) & (y > 0)).sum() * ((p == q) & (y < 0)).sum())
                for q in np.unique(p))
    return {"auc": auc, "lo": float(lo), "hi": float(hi), "pairs": pairs}


def _z(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    mu, sd = np.nanmean(ref), np.nanstd(ref)
    return np.nan_to_num((x - mu) / (sd if sd > 1e-12 else 1.0))


def _logistic(x: np.ndarray, y: np.ndarray, c: float = C_REG) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression (penalty |w|^2 / (2 c)); returns (w, b)."""
    from scipy.optimize import minimize

    yy = np.where(y > 0, 1.0, -1.0)
    wt = np.where(yy > 0, 0.5 / max((yy > 0).sum(), 1), 0.5 / max((yy < 0).sum(), 1))
    n = len(yy)

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = p[:-1], p[-1]
        m = yy * (x @ w + b)
        sig = 1.0 / (1.0 + np.exp(m))
        g = -wt * sig * yy * n
        val = float(n * np.sum(wt * np.logaddexp(0.0, -m)) + w @ w / (2 * c))
        return val, np.concatenate([x.T @ g + w / c, [g.sum()]])

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    return res.x[:-1], float(res.x[-1])


def fitted_lopo(cols: dict[str, np.ndarray], emb: np.ndarray, labels: np.ndarray,
                packages: np.ndarray, n_pca: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Out-of-package scores (T,) of the logistic fusion for one axis (labels in {-1, 0, 1});
    also the weights of the model fitted on all packages (for the card)."""
    out = np.full(len(labels), np.nan)

    def design(train: np.ndarray) -> np.ndarray:
        x = np.column_stack([_z(cols[f], cols[f][train]) for f in FIT_INPUTS])
        if n_pca:
            e = np.nan_to_num(emb)
            mu = e[train].mean(axis=0)
            _, _, vt = np.linalg.svd(e[train] - mu, full_matrices=False)
            pcs = (e - mu) @ vt[:n_pca].T
            x = np.column_stack([x, pcs / np.maximum(pcs[train].std(axis=0), 1e-9)])
        return x

    for p in np.unique(packages):
        train = packages != p
        x = design(train)
        sel = train & (labels != 0)
        w, b = _logistic(x[sel], labels[sel])
        out[packages == p] = x[packages == p] @ w + b
    x = design(np.ones(len(labels), bool))
    w, b = _logistic(x[labels != 0], labels[labels != 0])
    names = [*FIT_INPUTS, *[f"pc{i + 1}" for i in range(n_pca)]]
    return out, {"weights": dict(zip(names, w.tolist(), strict=True)), "bias": b}


def evaluate(tracks: list[Track], signal: dict[tuple[str, str, int], dict[str, float]],
             shipped: np.ndarray, log: Callable[[str], None] = print,
             extra: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Every row of the comparison, both axes: pooled and within-package AUC. ``extra``: more
    label-free track scores (T, 2) by row name (e.g. the prior that still weighs the level)."""
    cols, emb = feature_table(tracks, signal)
    packages = np.array([t.package for t in tracks])
    labels = {axis: np.array([t.labels[ax] for t in tracks]) for ax, axis in enumerate(AXES)}
    allt = np.ones(len(tracks), bool)
    scores: dict[str, dict[str, np.ndarray]] = {
        "shipped fusion (prior weights)": {a: shipped[:, i] for i, a in enumerate(AXES)},
        "tagger only (student head)": {"valence": cols["tagger_valence"],
                                       "arousal": cols["tagger_arousal"]},
    }
    for name, values in (extra or {}).items():
        scores[name] = {a: values[:, i] for i, a in enumerate(AXES)}
    for axis in AXES:
        for f, sign in SINGLE[axis]:
            scores.setdefault(f"signal: {f}", {})[axis] = sign * cols[f]
        scores.setdefault("signal sum (label-free)", {})[axis] = sum(
            sign * _z(cols[f], cols[f][allt]) for f, sign in SUMS[axis])
    ship = scores["shipped fusion (prior weights)"]
    scores["diagnostic: shipped, package mean only"] = {
        a: package_mean(ship[a], packages) for a in AXES}
    fits: dict[str, Any] = {}
    for name, n_pca in (("fitted logistic: signal + tagger", 0),
                        (f"fitted logistic: signal + tagger + embedding PCA{N_PCA}", N_PCA)):
        scores[name] = {}
        for axis in AXES:
            scores[name][axis], fits[f"{name} / {axis}"] = fitted_lopo(
                cols, emb, labels[axis], packages, n_pca)
    rows: dict[str, Any] = {}
    for name, per_axis in scores.items():
        rows[name] = {}
        for axis, s in per_axis.items():
            rows[name][axis] = {
                "pooled": bootstrap_auc(s, labels[axis], n_boot=N_BOOT, seed=SEED),
                "within": boot_within(s, labels[axis], packages)}
        log(name + ": " + ", ".join(f"{a} {r['pooled']['auc']:.3f}/{r['within']['auc']:.3f}"
                                    for a, r in rows[name].items()))
    paired = {}
    for name in scores:
        if not name.startswith("shipped"):
            paired[name] = {axis: paired_diff(scores[name][axis], shipped[:, ax], labels[axis])
                            for ax, axis in enumerate(AXES) if axis in scores[name]}
    return {"rows": rows, "paired_vs_shipped": paired, "fits": fits,
            "counts": label_counts(tracks)}


def package_mean(scores: np.ndarray, packages: np.ndarray) -> np.ndarray:
    """Every track's score replaced by its package's mean score: a pooled AUC of these
    measures only the differences *between* packages."""
    out = np.empty_like(scores, dtype=float)
    for p in np.unique(packages):
        out[packages == p] = np.nanmean(scores[packages == p])
    return out


def paired_diff(a: np.ndarray, b: np.ndarray, labels: np.ndarray, n_boot: int = N_BOOT,
                seed: int = SEED) -> dict[str, float]:
    """Pooled AUC(a) - AUC(b) on the same tracks, 95 % interval from resampling tracks."""
    keep = np.flatnonzero((labels != 0) & np.isfinite(a) & np.isfinite(b))
    y = labels[keep] > 0
    d = roc_auc(a[keep], y) - roc_auc(b[keep], y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(keep), len(keep))
        v = roc_auc(a[keep][i], y[i]) - roc_auc(b[keep][i], y[i])
        if np.isfinite(v):
            boots.append(v)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"diff": float(d), "lo": float(lo), "hi": float(hi)}


def label_counts(tracks: list[Track]) -> dict[str, dict[str, int]]:
    """Per package: tracks, energetic, calm, bright, dark."""
    out: dict[str, dict[str, int]] = {}
    for t in tracks:
        c = out.setdefault(t.package, {"tracks": 0, "energetic": 0, "calm": 0, "bright": 0,
                                       "dark": 0})
        c["tracks"] += 1
        c["energetic"] += t.labels[1] == 1
        c["calm"] += t.labels[1] == -1
        c["bright"] += t.labels[0] == 1
        c["dark"] += t.labels[0] == -1
    return out


def _fmt(r: dict[str, float]) -> str:
    return f"{r['auc']:.3f} [{r['lo']:.2f}, {r['hi']:.2f}]"


def tables(res: dict[str, Any]) -> str:
    """Markdown tables: label counts per package, the LOPO comparison, paired differences."""
    lines = ["| package | tracks | energetic | calm | bright | dark |", "|---|---|---|---|---|---|"]
    tot = dict.fromkeys(("tracks", "energetic", "calm", "bright", "dark"), 0)
    for p, c in sorted(res["counts"].items()):
        lines.append(f"| {p} | " + " | ".join(str(c[k]) for k in tot) + " |")
        for k in tot:
            tot[k] += c[k]
    lines += ["| all | " + " | ".join(str(v) for v in tot.values()) + " |", "",
              "| model | arousal pooled | arousal within-package | valence pooled | "
              "valence within-package |", "|---|---|---|---|---|"]
    for name, r in res["rows"].items():
        cells = []
        for axis in ("arousal", "valence"):
            if axis in r:
                cells += [_fmt(r[axis]["pooled"]), _fmt(r[axis]["within"])]
            else:
                cells += ["-", "-"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| model - shipped (pooled AUC, paired) | arousal | valence |", "|---|---|---|"]
    for name, d in res["paired_vs_shipped"].items():
        lines.append(f"| {name} | " + " | ".join(
            f"{d[a]['diff']:+.3f} [{d[a]['lo']:+.2f}, {d[a]['hi']:+.2f}]" if a in d else "-"
            for a in ("arousal", "valence")) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Load the caches, score every row, print the tables (and save JSON next to the caches)."""
    from musicapp.models.va_fusion import load_model
    from musicapp_lab.models.dataset import REPO
    from musicapp_lab.models.emotion_features import load_all

    np.seterr(all="ignore")
    tracks = load_tracks(load_all())
    signal = load_signal()
    shipped = track_outputs(load_model(), tracks)
    # issue 16: the first prior, which still weighs the absolute level (label-free, same tables)
    from musicapp_lab.models.emotion_fusion import (
        PRIOR_WITH_LEVEL,
        TRAIN_SPLITS,
        fit_model,
        standardisation,
    )

    mean, scale = standardisation(tracks)
    tv = np.array([t.split in TRAIN_SPLITS for t in tracks])
    inf = {"valence": math.inf, "arousal": math.inf}
    with_level = track_outputs(fit_model(tracks, mean, scale, PRIOR_WITH_LEVEL, inf, tv), tracks)
    res = evaluate(tracks, signal, shipped,
                   extra={"prior with the absolute level (not level-invariant)": with_level})
    out = REPO / "data" / "va_fusion" / "lopo.json"
    out.write_text(json.dumps(res, indent=1, default=float))
    print(tables(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
