"""End-to-end distillation on generated audio: data cache -> training steps -> saved weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from musicapp_lab.models.dataset import FeatureCache, full_patches, teacher_features, track_logmel
from musicapp_lab.models.train import (
    GENRE_COLUMNS,
    MOOD_COLUMNS,
    TeacherStats,
    TrainConfig,
    make_targets,
    map_at_k,
    roc_auc,
    run_training,
)

from musicapp.models.hashnet import HashNetConfig, load_hashnet
from tests.helpers.signals import chord, noise, write_audio

SR = 16000


def _tracks(tmp: Path) -> list[Path]:
    """Six 6.1-s tracks (two patches each) of different character."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(6):
        root = 110.0 * 2 ** (i / 4)
        y = chord([root, root * 1.25, root * 1.5], 6.1, SR, amp=0.3 + 0.1 * i)
        if i % 2:  # percussive: noise bursts at a tempo
            env = (np.arange(len(y)) % int(SR * (0.25 + 0.1 * i)) < 800).astype(np.float32)
            y = y + env * noise(6.1, SR, amp=0.5, seed=i)[: len(y)]
        y = y + 0.01 * rng.standard_normal(len(y)).astype(np.float32)
        out.append(write_audio(tmp / f"t{i}.wav", np.clip(y, -1, 1).astype(np.float32), SR))
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    from musicapp.models.musicnn import load_musicnn

    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("hashnet_cache")
    msd, mtt = load_musicnn("MSD_musicnn"), load_musicnn("MTT_musicnn")
    cfgs = {"layers": HashNetConfig(variant="layers"), "time": HashNetConfig(variant="time")}
    splits = {"train": [0, 1, 2, 3], "val": [4], "test": [5]}
    paths = _tracks(tmp)
    for split, ids in splits.items():
        chunks: dict[str, list[np.ndarray]] = {}
        rows = []
        for i in ids:
            patches = full_patches(track_logmel(paths[i]))
            assert patches.shape[1:] == (187, 96)
            f = teacher_features(patches, msd, mtt, cfgs)
            f["track"] = np.full(len(patches), len(rows), dtype=np.int32)
            f["start_s"] = np.arange(len(patches), dtype=np.float32) * 2.992
            rows.append({"path": str(paths[i]), "package": "generated", "key": str(i),
                         "split": split, "duration_s": 6.1, "patches": len(patches)})  # fmt: skip
            for k, v in f.items():
                chunks.setdefault(k, []).append(v)
        FeatureCache(tracks=rows, **{k: np.concatenate(v) for k, v in chunks.items()}).save(
            tmp / f"features_{split}.npz"
        )
    return tmp


def test_feature_cache_contents(cache_dir: Path):
    fc = FeatureCache.load(cache_dir / "features_train.npz")
    assert len(fc) == 8
    assert fc.layers_seq.shape == (8, 8, 2048) and fc.layers_seq.dtype == np.float16
    assert fc.time_seq.shape == (8, 32, 753)
    assert fc.msd_logits.shape == (8, 50) and np.isfinite(fc.mtt_logits).all()
    assert len(fc.tracks) == 4


def test_targets_from_teacher_logits(cache_dir: Path):
    fc = FeatureCache.load(cache_dir / "features_train.npz")
    logits = np.concatenate([fc.msd_logits, fc.mtt_logits], axis=1)
    stats = TeacherStats.fit(logits)
    t = make_targets(logits, stats)
    assert t["mood_z"].shape == (8, 15) and t["genre_z"].shape == (8, len(GENRE_COLUMNS))
    torch.testing.assert_close(t["teacher_z"].mean(0), torch.zeros(100), atol=1e-4, rtol=0)
    assert t["valence_arousal"].abs().max() <= 1
    assert len(set(MOOD_COLUMNS)) == 15


