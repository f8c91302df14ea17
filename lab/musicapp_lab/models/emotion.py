"""Valence/arousal that separates real contrast: weak-label fine-tuning, calibration, evaluation.

The distilled student's valence/arousal head first learns the circumplex mapping of the teachers'
mood tags (:mod:`musicapp.models.circumplex`, points from :mod:`musicapp.moods`). That mapping is
only as good as the tags: on game music it put battle themes next to love themes. This module

1. labels tracks of the allowed Debian soundtracks from their titles
   (:mod:`musicapp_lab.models.weak_labels`: energetic/calm, bright/dark);
2. fine-tunes the valence/arousal head (a linear layer on the frozen reader summary ``h``) with
   a logistic loss on those labels plus the distillation loss toward the circumplex targets
   (which keeps the head meaningful on unlabelled music);
3. evaluates by **track** (a track's score is the mean of its 3-s segments' outputs) with 95 %
   bootstrap intervals from resampling tracks, never segments, on packages the fine-tuning did
   not see: leave-one-package-out over all eight packages (each package's tracks are scored by a
   head fine-tuned on the other packages), and separately on the two test packages;
4. compares, per tag group and for valence/arousal, the teachers, the parameter-free baseline
   (the MSD teacher's own output layers over the mean/max-pooled student time slices, with the
   circumplex mapping for valence/arousal) and the student.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from musicapp.models.calibration import fit_quantiles, to_percentile
from musicapp.models.circumplex import valence_arousal
from musicapp.models.musicnn import MSD_TAGS
from musicapp_lab.models.dataset import FeatureCache
from musicapp_lab.models.train import (
    GENRE_COLUMNS,
    MOOD_COLUMNS,
    TeacherStats,
    map_at_k,
    roc_auc,
)
from musicapp_lab.models.weak_labels import label_path, music_relpath

AXES = ("valence", "arousal")


# --------------------------------------------------------------------------- data


@dataclass
class Pool:
    """Segments of several splits, with per-segment track ids and per-track weak labels."""

    time_seq: np.ndarray  # (N, 32, 753) float16
    logits: np.ndarray  # (N, 100) teacher logits
    track: np.ndarray  # (N,) global track index
    tracks: list[dict]  # package, path, split, labels
    labels: np.ndarray  # (T, 2) weak labels per track: valence, arousal in {-1, 0, +1}

    @property
    def package(self) -> np.ndarray:
        """(T,) package name per track."""
        return np.array([t["package"] for t in self.tracks])


def make_pool(caches: dict[str, FeatureCache]) -> Pool:
    """Concatenate split caches into one :class:`Pool` and attach the weak title labels."""
    seqs, logits, track_ids, tracks = [], [], [], []
    for split, c in caches.items():
        offset = len(tracks)
        for t in c.tracks:
            lab = label_path(music_relpath(t["path"]))
            tracks.append({**t, "split": split, "rel": music_relpath(t["path"]),
                           "valence_label": lab.valence or 0, "arousal_label": lab.arousal or 0})
        seqs.append(c.time_seq)
        logits.append(np.concatenate([c.msd_logits, c.mtt_logits], axis=1))
        track_ids.append(c.track.astype(np.int64) + offset)
    labels = np.array([[t["valence_label"], t["arousal_label"]] for t in tracks], dtype=np.int64)
    return Pool(np.concatenate(seqs), np.concatenate(logits).astype(np.float32),
                np.concatenate(track_ids), tracks, labels)


# --------------------------------------------------------------------------- baseline


@torch.no_grad()
def baseline_msd_logits(time_seq: np.ndarray, msd: Any, batch: int = 512) -> np.ndarray:
    """The parameter-free baseline: the MSD teacher's own back end (batch norm, dense 200, dense
    50) over max and mean of the student's 32 time slices (TensorFlow's interleaved order)."""
    out = []
    for i in range(0, time_seq.shape[0], batch):
        x = torch.from_numpy(time_seq[i : i + batch].astype(np.float32))  # (B, 32, 753)
        pooled = torch.stack([x.amax(dim=1), x.mean(dim=1)], dim=2).flatten(1)
        hidden = msd.dense_bn(torch.relu(msd.dense(msd.pool_bn(pooled))))
        out.append(msd.out(hidden).numpy())
    return np.concatenate(out)


# --------------------------------------------------------------------------- statistics


def track_means(values: np.ndarray, track: np.ndarray, n_tracks: int) -> np.ndarray:
    """Mean of per-segment ``values`` (N, ...) per track -> (n_tracks, ...); NaN for none."""
    v = values.reshape(values.shape[0], -1).astype(np.float64)
    sums = np.zeros((n_tracks, v.shape[1]))
    np.add.at(sums, track, v)
    counts = np.bincount(track, minlength=n_tracks)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return means.reshape((n_tracks, *values.shape[1:]))


def bootstrap_auc(
    scores: np.ndarray, labels: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """ROC-AUC of track ``scores`` for ``labels`` (+1 / -1; 0 = unlabelled, ignored) and its
    95 % percentile interval from resampling the labelled tracks with replacement."""
    keep = (labels != 0) & np.isfinite(scores)
    s, y = scores[keep], labels[keep] > 0
    auc = roc_auc(s, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(s), len(s))
        b = roc_auc(s[idx], y[idx])
        if np.isfinite(b):
            boots.append(b)
    lo, hi = (np.percentile(boots, [2.5, 97.5]) if boots else (float("nan"), float("nan")))
    return {"auc": auc, "lo": float(lo), "hi": float(hi), "n_pos": int(y.sum()),
            "n_neg": int((~y).sum())}


def bootstrap_mean_tag_auc(
    student: np.ndarray, target: np.ndarray, track: np.ndarray, n_boot: int = 500, seed: int = 0
) -> dict[str, float]:
    """Mean over tags of the segment ROC-AUC of ``student`` (N, K) for binary ``target`` (N, K),
    with a 95 % interval from resampling **tracks** (all segments of a drawn track go in)."""

    def mean_auc(idx: np.ndarray) -> float:
        vals = [roc_auc(student[idx, k], target[idx, k]) for k in range(student.shape[1])]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    all_idx = np.arange(len(track))
    point = mean_auc(all_idx)
    ids = np.unique(track)
    members = {t: np.flatnonzero(track == t) for t in ids}
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        pick = rng.choice(ids, len(ids), replace=True)
        b = mean_auc(np.concatenate([members[t] for t in pick]))
        if np.isfinite(b):
            boots.append(b)
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots else (float("nan"), float("nan"))
    return {"auc": point, "lo": float(lo), "hi": float(hi)}


# --------------------------------------------------------------------------- fine-tuning


def fit_va_head(
    h: np.ndarray,
    distill: np.ndarray,
    seg_labels: np.ndarray,
    init: tuple[np.ndarray, np.ndarray],
    weak_weight: float = 1.0,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 1e-3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fine-tune the valence/arousal head ``tanh(W h + b)`` on frozen summaries ``h`` (N, 256).

    Loss: mean squared error to the circumplex targets ``distill`` (N, 2) plus ``weak_weight``
    times the logistic loss ``softplus(-y * (W h + b))`` on segments of weakly labelled tracks
    (``seg_labels`` (N, 2) in {-1, 0, +1}; each axis's labelled segments weighted so that both
    classes count equally). Full-batch Adam from the distilled head ``init`` = (W, b).
    """
    torch.manual_seed(seed)
    x = torch.from_numpy(h.astype(np.float32))
    tgt = torch.from_numpy(distill.astype(np.float32))
    y = torch.from_numpy(seg_labels.astype(np.float32))
    w_cls = torch.zeros_like(y)
    for ax in range(2):
        for sign in (-1.0, 1.0):
            m = y[:, ax] == sign
            if m.any():
                w_cls[m, ax] = 0.5 / m.sum()
    W = torch.nn.Parameter(torch.from_numpy(init[0].astype(np.float32)).clone())
    b = torch.nn.Parameter(torch.from_numpy(init[1].astype(np.float32)).clone())
    opt = torch.optim.Adam([W, b], lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        z = x @ W.T + b
        loss = torch.nn.functional.mse_loss(torch.tanh(z), tgt)
        weak = (torch.nn.functional.softplus(-y * z) * w_cls).sum() / 2.0
        loss = loss + weak_weight * weak
        opt.zero_grad()
        loss.backward()
        opt.step()
    return W.detach().numpy().copy(), b.detach().numpy().copy()


def va_output(h: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``tanh(W h + b)`` (N, 2)."""
    return np.tanh(h.astype(np.float64) @ W.T.astype(np.float64) + b.astype(np.float64))


def circumplex_targets(logits: np.ndarray, stats: TeacherStats) -> np.ndarray:
    """The distillation targets: circumplex mapping of the teachers' mood percentiles."""
    pct = to_percentile(logits[:, MOOD_COLUMNS], stats.mood_quantiles) / 100.0
    return valence_arousal(pct).astype(np.float64)


def lopo_scores(
    pool: Pool,
    h: np.ndarray,
    distill: np.ndarray,
    init: tuple[np.ndarray, np.ndarray],
    log: Callable[[str], None] = print,
    **fit_kw: Any,
) -> np.ndarray:
    """Leave-one-package-out: each package's segments scored by a head fine-tuned on the other
    packages' weak labels (test packages' labels are never used for the shipped head, and here
    only to score themselves out of fold). Returns (N, 2) outputs."""
    pkg_of_seg = pool.package[pool.track]
    seg_labels = pool.labels[pool.track]
    out = np.zeros((h.shape[0], 2))
    for pkg in sorted(set(pkg_of_seg)):
        held = pkg_of_seg == pkg
        lab = np.where(held[:, None], 0, seg_labels)
        W, b = fit_va_head(h, distill, lab, init, **fit_kw)
        out[held] = va_output(h[held], W, b)
        log(f"lopo {pkg}: fitted on {int((lab != 0).any(axis=1).sum())} labelled segments")
    return out


# --------------------------------------------------------------------------- tables


def tag_group_agreement(
    scores: dict[str, np.ndarray], logits: np.ndarray, track: np.ndarray, stats: TeacherStats,
    top_fraction: float = 0.1,
) -> dict[str, dict[str, dict[str, float]]]:
    """Per tag group, the mean ROC-AUC (with track-bootstrap interval) of each model's tag
    logits against the teachers' binarised top tags (teacher logit above the training set's
    ``1 - top_fraction`` quantile). ``scores``: name -> (N, 44) logits in MOOD+GENRE order
    (NaN columns: the model has no such tag)."""
    q = int(round(100 * (1 - top_fraction)))
    cols = MOOD_COLUMNS + GENRE_COLUMNS
    target = np.stack([logits[:, c] >= stats.quantiles[c, q] for c in cols], axis=1)
    msd = np.array([c < 50 for c in cols])
    mood = np.array([i < len(MOOD_COLUMNS) for i in range(len(cols))])
    groups = {
        "MSD moods (9)": msd & mood, "MTT moods (6)": ~msd & mood,
        "MSD genres (24)": msd & ~mood, "MTT genres (5)": ~msd & ~mood,
    }
    out: dict[str, dict[str, dict[str, float]]] = {}
    for gname, gmask in groups.items():
        out[gname] = {}
        for name, s in scores.items():
            sel = gmask & np.isfinite(s).all(axis=0)
            if not sel.any():
                continue
            out[gname][name] = bootstrap_mean_tag_auc(s[:, sel], target[:, sel], track)
    return out


def code_map(codes: np.ndarray, logits: np.ndarray, track: np.ndarray, stats: TeacherStats) -> dict:
    """mAP@10 of Hamming ranking by ``codes`` (N, bits; bool) for same teacher top genre/mood."""
    pct = to_percentile(logits, stats.quantiles)
    top_genre = np.argmax(pct[:, GENRE_COLUMNS], axis=1)
    top_mood = np.argmax(pct[:, MOOD_COLUMNS], axis=1)
    c = codes.astype(np.float64)
    ham = c @ (1 - c).T + (1 - c) @ c.T
    return {"genre": map_at_k(ham, top_genre, track), "mood": map_at_k(ham, top_mood, track)}


def baseline_codes(msd_logits: np.ndarray, median: np.ndarray) -> np.ndarray:
    """A parameter-free 50-bit code: each MSD tag's logit above its training median."""
    return msd_logits >= median[None, :]


def calibrate_spread(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(quantile table (2, 101), calibrated values 2P-1) of raw valence/arousal outputs (N, 2)."""
    q = fit_quantiles(raw)
    cal = 2.0 * to_percentile(raw, q).astype(np.float64) / 100.0 - 1.0
    return q, cal


def msd_tag_index() -> dict[str, int]:
    """MSD tag -> column of the MSD logits."""
    return {t: i for i, t in enumerate(MSD_TAGS)}
