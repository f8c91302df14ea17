"""Weak-label fine-tuning, baseline and evaluation of valence/arousal (real teachers on generated
audio; the full pipeline from caches to saved weights the engine loads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from musicapp_lab.models import emotion as em
from musicapp_lab.models.dataset import FeatureCache, full_patches, teacher_features, track_logmel
from musicapp_lab.models.train import TrainConfig, run_training

from musicapp.models.hashnet import HashNetConfig
from tests.helpers.signals import chord, noise, write_audio

SR = 16000
#: (package, split, title): energetic titles get fast loud noise bursts, calm ones soft chords.
TRACKS = [("pa", "train", "battle1"), ("pa", "train", "menu1"), ("pb", "train", "fight2"),
          ("pb", "train", "calm2"), ("pc", "val", "attack3"), ("pc", "val", "peace3"),
          ("pd", "test", "victory4"), ("pd", "test", "sad4")]  # fmt: skip


def _audio(energetic: bool, seed: int) -> np.ndarray:
    root = 220.0 * 2 ** (seed / 12)
    if energetic:
        y = chord([root, root * 1.26, root * 1.5], 6.1, SR, amp=0.5)
        env = (np.arange(len(y)) % int(SR * 0.125) < 900).astype(np.float32)
        y = y + env * noise(6.1, SR, amp=0.8, seed=seed)[: len(y)]
    else:
        y = chord([root / 2, root * 0.6, root * 0.75], 6.1, SR, amp=0.08)
    return np.clip(y, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    from musicapp.models.musicnn import load_musicnn

    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("emotion_cache")
    msd, mtt = load_musicnn("MSD_musicnn"), load_musicnn("MTT_musicnn")
    cfgs = {"layers": HashNetConfig(variant="layers"), "time": HashNetConfig(variant="time")}
    for split in ("train", "val", "test"):
        chunks: dict[str, list[np.ndarray]] = {}
        rows = []
        for i, (pkg, sp, title) in enumerate(TRACKS):
            if sp != split:
                continue
            (tmp / pkg / "music").mkdir(parents=True, exist_ok=True)
            path = write_audio(tmp / pkg / "music" / f"{title}.wav",
                               _audio(i % 2 == 0, i), SR)  # fmt: skip
            patches = full_patches(track_logmel(path))
            f = teacher_features(patches, msd, mtt, cfgs)
            f["track"] = np.full(len(patches), len(rows), dtype=np.int32)
            f["start_s"] = np.arange(len(patches), dtype=np.float32) * 2.992
            rows.append({"path": str(path), "package": pkg, "key": title, "split": split,
                         "duration_s": 6.1, "patches": len(patches)})  # fmt: skip
            for k, v in f.items():
                chunks.setdefault(k, []).append(v)
        FeatureCache(tracks=rows, **{k: np.concatenate(v) for k, v in chunks.items()}).save(
            tmp / f"features_{split}.npz")
    return tmp


def test_bootstrap_auc_by_track():
    r = em.bootstrap_auc(np.array([0.9, 0.8, 0.1, 0.2, 5.0]), np.array([1, 1, -1, -1, 0]))
    assert r["auc"] == 1.0 and r["lo"] == 1.0 and (r["n_pos"], r["n_neg"]) == (2, 2)
    rng = np.random.default_rng(0)
    s, y = rng.random(60), np.repeat([1, -1], 30)
    r = em.bootstrap_auc(s, y)
    assert r["lo"] < r["auc"] < r["hi"] and r["hi"] - r["lo"] > 0.1
    tm = em.track_means(np.array([[1.0], [3.0], [5.0]]), np.array([0, 0, 2]), 3)
    assert tm[0, 0] == 2.0 and np.isnan(tm[1, 0]) and tm[2, 0] == 5.0


def test_fine_tuning_separates_the_labelled_classes():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((200, 8))
    labels = np.zeros((200, 2))
    labels[:, 1] = np.where(h[:, 3] > 0, 1, -1)  # arousal follows feature 3
    W, b = em.fit_va_head(h, np.zeros((200, 2)), labels, (np.zeros((2, 8)), np.zeros(2)))
    out = em.va_output(h, W, b)
    assert em.bootstrap_auc(out[:, 1], labels[:, 1], n_boot=10)["auc"] > 0.95
    assert np.abs(out[:, 0]).max() < 0.05  # no labels on valence: stays at its target, 0


def test_baseline_is_the_teachers_back_end_on_pooled_slices(cache_dir: Path):
    from musicapp.models.musicnn import load_musicnn

    fc = FeatureCache.load(cache_dir / "features_train.npz")
    base = em.baseline_msd_logits(fc.time_seq, load_musicnn("MSD_musicnn"))
    assert base.shape == fc.msd_logits.shape
    r = np.corrcoef(base.ravel(), fc.msd_logits.ravel())[0, 1]
    assert r > 0.95, r


def test_tagger_emotion_end_to_end(cache_dir: Path, tmp_path: Path):
    from musicapp_lab.models.emotion_run import run_emotion

    from musicapp.models.hashnet import load_hashnet
    from musicapp.models.weights import load_metadata

    tc = TrainConfig(seed=0, cache_dir=str(cache_dir), out=str(tmp_path / "h.safetensors"),
                     log=str(tmp_path / "t.log"), metrics_out=str(tmp_path / "m.json"),
                     model={"variant": "time", "d_model": 32, "hidden": 32, "emb_dim": 16,
                            "dropout": 0.0}, epochs=3, batch_size=4, device="cpu")  # fmt: skip
    run_training(tc)
    res = run_emotion(tc, log=lambda m: None)
    saved = json.loads((cache_dir / "emotion.json").read_text())
    assert saved["sha256"] == res["sha256"]
    shipped = res["va_auc"]["student, weak-label fine-tuned V/A head"]
    lopo = shipped["arousal | all packages (leave-one-package-out)"]
    assert (lopo["n_pos"], lopo["n_neg"]) == (4, 4) and res["shipped_va"] in res["selection"]
    assert res["spread"]["reference segments"][1] > 0.3
    assert {"MSD moods (9)", "MTT moods (6)"} <= set(res["tag_groups"])
    assert "baseline" not in res["tag_groups"]["MTT moods (6)"]
    meta = load_metadata(tc.out)
    assert meta["va_targets"].startswith("musicapp.moods") and meta["msd_tags_from_frontend"] == "1"
    assert meta["reference"].startswith("among ") and int(meta["reference_n"]) > 0
    _, m = load_hashnet(path=tc.out)
    assert m["va_quantiles"].shape == (2, 101)
