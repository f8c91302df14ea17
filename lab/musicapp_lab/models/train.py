"""Distillation training of the hashnet on cached teacher features (``musicapp train tagger``).

The teachers are the ported MSD_musicnn and MTT_musicnn. The student (:mod:`musicapp.models.hashnet`)
learns, per 3-s patch of real music:

* the teachers' logits of the 15 mood tags and 29 genre tags (regression on logits standardised
  per tag with training-set statistics);
* valence/arousal from :mod:`musicapp.models.circumplex`, computed from the teachers' mood scores
  calibrated as percentiles against the training set;
* all 100 teacher logits from its embedding, and the 44 tags from its hash code (auxiliary);
* hash-code regularisers (quantisation, bit balance).

Everything is seeded and driven by a JSON config (:class:`TrainConfig`); the log goes to a file.
Epochs are cheap because the frozen front end's sequences are cached (:mod:`.dataset`). Model
selection uses the validation package only; the test packages are touched once, for the metrics.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from musicapp.models.calibration import fit_quantiles, to_percentile
from musicapp.models.circumplex import valence_arousal
from musicapp.models.device import select_device
from musicapp.models.hashnet import (
    GENRE_SOURCES,
    LAYER_CHANNELS,
    LAYER_NAMES,
    MOOD_SOURCES,
    HashNetConfig,
    HashNetHead,
    LossWeights,
    binary_code,
    hamming_distance,
    hashnet_loss,
)
from musicapp.models.musicnn import MSD_TAGS, MTT_TAGS
from musicapp_lab.models.dataset import DEFAULT_CACHE, REPO, FeatureCache

CACHED_GRID = (64, 32)
CACHED_TIME_STEPS = 32


@dataclass
class TrainConfig:
    """A training run (JSON keys of the same names; ``model`` and ``loss`` are nested)."""

    seed: int = 0
    cache_dir: str = str(DEFAULT_CACHE)
    out: str = str(REPO / "resources" / "models" / "hashnet.safetensors")
    log: str = str(DEFAULT_CACHE / "train.log")
    metrics_out: str = str(DEFAULT_CACHE / "metrics.json")
    model: dict[str, Any] = field(default_factory=dict)
    loss: dict[str, float] = field(default_factory=dict)
    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    device: str = "auto"
    threads: int = 1
    top_fraction: float = 0.1  # teacher's top tags: above the training set's 90th percentile
    max_train: int | None = None  # cap on training patches (tests, quick runs)
    # --prepare: segments per track taken from each split (evenly spread; None = all)
    patches_per_track: dict[str, int] = field(
        default_factory=lambda: {"train": 10, "val": 6, "test": 20}
    )
    # --prepare: sampling passes per split (phase of each pass, see dataset.spread)
    sample_phases: dict[str, list[float]] = field(
        default_factory=lambda: {"train": [0.0, 0.5], "val": [0.0, 0.5], "test": [0.0]}
    )
    ablation_epochs: int = 20

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a JSON config; unknown keys are an error (typos should not pass silently)."""
        data = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown config keys {unknown}")
        for key in ("cache_dir", "out", "log", "metrics_out"):  # relative to the repository
            if key in data and not Path(data[key]).is_absolute():
                data[key] = str(REPO / data[key])
        return cls(**data)

    def model_config(self) -> HashNetConfig:
        """The hashnet configuration of this run."""
        return HashNetConfig(**self.model)

    def loss_weights(self) -> LossWeights:
        """The loss weights of this run."""
        return LossWeights(**self.loss)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    """The device for ``name`` (``auto``: CUDA, then MPS, then CPU), see
    :func:`musicapp.models.device.select_device`."""
    return select_device(name)


# ---------------------------------------------------------------------------------------------
# Inputs and targets
# ---------------------------------------------------------------------------------------------


def _column(source: str, tag: str) -> int:
    return MSD_TAGS.index(tag) if source == "MSD" else 50 + MTT_TAGS.index(tag)


MOOD_COLUMNS = [_column(s, t) for s, t in MOOD_SOURCES]
GENRE_COLUMNS = [_column(s, t) for s, t in GENRE_SOURCES]