def test_tiny_training_reduces_loss_and_saves(cache_dir: Path, tmp_path: Path):
    tc = TrainConfig(
        seed=0, cache_dir=str(cache_dir), out=str(tmp_path / "h.safetensors"),
        log=str(tmp_path / "train.log"), metrics_out=str(tmp_path / "m.json"),
        model={"d_model": 32, "hidden": 32, "emb_dim": 16, "dropout": 0.0},
        epochs=6, batch_size=4, lr=3e-3, device="cpu",
    )  # fmt: skip
    metrics = run_training(tc)
    hist = metrics["history"]
    assert len(hist) == 6
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert hist[-1]["mood"] < hist[0]["mood"]
    assert Path(tc.log).read_text().count("epoch") >= 6
    saved = json.loads(Path(tc.metrics_out).read_text())
    assert saved["sha256"] == metrics["sha256"]
    _, meta = load_hashnet(path=tc.out)
    assert meta["mood_quantiles"].shape == (15, 101) and meta["bits"] == 64
    # the same seed gives the same weights
    tc2 = TrainConfig(**{**tc.__dict__, "out": str(tmp_path / "h2.safetensors"),
                         "metrics_out": str(tmp_path / "m2.json")})  # fmt: skip
    assert run_training(tc2)["history"][-1]["loss"] == pytest.approx(hist[-1]["loss"], rel=1e-5)


def test_roc_auc_and_map():
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert np.isnan(roc_auc(np.array([1.0, 2.0]), np.array([0, 0])))
    assert roc_auc(np.array([1.0, 1.0, 1.0]), np.array([0, 1, 0])) == 0.5
    labels = np.array([0, 0, 1, 1])
    groups = np.array([0, 1, 2, 3])
    perfect = np.abs(labels[:, None] - labels[None, :]).astype(float)
    assert map_at_k(perfect, labels, groups, k=10) == 1.0
    worst = 1.0 - perfect
    assert map_at_k(worst, labels, groups, k=1) == 0.0


def test_segment_decoding_matches_whole_track_mel(tmp_path: Path):
    from musicapp_lab.models.dataset import segment_patches, spread

    y = chord([220.0, 277.0, 330.0], 10.0, SR, amp=0.4) + noise(10.0, SR, amp=0.05, seed=3)
    path = write_audio(tmp_path / "seg.wav", y.astype(np.float32), SR)
    full = full_patches(track_logmel(path))
    idx = np.array([0, 1, 2])
    seg = segment_patches(path, idx * 187)
    np.testing.assert_allclose(seg, full[idx], atol=1e-3)
    assert spread(10, 3).tolist() == [2, 4, 7] and spread(3, 3).tolist() == [0, 1, 2]


def test_sampling_passes_merge_with_one_id_per_track(cache_dir: Path, tmp_path: Path):
    import shutil

    from musicapp_lab.models.train import load_split_cache

    for suffix in ("", "_p50"):
        shutil.copy(cache_dir / "features_train.npz", tmp_path / f"features_train{suffix}.npz")
        shutil.copy(cache_dir / "features_train.json", tmp_path / f"features_train{suffix}.json")
    one = FeatureCache.load(cache_dir / "features_train.npz")
    merged = load_split_cache(tmp_path, "train")
    assert len(merged) == 2 * len(one) and len(merged.tracks) == len(one.tracks)
    np.testing.assert_array_equal(merged.track, np.concatenate([one.track, one.track]))
    assert merged.tracks[0]["patches"] == 2 * one.tracks[0]["patches"]
    with pytest.raises(FileNotFoundError):
        load_split_cache(tmp_path, "val")


def test_ablation_runs_variants_and_picks_by_validation(cache_dir: Path):
    from musicapp_lab.models.ablation import best_variant, format_table, run_ablation

    tc = TrainConfig(seed=0, cache_dir=str(cache_dir), model={"d_model": 16, "hidden": 16,
                     "emb_dim": 8}, batch_size=4, lr=3e-3, device="cpu")  # fmt: skip
    variants = (("layers, GRU", {"variant": "layers", "cell": "gru"}),
                ("time, mid3 only", {"variant": "time", "layers": ["mid3"]}))  # fmt: skip
    rows = run_ablation(tc, epochs=1, variants=variants, log=lambda m: None)
    assert [r["label"] for r in rows] == ["layers, GRU", "time, mid3 only"]
    assert rows[1]["config"]["layers"] == ["mid3"] and rows[0]["config"]["cell"] == "gru"
    table = format_table(rows)
    assert table.count("\n") == 3 and "time, mid3 only" in table
    rows[0]["val_mean_auc"], rows[1]["val_mean_auc"] = 0.9, 0.8
    assert best_variant(rows)["label"] == "layers, GRU"
