"""Hashnet (student model) commands: ``musicapp train tagger`` and ``musicapp evaluate tagger-ablation``.

Only the standard library is imported here; torch and the models load inside the commands.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from musicapp_lab.cli._out import add_force, refuse_existing, write_json
from musicapp_lab.paths import REPO

_REPO = REPO
_DEFAULT_CONFIG = _REPO / "resources" / "models" / "hashnet_train.json"


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp train tagger``."""
    p = subparsers.add_parser(
        "tagger",
        help="distil the CNN-LSTM hashing model from the musicnn teachers",
        description=(
            "Train the hashnet (mood tags, valence/arousal, genre, binary codes, embedding) by "
            "distilling the ported MSD/MTT musicnn taggers on cached features of real music. "
            "With --prepare, first extract the Debian music packages' tracks, decode them, and "
            "cache log-Mel patches and the teachers' outputs under the config's cache_dir. "
            "Writes the weights (safetensors + .sha256), metrics JSON, a log file and the model "
            "card. Seeded and fully driven by the JSON config."
        ),
    )
    _common(p)
    p.add_argument("--prepare", action="store_true", help="build the data caches first (slow)")
    p.add_argument("--no-card", action="store_true", help="do not rewrite the model card")
    p.add_argument(
        "--card-only", action="store_true",
        help="only rewrite the model card from the last run's metrics (no training)",
    )  # fmt: skip
    p.set_defaults(func=_run_train)
    e = subparsers.add_parser(
        "tagger-emotion",
        help="fine-tune the hashnet's valence/arousal head on weak title labels; calibrate; evaluate",
        description=(
            "After `musicapp train tagger`: label the allowed Debian soundtracks' tracks from "
            "their titles (battle/victory -> energetic, menu/calm/sad -> calm, ...), fine-tune "
            "the valence/arousal layer on them (plus the circumplex distillation loss), fit the "
            "percentile tables of the reference collection (train and validation packages), and "
            "evaluate by track with bootstrap intervals: leave-one-package-out over all "
            "packages and on the test packages, beside the teachers and the parameter-free "
            "baseline. Rewrites the weights, results JSON (cache_dir/emotion.json) and card."
        ),
    )
    _common(e)
    e.add_argument("--weak-weight", type=float, default=1.0,
                   help="weight of the weak-label loss against the distillation loss (default 1)")
    e.add_argument("--no-card", action="store_true", help="do not rewrite the model card")
    e.set_defaults(func=_run_emotion)


def _run_emotion(args: argparse.Namespace) -> int:
    from musicapp_lab.models.emotion_run import run_emotion

    tc = _load_config(args)
    run_emotion(tc, log=print, weak_weight=args.weak_weight)
    if not args.no_card:
        metrics_path = Path(tc.metrics_out)
        if metrics_path.is_file():
            print(f"model card: {_write_card(tc, json.loads(metrics_path.read_text()), args.config)}")
    return 0


