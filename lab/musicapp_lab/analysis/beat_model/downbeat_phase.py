"""A learned downbeat phase chooser (pairwise logistic regression) against the product's cues.

Reads the cues of :mod:`.downbeat_study` (with the beat chroma). The product decides the meter;
for each candidate phase of it, every per-beat cue (the four product cues plus harmonic and
bass-chroma change between 2- and 4-beat windows, each z-scored within the piece) is averaged
on the candidate's bar starts minus elsewhere, and a linear score picks the phase. Weights:
logistic regression on differences between the best phase and clearly worse ones, fitted on the
training pieces (``train-real``, ``train-gen``) with 10-fold CV; the development pieces are only
scored. Prints downbeat F (mean over pieces, bootstrap 95 %) against the product's choice.

Run: ``python -m musicapp_lab.analysis.beat_model.downbeat_phase data/tactus/downbeats_chroma.json``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

TRAIN_SETS = ("train-real", "train-gen")
WEIGHTS = (1.0, 0.7, 0.0, 0.25)  # the product's CUE_WEIGHTS when the study ran


def _cos_dist(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(1.0 - a @ b / max(na * nb, 1e-9))


def window_change(c: np.ndarray, k: int) -> np.ndarray:
    """Cosine distance between the mean chroma of the ``k`` beats before and from each beat."""
    n = c.shape[1]
    cs = np.concatenate([np.zeros((c.shape[0], 1)), np.cumsum(c, axis=1)], axis=1)
    out = np.zeros(n)
    for i in range(1, n):
        a0, b1 = max(0, i - k), min(n, i + k)
        out[i] = _cos_dist((cs[:, i] - cs[:, a0]) / (i - a0), (cs[:, b1] - cs[:, i]) / (b1 - i))
    return out


def candidate_features(row: dict, beats_per_bar: int) -> np.ndarray:
    """(phases, 8) on-bar minus off-bar means of the z-scored per-beat cues."""
    from musicapp.analysis import meter

    c, t, b = (np.array(row[k], dtype=float) for k in ("cues", "treble", "bass"))
    per_beat = np.stack([meter._z(f) for f in (*c[:4], window_change(t, 2), window_change(t, 4),
                                               window_change(b, 2), window_change(b, 4))])
    n = per_beat.shape[1]
    out = []
    for p in range(beats_per_bar):
        on = np.zeros(n, dtype=bool)
        on[p::beats_per_bar] = True
        out.append(per_beat[:, on].mean(axis=1) - per_beat[:, ~on].mean(axis=1))
    return np.array(out)


def prepare(rows: list[dict]) -> list[dict | None]:
    """Per piece: candidate features, downbeat F of each phase, the product's phase."""
    from musicapp.analysis import meter
    from musicapp_lab.analysis.evalset import scoring

    out: list[dict | None] = []
    for r in rows:
        b = np.array(r["beats"])
        if b.size < 8:
            out.append(None)
            continue
        s = sum(w * meter._z(np.array(x)) for w, x in zip(WEIGHTS, r["cues"][:4], strict=True))
        m = meter.estimate_meter(np.asarray(s, dtype=float))
        fs = np.array([scoring.beat_f(r["downbeats"], b[p::m.beats_per_bar].tolist())
                       for p in range(m.beats_per_bar)])
        out.append({"X": candidate_features(r, m.beats_per_bar), "fs": fs, "cur": m.phase})
    return out


def fit(data: list[dict | None], idx: np.ndarray, c: float) -> np.ndarray:
    """Linear phase weights from pairwise differences (best phase vs clearly worse ones)."""
    from sklearn.linear_model import LogisticRegression

    xs, ys = [], []
    for i in idx:
        d = data[i]
        if d is None or d["fs"].max() < 0.6:
            continue
        p = int(np.argmax(d["fs"]))
        for q in range(d["X"].shape[0]):
            if d["fs"][q] < d["fs"][p] - 0.2:
                xs += [d["X"][p] - d["X"][q], d["X"][q] - d["X"][p]]
                ys += [1, 0]
    m = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(np.array(xs), ys)
    return m.coef_[0]


def chosen_f(data: list[dict | None], idx: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Downbeat F per piece with weights ``w`` (None: the product's phase)."""
    out = []
    for i in idx:
        d = data[i]
        if d is None:
            out.append(0.0)
        else:
            out.append(d["fs"][d["cur"] if w is None else int(np.argmax(d["X"] @ w))])
    return np.array(out)


def _boot(v: np.ndarray) -> str:
    rng = np.random.default_rng(0)
    b = [v[rng.integers(0, v.size, v.size)].mean() for _ in range(2000)]
    return f"{v.mean():.3f} [{np.percentile(b, 2.5):.2f}, {np.percentile(b, 97.5):.2f}]"


def main(argv: list[str] | None = None) -> None:
    """Command line: CV on training pieces, then the dev check, for two regularisations."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cues", type=Path)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="Estimated beats are empty")
    rows = json.loads(args.cues.read_text())
    data = prepare(rows)
    sets = np.array([r["set"] for r in rows])
    tr = np.flatnonzero(np.isin(sets, TRAIN_SETS))
    fold = np.random.default_rng(1).permutation(tr.size) % 10
    for c in (0.1, 1.0):
        oof = np.zeros(tr.size)
        for k in range(10):
            oof[fold == k] = chosen_f(data, tr[fold == k], fit(data, tr[fold != k], c))
        cur = chosen_f(data, tr, None)
        print(f"C={c}: training CV {_boot(oof)} vs product {_boot(cur)}, diff {_boot(oof - cur)}")
        w = fit(data, tr, c)
        for s in sorted(set(sets) - set(TRAIN_SETS)):
            idx = np.flatnonzero(sets == s)
            a, b = chosen_f(data, idx, None), chosen_f(data, idx, w)
            print(f"  {s} (n={idx.size}): product {_boot(a)}, chooser {_boot(b)}, "
                  f"diff {_boot(b - a)}")


if __name__ == "__main__":
    main()