def model_inputs(fc: FeatureCache, cfg: HashNetConfig) -> torch.Tensor:
    """The cached reader input of ``cfg`` (variant and conv-layer subset), float16 (N, L, D)."""
    if cfg.variant == "layers":
        if tuple(cfg.grid) != CACHED_GRID:
            raise ValueError(f"the cache holds layer steps of grid {CACHED_GRID}, not {cfg.grid}")
        idx = [LAYER_NAMES.index(n) for n in cfg.layers]
        return torch.from_numpy(np.ascontiguousarray(fc.layers_seq[:, idx]))
    if cfg.time_steps != CACHED_TIME_STEPS:
        raise ValueError(f"the cache holds {CACHED_TIME_STEPS} time steps, not {cfg.time_steps}")
    offsets = np.cumsum([0] + [LAYER_CHANNELS[n] for n in LAYER_NAMES])
    starts = [LAYER_NAMES.index(n) for n in cfg.layers]
    chans = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in starts])
    return torch.from_numpy(np.ascontiguousarray(fc.time_seq[:, :, chans]))


@dataclass
class TeacherStats:
    """Training-set statistics of the teachers' 100 logits, used to build every split's targets."""

    mean: np.ndarray  # (100,)
    std: np.ndarray  # (100,)
    mood_quantiles: np.ndarray  # (15, 101) of the teachers' mood logits (for the circumplex)
    quantiles: np.ndarray  # (100, 101) of all teacher logits (for binarising and retrieval labels)

    @classmethod
    def fit(cls, logits: np.ndarray) -> TeacherStats:
        """Fit on the training set's teacher logits (N, 100)."""
        return cls(
            mean=logits.mean(axis=0),
            std=logits.std(axis=0) + 1e-6,
            mood_quantiles=fit_quantiles(logits[:, MOOD_COLUMNS]),
            quantiles=fit_quantiles(logits),
        )


def teacher_logits(fc: FeatureCache) -> np.ndarray:
    """The teachers' logits (N, 100): MSD then MTT."""
    return np.concatenate([fc.msd_logits, fc.mtt_logits], axis=1).astype(np.float32)


def make_targets(logits: np.ndarray, stats: TeacherStats) -> dict[str, torch.Tensor]:
    """Distillation targets of :func:`musicapp.models.hashnet.hashnet_loss` from teacher logits."""
    z = (logits - stats.mean) / stats.std
    pct = to_percentile(logits[:, MOOD_COLUMNS], stats.mood_quantiles) / 100.0
    va = valence_arousal(pct)
    return {
        "mood_z": torch.from_numpy(z[:, MOOD_COLUMNS].astype(np.float32)),
        "genre_z": torch.from_numpy(z[:, GENRE_COLUMNS].astype(np.float32)),
        "teacher_z": torch.from_numpy(z.astype(np.float32)),
        "valence_arousal": torch.from_numpy(va.astype(np.float32)),
    }


def init_head(cfg: HashNetConfig, stats: TeacherStats) -> HashNetHead:
    """A fresh head whose output de-standardisation uses the teachers' statistics."""
    head = HashNetHead(cfg)
    head.mood_mean.copy_(torch.from_numpy(stats.mean[MOOD_COLUMNS]))
    head.mood_std.copy_(torch.from_numpy(stats.std[MOOD_COLUMNS]))
    head.genre_mean.copy_(torch.from_numpy(stats.mean[GENRE_COLUMNS]))
    head.genre_std.copy_(torch.from_numpy(stats.std[GENRE_COLUMNS]))
    return head


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC-AUC (Mann-Whitney, ties count half); NaN when only one class is present."""
    labels = labels.astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average ranks over ties
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def nanmean(values: np.ndarray) -> float:
    """Mean of the finite values; NaN (without a warning) when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def map_at_k(
    dist: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int = 10
) -> float:
    """Mean average precision at ``k`` of ranking by ``dist`` (N, N), ascending.

    A query's candidates are the items of other groups (other tracks); an item is relevant when it
    has the query's label. Ties are broken by item index (stable sort), so they get no credit
    beyond chance.
    """
    aps = []
    for q in range(dist.shape[0]):
        cand = np.flatnonzero(groups != groups[q])
        if cand.size == 0:
            continue
        rel_all = labels[cand] == labels[q]
        if not rel_all.any():
            continue
        order = cand[np.argsort(dist[q, cand], kind="stable")[:k]]
        rel = labels[order] == labels[q]
        hits = np.cumsum(rel)
        precision = hits / np.arange(1, len(order) + 1)
        denom = min(k, int(rel_all.sum()))
        aps.append(float((precision * rel).sum() / denom))
    return float(np.mean(aps)) if aps else float("nan")