def register_evaluate(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp evaluate tagger-ablation``."""
    p = subparsers.add_parser(
        "tagger-ablation",
        help="ablation of the hashnet: LSTM/GRU/RNN reader, layers- vs time-as-steps, 1 vs 8 layers",
        description=(
            "Train each hashnet variant briefly on the cached features (same seed, data and "
            "budget) and print a table of agreement with the teachers on the held-out test "
            "packages (mean per-tag ROC-AUC) and retrieval quality of the codes (mAP@10). "
            "Needs the caches of `musicapp train tagger --prepare`."
        ),
    )
    _common(p)
    p.add_argument("--epochs", type=int, default=None, help="epochs per variant (default: config)")
    p.add_argument("--out", type=Path, default=None, help="JSON results (default: cache_dir)")
    p.add_argument(
        "--only", default=None, metavar="TEXT",
        help="run only the variants whose label contains TEXT; their rows replace those of the "
        "same label in an existing results file (an update: no --force needed)",
    )  # fmt: skip
    add_force(p)
    p.set_defaults(func=_run_ablation)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", type=Path, default=_DEFAULT_CONFIG,
        help=f"training config JSON (default {_DEFAULT_CONFIG.relative_to(_REPO)})",
    )  # fmt: skip
    p.add_argument("--device", default=None, help="auto (CUDA if present), cpu, cuda, ...")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: config)")


def _load_config(args: argparse.Namespace):
    from musicapp.errors import MusicappError
    from musicapp_lab.models.train import TrainConfig

    if not args.config.is_file():
        raise MusicappError(f"{args.config}: config file not found")
    try:
        tc = TrainConfig.from_file(args.config)
    except (ValueError, TypeError) as exc:
        raise MusicappError(f"{args.config}: bad training config ({exc})") from exc
    if args.device:
        tc.device = args.device
    if args.threads:
        tc.threads = args.threads
    os.environ.setdefault("OMP_NUM_THREADS", str(tc.threads))
    return tc


def _musicnn_sha() -> dict[str, str]:
    from musicapp.models.musicnn import weights_path
    from musicapp.models.weights import expected_sha256

    out = {}
    for name in ("MSD_musicnn", "MTT_musicnn"):
        try:
            out[name] = expected_sha256(weights_path(name))
        except Exception:  # a missing sidecar only leaves the card entry empty
            out[name] = "?"
    return out


def _write_card(tc, metrics: dict, config_path: Path) -> Path:
    from musicapp_lab.models.hashnet_card import write_card

    abl_path = Path(tc.cache_dir) / "ablation.json"
    ablation = json.loads(abl_path.read_text()) if abl_path.is_file() else None
    try:
        shown = str(config_path.resolve().relative_to(_REPO))
    except ValueError:
        shown = str(config_path)
    em_path = Path(tc.cache_dir) / "emotion.json"
    emotion = json.loads(em_path.read_text()) if em_path.is_file() else None
    return write_card(metrics, ablation, shown, _musicnn_sha(), seed=tc.seed, emotion=emotion)


def _run_train(args: argparse.Namespace) -> int:
    import torch

    from musicapp_lab.models.dataset import build_feature_cache, discover_tracks, extract_pk3_music
    from musicapp_lab.models.train import run_training

    tc = _load_config(args)
    if args.card_only:
        metrics_path = Path(tc.metrics_out)
        if not metrics_path.is_file():
            from musicapp.errors import MusicappError

            raise MusicappError(f"{metrics_path}: no metrics of a training run to write a card from")
        print(f"model card: {_write_card(tc, json.loads(metrics_path.read_text()), args.config)}")
        return 0
    torch.set_num_threads(tc.threads)
    cache = Path(tc.cache_dir)
    if args.prepare:
        extract_pk3_music(cache=cache)
        tracks = discover_tracks(cache=cache)
        if not tracks:
            from musicapp.errors import MusicappError

            raise MusicappError(f"{cache}: no training music found (see musicapp/models/dataset.py)")
        from musicapp_lab.models.train import pick_device

        for split, phases in tc.sample_phases.items():
            for phase in phases:
                build_feature_cache(tracks, cache, device=str(pick_device(tc.device)),
                                    max_patches_per_track=tc.patches_per_track,
                                    splits=(split,), phase=phase)  # fmt: skip
    metrics = run_training(tc, log=print)
    t = metrics["test"]
    print(f"test: mean ROC-AUC {t['mean_auc']:.4f} (moods {t['mean_auc_mood']:.4f}, genres "
          f"{t['mean_auc_genre']:.4f}); code mAP@10 genre {t['map10_genre_hamming']:.3f} "
          f"(random {t['map10_genre_random']:.3f})")  # fmt: skip
    if not args.no_card:
        print(f"model card: {_write_card(tc, metrics, args.config)}")
    return 0


def _run_ablation(args: argparse.Namespace) -> int:
    import time

    from musicapp.errors import MusicappError
    from musicapp_lab.models.ablation import VARIANTS, best_variant, format_table, run_ablation

    tc = _load_config(args)
    epochs = args.epochs or tc.ablation_epochs
    out = args.out or Path(tc.cache_dir) / "ablation.json"
    merge = bool(args.only) and out.is_file()  # --only updates the file's rows: no --force
    refuse_existing(out, force=args.force or merge)
    variants = VARIANTS
    if args.only:
        variants = tuple(v for v in VARIANTS if args.only in v[0])
        if not variants:
            raise MusicappError(f"no ablation variant label contains {args.only!r}")
    rows = run_ablation(tc, epochs, variants=variants, log=print)
    if args.only and out.is_file():
        old = json.loads(out.read_text())
        if old.get("epochs") != epochs or old.get("seed") != tc.seed:
            raise MusicappError(f"{out}: earlier results used other epochs/seed; rerun them all")
        new = {r["label"]: r for r in rows}
        merged = [new.pop(r["label"], r) for r in old["rows"]]
        order = [label for label, _ in VARIANTS]
        rows = sorted(merged + list(new.values()),
                      key=lambda r: order.index(r["label"]) if r["label"] in order else len(order))
    best = best_variant(rows)
    result = {"seed": tc.seed, "epochs": epochs, "rows": rows, "best": best["label"],
              "date": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip
    write_json(out, result, force=args.force or merge, indent=1, default=float)
    print(format_table(rows))
    print(f"best by validation mean ROC-AUC: {best['label']}; results in {out}")
    metrics_path = Path(tc.metrics_out)
    if metrics_path.is_file() and args.out is None:
        print(f"model card: {_write_card(tc, json.loads(metrics_path.read_text()), args.config)}")
    return 0
