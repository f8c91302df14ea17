"""Fit, select and evaluate the valence/arousal fusion model (:mod:`musicapp.models.va_fusion`).

Data: the app's own analyses of excerpts of the allowed Debian soundtracks
(:mod:`musicapp_lab.models.emotion_features`), labelled by their titles
(:mod:`musicapp_lab.models.weak_labels`: energetic/calm, bright/dark). Titles are independent of
the audio, so the labels are not produced by the rule that makes the descriptors.

Model per axis: ``z = b + w . x`` over standardised descriptors ``x`` (mean/scale over the
reference collection: the training and validation packages' excerpts, no labels used). The
weights minimise a class-balanced logistic loss on the labelled *tracks* plus
``lam * |w - w0|^2``, where ``w0`` are prior weights written down before fitting from what music
psychology says carries arousal (tempo, loudness, density, the tagger's arousal) and valence
(major mode, the tagger's valence, happy vs sad tags): :data:`PRIOR`. ``lam`` is chosen per axis
from :data:`LAMBDAS` by leave-one-package-out ROC-AUC on the training and validation packages
only (``inf``: the prior weights unchanged).

Evaluation is by **track** (a track's value: the duration-weighted mean of the shipped function's
outputs over its excerpts' 3-s segments), with 95 % bootstrap intervals from resampling tracks:
the tagger alone (the baseline), the prior weights and the fitted model side by side, in the
same run. The test packages (singularity, hyperrogue) are scored only in :func:`final_report`.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicapp.models.calibration import fit_quantiles
from musicapp.models.va_fusion import FEATURES, FusionModel, descriptors, fuse
from musicapp_lab.models.dataset import SPLITS
from musicapp_lab.models.emotion import bootstrap_auc
from musicapp_lab.models.weak_labels import label_path, music_relpath

AXES = ("valence", "arousal")
TRAIN_SPLITS = ("train", "val")
#: Prior weights (on standardised descriptors), fixed before any fit or evaluation:
#: valence - the tagger's valence, major key and major chords, happy over sad;
#: arousal - the tagger's arousal, tempo, loudness, chord changes, fast/loud tags.
#: Issue 16 (level invariance): the absolute ``level`` (loudest 3 s, dBFS) had arousal weight 0.5
#: in the first prior (:data:`PRIOR_WITH_LEVEL`); moods followed the playback volume, so it is
#: out (``va_fusion.GAIN_DEPENDENT``; a prior weight of 0 also keeps it out of every fit).
PRIOR: dict[str, dict[str, float]] = {
    "valence": {"tagger_valence": 1.0, "key_major": 1.0, "chord_major": 0.5, "happy_sad": 0.5},
    "arousal": {"tagger_arousal": 1.0, "tempo": 0.5, "chord_rate": 0.25,
                "fast_slow": 0.5, "loud_soft": 0.5},
}
#: The first prior, kept for the before/after comparison (not shippable: it weighs the level).
PRIOR_WITH_LEVEL: dict[str, dict[str, float]] = {
    "valence": dict(PRIOR["valence"]),
    "arousal": {**PRIOR["arousal"], "level": 0.5},
}
#: Baseline: the tagger's own value only.
TAGGER_ONLY: dict[str, dict[str, float]] = {"valence": {"tagger_valence": 1.0},
                                            "arousal": {"tagger_arousal": 1.0}}
LAMBDAS = (0.01, 0.1, 1.0, 10.0, math.inf)


@dataclass
class Track:
    """One track: its excerpts' analyses, weak labels and mean descriptor row."""

    package: str
    split: str
    rel: str
    windows: list[dict[str, Any]] = field(default_factory=list)
    labels: tuple[int, int] = (0, 0)  # valence, arousal in {-1, 0, +1}
    _rows: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(duration-weighted mean track descriptor row (F,), all segment rows (S, F))."""
        if self._rows is None:
            self._rows = self._compute_rows()
        return self._rows

    def _compute_rows(self) -> tuple[np.ndarray, np.ndarray]:
        tr, segs, w = [], [], []
        for a in self.windows:
            t, s = descriptors(_tags(a), _music(a), a.get("level_dbfs"), a["duration_s"])
            tr.append(t)
            segs.append(s)
            w.append(a["duration_s"])
        x = np.array(tr)
        wt = np.array(w)[:, None] * np.isfinite(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(np.where(np.isfinite(x), x, 0.0) * wt, axis=0) / wt.sum(axis=0)
        return mean, np.concatenate(segs)


def _tags(a: dict[str, Any]) -> dict[str, Any]:
    from musicapp.track_analysis import TrackAnalysis

    return TrackAnalysis.from_dict(a).tags or {}


def _music(a: dict[str, Any]) -> dict[str, Any]:
    from musicapp.track_analysis import TrackAnalysis

    return TrackAnalysis.from_dict(a).music or {}


def load_tracks(analyses: list[dict[str, Any]]) -> list[Track]:
    """Group cached excerpt analyses by track (status "ok" only) and attach the weak labels."""
    by: dict[tuple[str, str], Track] = {}
    for a in analyses:
        if a.get("status") != "ok" or a.get("valence") is None:
            continue
        k = (a["package"], a["track_key"])
        if k not in by:
            rel = music_relpath(a["track_path"])
            lab = label_path(rel)
            by[k] = Track(a["package"], a["split"], rel,
                          labels=(lab.valence or 0, lab.arousal or 0))
        by[k].windows.append(a)
    return sorted(by.values(), key=lambda t: (t.package, t.rel))


def standardisation(tracks: list[Track]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale (std) of every descriptor over the reference excerpts' segments."""
    segs = np.concatenate([t.rows()[1] for t in tracks if t.split in TRAIN_SPLITS])
    mean = np.nanmean(segs, axis=0)
    scale = np.nanstd(segs, axis=0)
    return np.nan_to_num(mean), np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)