@torch.no_grad()
def predict(head: HashNetHead, x: torch.Tensor, device: torch.device, batch: int = 256) -> dict:
    """Run the head over cached inputs; numpy outputs."""
    head.eval()
    outs: dict[str, list[np.ndarray]] = {}
    for i in range(0, x.shape[0], batch):
        o = head(x[i : i + batch].to(device).float())
        for k in ("mood_logits", "genre_logits", "valence_arousal", "code", "embedding"):
            outs.setdefault(k, []).append(o[k].float().cpu().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def evaluate(
    head: HashNetHead,
    x: torch.Tensor,
    logits: np.ndarray,
    tracks: np.ndarray,
    stats: TeacherStats,
    device: torch.device,
    top_fraction: float = 0.1,
) -> dict[str, Any]:
    """Agreement with the teachers and retrieval quality on one split.

    * per-tag ROC-AUC of the student's logit against the teacher's binarised top tags: a segment
      is positive for a tag when the teacher's logit is above the training set's
      ``1 - top_fraction`` quantile of that tag;
    * valence/arousal: Pearson r and mean absolute error against the circumplex targets;
    * retrieval: mAP@10 over segments of other tracks, relevance = same teacher top genre
      (resp. top mood) by calibrated percentile, ranked by Hamming distance of the binary codes
      (ties in their stable order) and by cosine distance of the embeddings;
    * code statistics: fraction of +1 per bit (balance), mean |relaxed code| (quantisation).
    """
    pred = predict(head, x, device)
    q_level = int(round(100 * (1 - top_fraction)))
    thresholds = stats.quantiles[:, q_level]
    student = np.concatenate([pred["mood_logits"], pred["genre_logits"]], axis=1)
    cols = MOOD_COLUMNS + GENRE_COLUMNS
    names = [f"{s}:{t}" for s, t in (*MOOD_SOURCES, *GENRE_SOURCES)]
    per_tag = {}
    for j, (name, c) in enumerate(zip(names, cols, strict=True)):
        per_tag[name] = roc_auc(student[:, j], logits[:, c] >= thresholds[c])
    vals = np.array(list(per_tag.values()))
    mood_auc = vals[: len(MOOD_COLUMNS)]
    genre_auc = vals[len(MOOD_COLUMNS) :]
    target_va = make_targets(logits, stats)["valence_arousal"].numpy()
    va_r = [float(np.corrcoef(pred["valence_arousal"][:, i], target_va[:, i])[0, 1])
            for i in range(2)]  # fmt: skip
    va_mae = np.abs(pred["valence_arousal"] - target_va).mean(axis=0)
    # retrieval labels from the teacher
    pct = to_percentile(logits, stats.quantiles)
    top_genre = np.argmax(pct[:, GENRE_COLUMNS], axis=1)
    top_mood = np.argmax(pct[:, MOOD_COLUMNS], axis=1)
    bits = torch.from_numpy(binary_code(torch.from_numpy(pred["code"])).numpy())
    ham = hamming_distance(bits, bits).numpy()
    emb = pred["embedding"]
    cos = 1.0 - emb @ emb.T
    rng = np.random.default_rng(0)
    rand = rng.random(ham.shape)
    return {
        "n_segments": int(x.shape[0]),
        "n_tracks": len(np.unique(tracks)),
        "per_tag_auc": per_tag,
        "mean_auc": nanmean(vals),
        "mean_auc_mood": nanmean(mood_auc),
        "mean_auc_genre": nanmean(genre_auc),
        "undefined_auc_tags": [n for n, v in per_tag.items() if np.isnan(v)],
        "va_pearson": va_r,
        "va_mae": [float(v) for v in va_mae],
        "map10_genre_hamming": map_at_k(ham, top_genre, tracks),
        "map10_genre_cosine": map_at_k(cos, top_genre, tracks),
        "map10_genre_random": map_at_k(rand, top_genre, tracks),
        "map10_mood_hamming": map_at_k(ham, top_mood, tracks),
        "map10_mood_cosine": map_at_k(cos, top_mood, tracks),
        "map10_mood_random": map_at_k(rand, top_mood, tracks),
        "bit_on_fraction_min": float((pred["code"] >= 0).mean(axis=0).min()),
        "bit_on_fraction_max": float((pred["code"] >= 0).mean(axis=0).max()),
        "mean_abs_code": float(np.abs(pred["code"]).mean()),
    }


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


@dataclass
class Splits:
    """Inputs, teacher logits and track ids of train/val/test for one model config."""

    x: dict[str, torch.Tensor]
    logits: dict[str, np.ndarray]
    tracks: dict[str, np.ndarray]
    caches: dict[str, FeatureCache]


def merge_caches(caches: list[FeatureCache]) -> FeatureCache:
    """Concatenate caches of one split (several sampling passes), giving each track one id."""
    if len(caches) == 1:
        return caches[0]
    tracks: list[dict] = []
    ids: dict[tuple[str, str], int] = {}
    remapped = []
    for c in caches:
        local = []
        for t in c.tracks:
            key = (t["package"], t["key"])
            if key not in ids:
                ids[key] = len(tracks)
                tracks.append(dict(t))
            else:
                tracks[ids[key]]["patches"] += t["patches"]
            local.append(ids[key])
        remapped.append(np.asarray(local, dtype=np.int32)[c.track])
    return FeatureCache(
        layers_seq=np.concatenate([c.layers_seq for c in caches]),
        time_seq=np.concatenate([c.time_seq for c in caches]),
        msd_logits=np.concatenate([c.msd_logits for c in caches]),
        mtt_logits=np.concatenate([c.mtt_logits for c in caches]),
        track=np.concatenate(remapped),
        start_s=np.concatenate([c.start_s for c in caches]),
        tracks=tracks,
    )


def load_split_cache(cache_dir: Path, name: str) -> FeatureCache:
    """All cached passes of split ``name`` (``features_<name>.npz``, ``features_<name>_p*.npz``)."""
    paths = sorted(cache_dir.glob(f"features_{name}.npz")) + sorted(
        cache_dir.glob(f"features_{name}_p*.npz")
    )
    if not paths:
        raise FileNotFoundError(
            f"{cache_dir}/features_{name}.npz: feature cache missing; run "
            "`musicapp train tagger --prepare` first"
        )
    return merge_caches([FeatureCache.load(p) for p in paths])


def load_splits(cache_dir: Path, cfg: HashNetConfig, names=("train", "val", "test")) -> Splits:
    """Load the cached features of the named splits for ``cfg``."""
    caches = {name: load_split_cache(cache_dir, name) for name in names}
    return Splits(
        x={n: model_inputs(c, cfg) for n, c in caches.items()},
        logits={n: teacher_logits(c) for n, c in caches.items()},
        tracks={n: c.track.copy() for n, c in caches.items()},
        caches=caches,
    )


def fit(
    cfg: HashNetConfig,
    x_train: torch.Tensor,
    targets: dict[str, torch.Tensor],
    tc: TrainConfig,
    stats: TeacherStats,
    device: torch.device,
    log: Callable[[str], None],
    val: tuple[torch.Tensor, np.ndarray, np.ndarray] | None = None,
) -> tuple[HashNetHead, list[dict]]:
    """Train a head; with ``val`` keep the epoch of best validation mean ROC-AUC."""
    seed_everything(tc.seed)
    head = init_head(cfg, stats).to(device)
    opt = torch.optim.AdamW(head.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    steps_per_epoch = max(1, int(np.ceil(x_train.shape[0] / tc.batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=tc.lr, total_steps=tc.epochs * steps_per_epoch, pct_start=0.1
    )
    weights = tc.loss_weights()
    gen = torch.Generator().manual_seed(tc.seed)
    history: list[dict] = []
    best_state, best_score = None, -np.inf
    for epoch in range(tc.epochs):
        head.train()
        t0 = time.time()
        perm = torch.randperm(x_train.shape[0], generator=gen)
        sums: dict[str, float] = {}
        total = 0.0
        for i in range(0, len(perm), tc.batch_size):
            idx = perm[i : i + tc.batch_size]
            if len(idx) < 2:
                continue
            out = head(x_train[idx].to(device).float())
            tgt = {k: v[idx].to(device) for k, v in targets.items()}
            loss, parts = hashnet_loss(out, tgt, weights)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 5.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
        n = x_train.shape[0]
        row: dict[str, Any] = {"epoch": epoch + 1, "loss": total / n,
                               **{k: v / n for k, v in sums.items()},
                               "seconds": time.time() - t0}  # fmt: skip
        if val is not None:
            m = evaluate(head, val[0], val[1], val[2], stats, device, tc.top_fraction)
            row["val_mean_auc"] = m["mean_auc"]
            if m["mean_auc"] > best_score or best_state is None:
                best_score = m["mean_auc"]
                best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
        history.append(row)
        log(json.dumps({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}))
    if best_state is not None:
        head.load_state_dict(best_state)
    head.eval()
    return head, history


def calibration_tables(
    head: HashNetHead, x_ref: torch.Tensor, device: torch.device
) -> dict[str, torch.Tensor]:
    """Percentile tables of the student's outputs on a reference set (the training segments).

    Tag tables are of the probabilities ``sigmoid(logits)`` (what the engine reports).
    """
    pred = predict(head, x_ref, device)

    def prob(z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z.astype(np.float64)))

    return {
        "mood_quantiles": torch.from_numpy(fit_quantiles(prob(pred["mood_logits"]))),
        "genre_quantiles": torch.from_numpy(fit_quantiles(prob(pred["genre_logits"]))),
        "va_quantiles": torch.from_numpy(fit_quantiles(pred["valence_arousal"])),
    }


def run_training(tc: TrainConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train, evaluate on the held-out test packages, save the weights; return the metrics."""
    from musicapp.models.hashnet import save_hashnet

    torch.set_num_threads(max(1, tc.threads))
    Path(tc.log).parent.mkdir(parents=True, exist_ok=True)
    log_fh = open(tc.log, "a", encoding="utf-8")  # noqa: SIM115 - closed below

    def _log(msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        log_fh.write(line + "\n")
        log_fh.flush()
        if log:
            log(line)

    try:
        seed_everything(tc.seed)
        device = pick_device(tc.device)
        cfg = tc.model_config()
        _log(f"config {json.dumps(asdict(tc), sort_keys=True)}")
        sp = load_splits(Path(tc.cache_dir), cfg)
        x_train, l_train = sp.x["train"], sp.logits["train"]
        if tc.max_train and x_train.shape[0] > tc.max_train:
            x_train, l_train = x_train[: tc.max_train], l_train[: tc.max_train]
        stats = TeacherStats.fit(l_train)
        targets = make_targets(l_train, stats)
        _log(f"device {device}; train {x_train.shape[0]} val {sp.x['val'].shape[0]} "
             f"test {sp.x['test'].shape[0]} segments; input {tuple(x_train.shape[1:])}")  # fmt: skip
        t0 = time.time()
        head, history = fit(
            cfg, x_train, targets, tc, stats, device, _log,
            val=(sp.x["val"], sp.logits["val"], sp.tracks["val"]),
        )
        train_seconds = time.time() - t0
        calib = calibration_tables(head, x_train, device)
        metrics = {
            "variant": cfg.variant, "cell": cfg.cell, "layers": cfg.layers, "bits": cfg.bits,
            "train_seconds": train_seconds, "device": str(device),
            "val": evaluate(head, sp.x["val"], sp.logits["val"], sp.tracks["val"], stats,
                            device, tc.top_fraction),
            "test": evaluate(head, sp.x["test"], sp.logits["test"], sp.tracks["test"], stats,
                             device, tc.top_fraction),
            "history": history,
            "data": {n: {"segments": int(sp.x[n].shape[0]), "tracks": c.tracks}
                     for n, c in sp.caches.items()},
        }  # fmt: skip
        metrics["data"]["train"]["segments_used"] = int(x_train.shape[0])
        digest = save_hashnet(
            tc.out, head.cpu(), calib,
            extra_meta={"test_mean_auc": f"{metrics['test']['mean_auc']:.4f}",
                        "trained": time.strftime("%Y-%m-%d")},
        )  # fmt: skip
        metrics["sha256"] = digest
        metrics["weights"] = str(tc.out)
        Path(tc.metrics_out).parent.mkdir(parents=True, exist_ok=True)
        Path(tc.metrics_out).write_text(json.dumps(metrics, indent=1, default=float))
        _log(f"test mean ROC-AUC {metrics['test']['mean_auc']:.4f}; saved {tc.out} sha256 {digest}")
        return metrics
    finally:
        log_fh.close()
