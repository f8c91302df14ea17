"""The seeds' ablation (``musicapp evaluate tagger-ablation``): which reader, which sequence.

Every variant is trained with the same seed, data, loss and epoch budget on the cached teacher
features, then scored on the held-out test packages by agreement with the teachers (mean per-tag
ROC-AUC against the teachers' binarised top tags) and retrieval quality of its binary codes
(mAP@10, relevance = same teacher top genre / top mood, other tracks only). Model selection within
a run uses the validation package only.

Variants:

* reader: LSTM vs GRU vs simple (Elman, tanh) RNN, over both kinds of sequence;
* sequence: layers-as-steps (the seed design, 8 conv layers) vs time-as-steps over the same 8
  layers' concatenated maps;
* single conv layer vs the multi-layer sequence: time-as-steps over one layer's map alone (the
  deepest mid-end layer ``mid3``, and the first timbral layer ``timbral_7x38``). With a single
  layer a layers-as-steps sequence would have one step, so the time axis is the only sequence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from musicapp.models.hashnet import HashNetConfig
from musicapp_lab.models.train import (
    TeacherStats,
    TrainConfig,
    evaluate,
    fit,
    load_splits,
    make_targets,
    pick_device,
    seed_everything,
)

#: (label, model-config overrides)
VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("layers-as-steps, LSTM (seed)", {"variant": "layers", "cell": "lstm"}),
    ("layers-as-steps, GRU", {"variant": "layers", "cell": "gru"}),
    ("layers-as-steps, simple RNN", {"variant": "layers", "cell": "rnn"}),
    ("time-as-steps (8 layers), LSTM", {"variant": "time", "cell": "lstm"}),
    ("time-as-steps (8 layers), GRU", {"variant": "time", "cell": "gru"}),
    ("time-as-steps (8 layers), simple RNN", {"variant": "time", "cell": "rnn"}),
    ("time-as-steps (8 layers), LSTM, 128 bits", {"variant": "time", "cell": "lstm", "bits": 128}),
    ("time-as-steps, single layer mid3, LSTM",
     {"variant": "time", "cell": "lstm", "layers": ["mid3"]}),
    ("time-as-steps, single layer timbral_7x38, LSTM",
     {"variant": "time", "cell": "lstm", "layers": ["timbral_7x38"]}),
)  # fmt: skip


def run_ablation(
    tc: TrainConfig,
    epochs: int,
    variants: tuple[tuple[str, dict[str, Any]], ...] = VARIANTS,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Train and score each variant; return one result row per variant."""
    torch.set_num_threads(max(1, tc.threads))
    device = pick_device(tc.device)
    short = replace(tc, epochs=epochs)
    rows = []
    for label, overrides in variants:
        seed_everything(tc.seed)
        cfg = HashNetConfig(**{**tc.model, **overrides})
        sp = load_splits(Path(tc.cache_dir), cfg)
        x_train, l_train = sp.x["train"], sp.logits["train"]
        if tc.max_train and x_train.shape[0] > tc.max_train:
            x_train, l_train = x_train[: tc.max_train], l_train[: tc.max_train]
        stats = TeacherStats.fit(l_train)
        t0 = time.time()
        head, _ = fit(
            cfg, x_train, make_targets(l_train, stats), short, stats, device,
            lambda m, lab=label: log(f"[{lab}] {m}"),
            val=(sp.x["val"], sp.logits["val"], sp.tracks["val"]),
        )  # fmt: skip
        seconds = time.time() - t0
        m = evaluate(head, sp.x["test"], sp.logits["test"], sp.tracks["test"], stats, device,
                     tc.top_fraction)  # fmt: skip
        mv = evaluate(head, sp.x["val"], sp.logits["val"], sp.tracks["val"], stats, device,
                      tc.top_fraction)  # fmt: skip
        params = sum(p.numel() for p in head.parameters())
        row = {
            "label": label, "config": json.loads(cfg.to_json()), "epochs": epochs,
            "train_seconds": seconds, "parameters": params,
            "val_mean_auc": mv["mean_auc"], "val_map10_genre_hamming": mv["map10_genre_hamming"],
            "mean_auc": m["mean_auc"], "mean_auc_mood": m["mean_auc_mood"],
            "mean_auc_genre": m["mean_auc_genre"],
            "map10_genre_hamming": m["map10_genre_hamming"],
            "map10_mood_hamming": m["map10_mood_hamming"],
            "map10_genre_cosine": m["map10_genre_cosine"],
            "map10_genre_random": m["map10_genre_random"],
            "map10_mood_random": m["map10_mood_random"],
            "va_pearson": m["va_pearson"],
        }  # fmt: skip
        rows.append(row)
        log(format_table([row]))
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of ablation rows."""
    head = (
        "| variant | val mean AUC | test mean ROC-AUC | mood AUC | genre AUC | mAP@10 genre (codes) | "
        "mAP@10 mood (codes) | mAP@10 genre (emb.) | V/A r | params | train s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['val_mean_auc']:.3f} | {r['mean_auc']:.3f} | {r['mean_auc_mood']:.3f} | "
            f"{r['mean_auc_genre']:.3f} | {r['map10_genre_hamming']:.3f} | "
            f"{r['map10_mood_hamming']:.3f} | {r['map10_genre_cosine']:.3f} | "
            f"{r['va_pearson'][0]:.2f} / {r['va_pearson'][1]:.2f} | {r['parameters']:,} | "
            f"{r['train_seconds']:.0f} |"
        )
    return head + "\n".join(lines)


def best_variant(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row with the best *validation* mean ROC-AUC (ties: validation genre code mAP@10).

    Chosen on the validation package so that the test packages stay untouched by selection.
    """
    return max(rows, key=lambda r: (round(r["val_mean_auc"], 3), r["val_map10_genre_hamming"]))
