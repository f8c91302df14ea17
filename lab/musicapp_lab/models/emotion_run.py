"""``musicapp train tagger-emotion``: weak-label fine-tuning of the valence/arousal head, the
reference calibration and the evaluation tables of the model card (see :mod:`.emotion`).

Runs after ``musicapp train tagger`` (the distillation) on the same caches and rewrites the
weights file in place: the fine-tuned valence/arousal layer, the percentile tables of the
reference collection, and metadata saying where the targets and the reference come from.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from musicapp.models.calibration import fit_quantiles
from musicapp.models.hashnet import GENRE_SOURCES, MOOD_SOURCES, save_hashnet
from musicapp.models.musicnn import MSD_TAGS
from musicapp_lab.models import emotion as em
from musicapp_lab.models.train import (
    GENRE_COLUMNS,
    MOOD_COLUMNS,
    TeacherStats,
    TrainConfig,
    load_splits,
)
from musicapp_lab.models.weak_labels import rules_table

REFERENCE_SPLITS = ("train", "val")
VA_TARGETS = ("musicapp.moods placements (own, Russell 1980 angles) via the circumplex centroid; "
              "V/A layer fine-tuned on weak title labels of the allowed Debian soundtracks")


@torch.no_grad()
def head_outputs(head: Any, x: torch.Tensor, batch: int = 256) -> dict[str, np.ndarray]:
    """The head's outputs (logits, V/A, code, summary) over cached inputs."""
    head.eval()
    keys = ("mood_logits", "genre_logits", "valence_arousal", "code", "summary")
    outs: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for i in range(0, x.shape[0], batch):
        o = head(x[i : i + batch].float())
        for k in keys:
            outs[k].append(o[k].float().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z.astype(np.float64)))