def prior_vector(spec: dict[str, float]) -> np.ndarray:
    """Weights (F,) from a {feature: weight} spec."""
    return np.array([spec.get(f, 0.0) for f in FEATURES])


def fit_axis(x: np.ndarray, y: np.ndarray, w0: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """Minimise class-balanced logistic loss + ``lam |w - w0|^2`` (only features with a nonzero
    prior weight are free; ``lam`` = inf returns ``w0``). ``x`` (n, F) standardised, NaN = 0."""
    from scipy.optimize import minimize

    if not math.isfinite(lam):
        return w0.copy(), 0.0
    free = np.flatnonzero(w0 != 0)
    xs = np.where(np.isfinite(x), x, 0.0)[:, free]
    yy = (y > 0).astype(float) * 2 - 1
    c = np.where(yy > 0, 0.5 / max((yy > 0).sum(), 1), 0.5 / max((yy < 0).sum(), 1))

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = p[:-1], p[-1]
        m = yy * (xs @ w + b)
        sp = np.logaddexp(0.0, -m)
        sig = 1.0 / (1.0 + np.exp(m))  # d softplus(-m)/dm = -sig
        g_m = -c * sig * yy
        d = w - w0[free]
        val = float(np.sum(c * sp) + lam * d @ d)
        grad = np.concatenate([xs.T @ g_m + 2 * lam * d, [g_m.sum()]])
        return val, grad

    p0 = np.concatenate([w0[free], [0.0]])
    res = minimize(loss, p0, jac=True, method="L-BFGS-B")
    w = np.zeros_like(w0)
    w[free] = res.x[:-1]
    return w, float(res.x[-1])


def make_model(tracks: list[Track], mean: np.ndarray, scale: np.ndarray, weight: np.ndarray,
               bias: np.ndarray, config: dict[str, Any]) -> FusionModel:
    """A :class:`FusionModel` whose percentile table is fitted on the reference segments.
    Parameters are rounded to float32 first (as stored), so a loaded model scores the same."""
    mean, scale, weight, bias = (np.asarray(a, np.float32).astype(np.float64)
                                 for a in (mean, scale, weight, bias))
    pre = FusionModel(FEATURES, mean, scale, weight, bias, np.zeros((2, 101)), config)
    segs = np.concatenate([t.rows()[1] for t in tracks if t.split in TRAIN_SPLITS])
    q = fit_quantiles(pre.z(segs)).astype(np.float64)
    return FusionModel(FEATURES, mean, scale, weight, bias, q, config)


def track_outputs(model: FusionModel, tracks: list[Track]) -> np.ndarray:
    """(T, 2) shipped track values: duration-weighted mean of :func:`fuse` over excerpts."""
    out = np.full((len(tracks), 2), np.nan)
    for i, t in enumerate(tracks):
        vals, w = [], []
        for a in t.windows:
            f = fuse(_tags(a), _music(a), a.get("level_dbfs"), a["duration_s"], model)
            if f is not None:
                vals.append((f["valence"], f["arousal"]))
                w.append(a["duration_s"])
        if vals:
            out[i] = np.average(np.array(vals), axis=0, weights=np.array(w))
    return out


def fit_model(tracks: list[Track], mean: np.ndarray, scale: np.ndarray,
              specs: dict[str, dict[str, float]], lams: dict[str, float],
              train: np.ndarray) -> FusionModel:
    """Fit both axes on the labelled tracks selected by ``train`` (bool (T,))."""
    x = np.array([t.rows()[0] for t in tracks])
    xs = (x - mean) / scale
    weight, bias = np.zeros((2, len(FEATURES))), np.zeros(2)
    for ax, axis in enumerate(AXES):
        y = np.array([t.labels[ax] for t in tracks])
        sel = train & (y != 0)
        weight[ax], bias[ax] = fit_axis(xs[sel], y[sel], prior_vector(specs[axis]), lams[axis])
    return make_model(tracks, mean, scale, weight, bias,
                      {"features": list(FEATURES), "lambda": {k: str(v) for k, v in lams.items()}})


def lopo(tracks: list[Track], mean: np.ndarray, scale: np.ndarray,
         specs: dict[str, dict[str, float]], lams: dict[str, float],
         packages: list[str]) -> np.ndarray:
    """Out-of-package track outputs (T, 2) for the tracks of ``packages`` (others NaN): each
    package scored by a model fitted on the other packages of the list."""
    pk = np.array([t.package for t in tracks])
    out = np.full((len(tracks), 2), np.nan)
    for p in packages:
        train = np.isin(pk, packages) & (pk != p)
        m = fit_model(tracks, mean, scale, specs, lams, train)
        held = [i for i in range(len(tracks)) if pk[i] == p]
        out[held] = track_outputs(m, [tracks[i] for i in held])
    return out


def aucs(scores: np.ndarray, tracks: list[Track], keep: np.ndarray, n_boot: int = 2000
         ) -> dict[str, dict[str, float]]:
    """Per axis: ROC-AUC with a 95 % track-bootstrap interval over the tracks in ``keep``."""
    out = {}
    for ax, axis in enumerate(AXES):
        lab = np.array([t.labels[ax] if k else 0 for t, k in zip(tracks, keep, strict=True)])
        out[axis] = bootstrap_auc(scores[:, ax], lab, n_boot=n_boot)
    return out


def select(tracks: list[Track], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Choose ``lam`` per axis by leave-one-package-out AUC on the training and validation
    packages (test packages untouched); also the tagger-only and prior rows there."""
    mean, scale = standardisation(tracks)
    pk_tv = sorted({t.package for t in tracks if t.split in TRAIN_SPLITS})
    keep = np.array([t.split in TRAIN_SPLITS for t in tracks])
    table: dict[str, Any] = {}
    table["tagger only"] = aucs(lopo(tracks, mean, scale, TAGGER_ONLY,
                                     {"valence": math.inf, "arousal": math.inf}, pk_tv),
                                tracks, keep, n_boot=200)
    for lam in LAMBDAS:
        name = "prior weights" if not math.isfinite(lam) else f"fitted, lambda {lam:g}"
        s = lopo(tracks, mean, scale, PRIOR, {"valence": lam, "arousal": lam}, pk_tv)
        table[name] = aucs(s, tracks, keep, n_boot=200)
        log(f"{name}: " + ", ".join(f"{a} {table[name][a]['auc']:.3f}" for a in AXES))
    chosen = {}
    for axis in AXES:
        best = max(LAMBDAS, key=lambda lam: (table["prior weights" if not math.isfinite(lam)
                                                    else f"fitted, lambda {lam:g}"][axis]["auc"],
                                             lam))
        chosen[axis] = best
    log(f"chosen lambda: {chosen}")
    return {"table": table, "lambda": chosen, "mean": mean, "scale": scale}


def final_report(tracks: list[Track], chosen: dict[str, float],
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Fit the chosen model on the training and validation packages and score it, the prior and
    the tagger alone on the test packages (the one look at them) and leave-one-package-out over
    all eight packages (comparable with the card's earlier figures). Saves nothing: ``ship``
    writes the weights."""
    mean, scale = standardisation(tracks)
    split = np.array([t.split for t in tracks])
    tv = np.isin(split, TRAIN_SPLITS)
    test = split == "test"
    rows = {"tagger only (baseline)": (TAGGER_ONLY, {"valence": math.inf, "arousal": math.inf}),
            "prior weights (no fit)": (PRIOR, {"valence": math.inf, "arousal": math.inf}),
            "fusion, fitted (selected)": (PRIOR, chosen)}
    pk_all = sorted({t.package for t in tracks})
    res: dict[str, Any] = {"test packages": {}, "all packages (LOPO)": {}, "spread": {}}
    selected = None
    for name, (spec, lams) in rows.items():
        m = fit_model(tracks, mean, scale, spec, lams, tv)
        if name.endswith("(selected)"):
            selected = m
        s = track_outputs(m, tracks)
        res["test packages"][name] = aucs(s, tracks, test)
        res["all packages (LOPO)"][name] = aucs(lopo(tracks, mean, scale, spec, lams, pk_all),
                                                tracks, np.ones(len(tracks), bool))
        res["spread"][name] = {
            "reference tracks": np.nanstd(s[tv], axis=0).tolist(),
            "test-package tracks": np.nanstd(s[test], axis=0).tolist()}
        log(f"{name}: {json.dumps(res['test packages'][name], default=float)}")
    assert selected is not None
    res["weights"] = {f: [float(selected.weight[0, i]), float(selected.weight[1, i])]
                      for i, f in enumerate(FEATURES)}
    res["bias"] = selected.bias.tolist()
    res["mean"] = selected.mean.tolist()
    res["scale"] = selected.scale.tolist()
    res["n_tracks"] = {s: int((split == s).sum()) for s in ("train", "val", "test")}
    res["labelled"] = {f"{axis} {sp}": [int(sum(1 for t in tracks if t.split in sps
                                               and t.labels[ax] == v)) for v in (1, -1)]
                       for ax, axis in enumerate(AXES)
                       for sp, sps in (("train+val", TRAIN_SPLITS), ("test", ("test",)))}
    return res


def save_model(path: Path, model: FusionModel, lams: dict[str, float], n_tracks: int) -> str:
    """Write the model as safetensors (+ sha256 sidecar) with its JSON config in the metadata."""
    import torch

    from musicapp.models.weights import save_state

    config = {
        "features": list(model.features),
        "axes": list(AXES),
        "lambda": {k: ("inf" if not math.isfinite(v) else v) for k, v in lams.items()},
        "prior": PRIOR,
        "labels": "weak labels from track titles (musicapp_lab.models.weak_labels)",
        "training": "allowed Debian soundtracks, training and validation packages: "
                    + ", ".join(sorted(p for p, s in SPLITS.items() if s in TRAIN_SPLITS)),
        "reference": "percentiles over the 3-s segments of the same packages' excerpts",
        "n_tracks_seen": n_tracks,
        "card": "resources/models/VA_FUSION_MODEL_CARD.md",
        "licence": "MIT (musicapp); trained only on the permissively licensed packages above",
    }
    state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in
             {"mean": model.mean, "scale": model.scale, "weight": model.weight,
              "bias": model.bias, "quantiles": model.quantiles}.items()}
    return save_state(path, state, {"config": json.dumps(config, sort_keys=True),
                                    "format": "musicapp va_fusion 1"})


def per_package_counts(tracks: list[Track]) -> dict[str, int]:
    """Tracks per package (for the card)."""
    c: dict[str, int] = defaultdict(int)
    for t in tracks:
        c[t.package] += 1
    return dict(c)


def main(argv: list[str]) -> int:
    """``select`` (training/validation packages only), ``final`` (fit, save, test look) or
    ``ship [valence=LAMBDA] [arousal=LAMBDA]`` (fit and save only; default both inf)."""
    from musicapp.paths import resource_path
    from musicapp_lab.models.dataset import REPO
    from musicapp_lab.models.emotion_features import load_all

    work = REPO / "data" / "va_fusion"
    tracks = load_tracks(load_all())
    print(f"{len(tracks)} tracks: {per_package_counts(tracks)}")
    if argv[:1] == ["select"]:
        sel = select(tracks)
        (work / "select.json").write_text(json.dumps(
            {"table": sel["table"], "lambda": {k: str(v) for k, v in sel["lambda"].items()}},
            indent=1, default=float))
        return 0
    if argv[:1] == ["final"]:
        chosen = {k: float(v) for k, v in
                  json.loads((work / "select.json").read_text())["lambda"].items()}
        looks = work / "test_looks.txt"
        looks.write_text(str(int(looks.read_text()) + 1 if looks.exists() else 1))
        res = final_report(tracks, chosen)
        (work / "final.json").write_text(json.dumps(res, indent=1, default=float))
        return 0
    if argv[:1] == ["ship"]:
        # Fit on the training and validation packages with the lambdas given (default: the prior
        # weights on both axes) and save; no test-package figure is computed.
        lams = {"valence": math.inf, "arousal": math.inf}
        for arg in argv[1:]:
            axis, _, value = arg.partition("=")
            lams[axis] = float(value)
        tracks_tv = np.array([t.split in TRAIN_SPLITS for t in tracks])
        mean, scale = standardisation(tracks)
        m = fit_model(tracks, mean, scale, PRIOR, lams, tracks_tv)
        digest = save_model(resource_path("models", "va_fusion.safetensors"), m, lams,
                            len(tracks))
        print(f"saved with lambda {lams}: sha256 {digest}")
        return 0
    print("usage: python -m musicapp_lab.models.emotion_fusion select|final|ship [axis=lambda]")
    return 2


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))


