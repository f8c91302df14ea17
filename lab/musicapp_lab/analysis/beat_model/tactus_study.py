"""Tactus level study: features of the tracked beat grid and the annotated level, per piece.

For every piece of the given built sets (evaluation cache format), the analysis runs up to the
tracked beat grid (onset cue, template chords) and :func:`.level_features.level_features`
describes it; the label is the metrical level (x1/2, x1, x2 of the grid's tempo) within 8 % of the
annotated tempo (-1 when none is). Also stored: what the current rule does (the tactus rule in
``musicapp.analysis.api``). Written to one ``.npz`` for :mod:`.tactus_fit`.

Run: ``OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.beat_model.tactus_study
--set data/tactus:train-gen --set data/tactus:train-real --set CACHE:dev --set CACHE:dev-real
--out data/tactus/levels.npz``. The evaluation splits are refused.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

REFUSED = ("eval", "eval-real", "eval2-real", "eval3", "eval3-real")


def grid_bpm(beat_frames: np.ndarray) -> float:
    """Tempo of a beat grid from its median inter-beat interval (0 with fewer than 2 beats)."""
    from musicapp.analysis.features import FPS

    if beat_frames.size < 2:
        return 0.0
    return float(60.0 * FPS / np.median(np.diff(beat_frames)))


def level_label(truth_bpm: float | None, bpm: float, tol: float = 0.08) -> int:
    """Index into LEVELS of the level within ``tol`` of ``truth_bpm``, else -1."""
    from musicapp_lab.analysis.beat_model.level_features import LEVELS

    if not truth_bpm or bpm <= 0:
        return -1
    for i, f in enumerate(LEVELS):
        if abs(f * bpm / truth_bpm - 1.0) <= tol:
            return i
    return -1


def piece_row(y: np.ndarray, sr: int) -> dict:
    """Tracked grid, its features and the current rule's first decision for one piece."""
    from musicapp.analysis import api
    from musicapp.analysis import beat_model as beat_mod
    from musicapp.analysis import features as F
    from musicapp.analysis.chords import ChordParams
    from musicapp.analysis.key_report import no_key_reason
    from musicapp_lab.analysis.beat_model.level_features import level_features

    y = F.to_analysis_rate(y, sr)
    duration = y.size / F.SAMPLE_RATE
    fr = F.compute_frames(y)
    est, bf = beat_mod.track(fr, None)
    seg = api._segments(fr, bf, duration, ChordParams(emission="templates"))
    harmonic = no_key_reason(api._key_chroma(seg).sum(axis=1)) is None
    bpc = api.beats_per_chord(seg.labels[1:-1])
    feats = level_features(fr.onset, fr.low_onset, est.bpm, est.confidence, bf, seg.labels, bpc)
    rule = 1
    if (harmonic and bf.size >= 16 and est.bpm >= api.TACTUS_HALVE_MIN_BPM
            and bpc >= api.TACTUS_HALVE_BEATS_PER_CHORD):
        rule = 0
    elif bf.size >= 8 and est.bpm < api.TACTUS_DOUBLE_MAX_BPM:
        rule = 2
    return {"features": feats, "rule": rule, "bpm": est.bpm, "grid_bpm": grid_bpm(bf),
            "harmonic": harmonic, "n_beats": int(bf.size)}


def development_items(specs: list[str], needs: str) -> Iterator[tuple[str, Any]]:
    """``(split, item)`` of every ``CACHE_DIR:SPLIT`` in ``specs`` whose truth has ``needs``;
    an evaluation split is refused (SystemExit) before anything is read."""
    from musicapp_lab.analysis.evalset.dataset import load_split

    for spec in specs:
        cache, split = spec.rsplit(":", 1)
        if split in REFUSED:
            raise SystemExit(f"refused: {split} is an evaluation split")
        for it in load_split(split, Path(cache).expanduser()):
            if it.truth.get(needs):
                yield split, it


def main(argv: list[str] | None = None) -> None:
    """Command line: one row per piece of every ``--set DIR:SPLIT``."""

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", required=True, help="CACHE_DIR:SPLIT")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    rows = []
    for split, it in development_items(args.set, "tempo"):
        y, sr = it.load()
        r = piece_row(y, sr)
        r["label"] = level_label(it.truth["tempo"], r["grid_bpm"])
        r.update(name=it.name, set=split, truth_bpm=float(it.truth["tempo"]),
                 song=it.name.split("-")[-1] if it.truth["source"] == "pop909" else it.name)
        rows.append(r)
        print(f"{split:10s} {it.name:18s} true {r['truth_bpm']:6.1f} grid {r['grid_bpm']:6.1f}"
              f" label {r['label']:2d} rule {r['rule']}", flush=True)
    np.savez(args.out, features=np.array([r["features"] for r in rows]),
             label=np.array([r["label"] for r in rows]), rule=np.array([r["rule"] for r in rows]),
             meta=json.dumps([{k: v for k, v in r.items() if k != "features"} for r in rows]))
    print(f"wrote {args.out} ({len(rows)} pieces)")


if __name__ == "__main__":
    main()