def run_emotion(tc: TrainConfig, log: Callable[[str], None] = print,
                weak_weight: float = 1.0) -> dict[str, Any]:
    """Fine-tune, calibrate, evaluate and save; returns the results (also written as JSON)."""
    from musicapp.models.hashnet import load_hashnet

    torch.set_num_threads(max(1, tc.threads))
    cache = Path(tc.cache_dir)
    cfg = tc.model_config()
    sp = load_splits(cache, cfg)
    stats = TeacherStats.fit(sp.logits["train"])
    model, meta = load_hashnet("cpu", path=tc.out)
    head, msd = model.head, model.frontend
    pool = em.make_pool(sp.caches)
    x_all = torch.cat([sp.x[s] for s in sp.caches])
    split_of_track = np.array([t["split"] for t in pool.tracks])
    n_tracks = len(pool.tracks)
    t0 = time.time()
    pred = head_outputs(head, x_all)
    log(f"student outputs on {x_all.shape[0]} segments in {time.time() - t0:.0f}s")
    distill = em.circumplex_targets(pool.logits, stats)
    init = (head.va.weight.detach().numpy().copy(), head.va.bias.detach().numpy().copy())

    # ---- valence/arousal candidates (per segment, raw scale)
    base_logits = em.baseline_msd_logits(pool.time_seq, msd)
    base_all = pool.logits.copy()
    base_all[:, :50] = base_logits
    base_all[:, 50:] = np.nan  # the baseline has no MTT tags: those count as neutral
    base_pct = np.full((len(base_all), len(MOOD_COLUMNS)), np.nan)
    from musicapp.models.calibration import to_percentile

    msd_mood = [i for i, c in enumerate(MOOD_COLUMNS) if c < 50]
    base_pct[:, msd_mood] = to_percentile(
        base_all[:, [MOOD_COLUMNS[i] for i in msd_mood]], stats.mood_quantiles[msd_mood]) / 100.0
    from musicapp.models.circumplex import valence_arousal

    base_va = valence_arousal(base_pct).astype(np.float64)
    seg_labels = pool.labels[pool.track]
    in_ref = np.isin(split_of_track[pool.track], REFERENCE_SPLITS)
    final_lab = np.where(in_ref[:, None], seg_labels, 0)
    W, b = em.fit_va_head(pred["summary"], distill, final_lab, init, weak_weight=weak_weight)
    tuned_va = em.va_output(pred["summary"], W, b)
    lopo_va = em.lopo_scores(pool, pred["summary"], distill, init, log=log,
                             weak_weight=weak_weight)
    distilled_va = pred["valence_arousal"].astype(np.float64)
    # Ship the fine-tuned layer only if it beats the distilled one out of package on the
    # training and validation packages' labelled tracks (the test packages play no part).
    def _trainval_auc(seg: np.ndarray) -> float:
        tm = em.track_means(seg, pool.track, n_tracks)
        lab = np.where((split_of_track != "test")[:, None], pool.labels, 0)
        return float(np.mean([em.bootstrap_auc(tm[:, ax], lab[:, ax], n_boot=1)["auc"]
                              for ax in range(2)]))

    selection = {"distilled": _trainval_auc(distilled_va), "fine-tuned": _trainval_auc(lopo_va)}
    shipped = max(selection, key=lambda k: selection[k])
    if shipped == "distilled":
        W, b = init
    final_va = tuned_va if shipped == "fine-tuned" else distilled_va
    log(f"V/A layer selection (train+val packages, out of package): {selection} -> {shipped}")
    candidates = {
        "teachers + circumplex": distill,
        "baseline (MSD back end on pooled slices) + circumplex": base_va,
        "student, distilled V/A head": distilled_va,
        "student, weak-label fine-tuned V/A head": None,  # LOPO / train+val fit, below
    }

    # ---- weak-label ROC-AUC by track
    is_test_track = split_of_track == "test"
    va_auc: dict[str, dict[str, Any]] = {}
    for name, seg in candidates.items():
        for scope in ("all packages (leave-one-package-out)", "test packages"):
            if seg is None:
                seg_scores = lopo_va if scope.startswith("all") else tuned_va
            else:
                seg_scores = seg
            tm = em.track_means(seg_scores, pool.track, n_tracks)
            row = va_auc.setdefault(name, {})
            for ax, axis in enumerate(em.AXES):
                labels = pool.labels[:, ax].copy()
                if scope == "test packages":
                    labels[~is_test_track] = 0
                row[f"{axis} | {scope}"] = em.bootstrap_auc(tm[:, ax], labels)
    log(json.dumps(va_auc, default=float)[:2000])

    # ---- calibration against the reference collection and the spread it gives
    va_q = fit_quantiles(final_va[in_ref])
    cal = 2.0 * to_percentile(final_va, va_q).astype(np.float64) / 100.0 - 1.0
    tm_cal = em.track_means(cal, pool.track, n_tracks)
    ref_tracks = np.isin(split_of_track, REFERENCE_SPLITS)
    spread = {
        "reference segments": cal[in_ref].std(axis=0).tolist(),
        "reference tracks (mean of segments)": np.nanstd(tm_cal[ref_tracks], axis=0).tolist(),
        "test-package tracks": np.nanstd(tm_cal[is_test_track], axis=0).tolist(),
        "test-package segments": cal[~in_ref].std(axis=0).tolist(),
        "raw final head, reference segments": final_va[in_ref].std(axis=0).tolist(),
    }

    # ---- tag groups and codes on the test packages (segments; intervals over tracks)
    test_seg = split_of_track[pool.track] == "test"
    student44 = np.concatenate([pred["mood_logits"], pred["genre_logits"]], axis=1)
    cols = MOOD_COLUMNS + GENRE_COLUMNS
    base44 = np.stack([base_logits[:, c] if c < 50 else np.full(len(base_logits), np.nan)
                       for c in cols], axis=1)
    shipped44 = student44.copy()
    for j, c in enumerate(cols):
        if c < 50:
            shipped44[:, j] = pool.logits[:, c]
    scores = {"baseline": base44[test_seg], "student": student44[test_seg],
              "shipped (MSD tags from the teacher's own output, MTT tags from the student)":
                  shipped44[test_seg]}  # fmt: skip
    tags = em.tag_group_agreement(scores, pool.logits[test_seg], pool.track[test_seg], stats,
                                  tc.top_fraction)
    median = np.median(sp.logits["train"][:, :50], axis=0)
    codes = {
        "student 64-bit code": em.code_map(pred["code"][test_seg] >= 0, pool.logits[test_seg],
                                           pool.track[test_seg], stats),
        "baseline 50-bit code (MSD logits above median)": em.code_map(
            em.baseline_codes(base_logits[test_seg], median), pool.logits[test_seg],
            pool.track[test_seg], stats),
    }

    # ---- save: fine-tuned V/A layer, reference tables, metadata
    with torch.no_grad():
        head.va.weight.copy_(torch.from_numpy(W))
        head.va.bias.copy_(torch.from_numpy(b))
    ref_probs_student = _sigmoid(student44[in_ref])
    ref_probs = ref_probs_student.copy()
    for j, c in enumerate(cols):
        if c < 50:
            ref_probs[:, j] = _sigmoid(pool.logits[in_ref, c])
    n_mood = len(MOOD_SOURCES)
    calib = {
        "mood_quantiles": torch.from_numpy(fit_quantiles(ref_probs[:, :n_mood])),
        "genre_quantiles": torch.from_numpy(fit_quantiles(ref_probs[:, n_mood:])),
        "va_quantiles": torch.from_numpy(va_q),
    }
    n_ref = int(in_ref.sum())
    packages = sorted({t["package"] for t in pool.tracks if t["split"] in REFERENCE_SPLITS})
    reference = (f"among {n_ref} 3-s clips of game music ({len(packages)} freely licensed "
                 f"Debian game soundtracks: {', '.join(packages)})")
    extra = {k: v for k, v in meta.items()
             if isinstance(v, str) and k in ("test_mean_auc", "trained")}  # fmt: skip
    extra.update({"va_targets": VA_TARGETS + f" (shipped layer: {shipped})",
                  "reference": reference, "reference_n": str(n_ref),
                  "msd_tags_from_frontend": "1", "emotion_tuned": time.strftime("%Y-%m-%d")})
    digest = save_hashnet(tc.out, head, calib, extra_meta=extra)
    result = {
        "weak_weight": weak_weight, "va_auc": va_auc, "selection": selection,
        "shipped_va": shipped, "spread": spread, "tag_groups": tags,
        "codes": codes, "reference": reference, "reference_n": n_ref, "sha256": digest,
        "labelled_tracks": [{k: t[k] for k in ("package", "split", "rel", "valence_label",
                                                "arousal_label")}
                            for t in pool.tracks if t["valence_label"] or t["arousal_label"]],
        "rules": rules_table(),
        "msd_tags": [t for s, t in (*MOOD_SOURCES, *GENRE_SOURCES) if s == "MSD"
                     and t in MSD_TAGS],
    }  # fmt: skip
    out = cache / "emotion.json"
    out.write_text(json.dumps(result, indent=1, default=float))
    log(f"saved {tc.out} sha256 {digest}; results in {out}")
    return result