def _fmt(r: dict[str, float]) -> str:
    return f"{r['auc']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"


def card_tables(sel: dict[str, Any], fin: dict[str, Any]) -> str:
    """Markdown tables of the selection (training/validation packages) and the final figures."""
    lines = ["Selection, leave-one-package-out on the training and validation packages "
             "(ROC-AUC by track, 95 % interval from 200 track resamples):", "",
             "| model | arousal: energetic vs calm | valence: bright vs dark |", "|---|---|---|"]
    for name, r in sel["table"].items():
        lines.append(f"| {name} | {_fmt(r['arousal'])} | {_fmt(r['valence'])} |")
    lines += ["", f"Chosen lambda: {sel['lambda']}.", "",
              "Final (model fitted on the training and validation packages; 2000 track "
              "resamples):", "",
              "| model | arousal, test packages | valence, test packages | arousal, all "
              "packages (LOPO) | valence, all packages (LOPO) |", "|---|---|---|---|---|"]
    for name in fin["test packages"]:
        t, a = fin["test packages"][name], fin["all packages (LOPO)"][name]
        lines.append(f"| {name} | {_fmt(t['arousal'])} | {_fmt(t['valence'])} | "
                     f"{_fmt(a['arousal'])} | {_fmt(a['valence'])} |")
    lines += ["", "| model | std valence / arousal, reference tracks | std, test-package tracks |",
              "|---|---|---|"]
    for name, s in fin["spread"].items():
        r, t = s["reference tracks"], s["test-package tracks"]
        lines.append(f"| {name} | {r[0]:.2f} / {r[1]:.2f} | {t[0]:.2f} / {t[1]:.2f} |")
    lines += ["", "| descriptor | mean | scale | weight valence | weight arousal |",
              "|---|---|---|---|---|"]
    for i, f in enumerate(FEATURES):
        wv, wa = fin["weights"][f]
        lines.append(f"| {f} | {fin['mean'][i]:+.3g} | {fin['scale'][i]:.3g} | {wv:+.3f} | "
                     f"{wa:+.3f} |")
    lines += ["", f"Bias: valence {fin['bias'][0]:+.3f}, arousal {fin['bias'][1]:+.3f}. "
              f"Tracks: {fin['n_tracks']}; labelled (+, -): {fin['labelled']}."]
    return "\n".join(lines)
