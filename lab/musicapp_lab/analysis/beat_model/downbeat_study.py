"""Downbeat cue study: per-beat downbeat cues of the product's beat grid and the annotated bars.

For every piece of the given built sets the analysis runs to its final beat grid (onset cue,
the product's tactus rule) and stores, per beat, the cues
:func:`musicapp.analysis.meter.downbeat_strength` weighs (harmonic change, bass-chroma change,
low-band and full-band onset) and the beat-synchronous treble and bass chroma, plus the beat
times and the annotated downbeats and meter, so that downbeat choices can be compared offline
(:mod:`.downbeat_fit`). The evaluation splits are refused.

Run: ``OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.beat_model.downbeat_study
--set data/tactus:train-real ... --out data/tactus/downbeats.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def piece_cues(y: np.ndarray, sr: int, learned: bool = False) -> dict:
    """Beat times and the four per-beat cues (hc, bc, low, onset) of the product's grid, plus
    the learned downbeat activation as a fifth when ``learned`` (the grid stays the onset one)."""
    from musicapp.analysis import api, meter
    from musicapp.analysis import beat_model as beat_mod
    from musicapp.analysis import features as F
    from musicapp.analysis.chords import ChordParams
    from musicapp.analysis.key_report import no_key_reason

    y = F.to_analysis_rate(y, sr)
    duration = y.size / F.SAMPLE_RATE
    fr = F.compute_frames(y)
    est, bf = beat_mod.track(fr, None)
    params = ChordParams(emission="templates")
    seg = api._segments(fr, bf, duration, params)
    harmonic = no_key_reason(api._key_chroma(seg).sum(axis=1)) is None
    bf, est, seg = api._rule_level(fr, est, bf, seg, harmonic, duration, params)
    if bf.size < 6:
        return {"beats": bf / F.FPS, "cues": np.zeros((5 if learned else 4, bf.size)),
                "treble": np.zeros((12, bf.size)), "bass": np.zeros((12, bf.size))}
    idx = np.clip(np.searchsorted(seg.bounds, bf), 0, seg.treble.shape[1] - 1)
    rows = [meter._cos_change(seg.treble[:, idx]), meter._cos_change(seg.bass[:, idx]),
            api._peak_near(fr.low_onset, bf), api._peak_near(fr.onset, bf)]
    if learned:
        act = beat_mod.default_model().activations(y)
        rows.append(api._peak_near(act.downbeat[:fr.n_frames].astype(np.float64), bf))
    cues = np.stack(rows)
    return {"beats": bf / F.FPS, "cues": cues, "treble": seg.treble[:, idx],
            "bass": seg.bass[:, idx]}


def main(argv: list[str] | None = None) -> None:
    """Command line: cues of every piece of every ``--set DIR:SPLIT``."""
    from musicapp_lab.analysis.beat_model.tactus_study import development_items

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", required=True, help="CACHE_DIR:SPLIT")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--learned", action="store_true",
                    help="also store the learned downbeat activation (BeatTCN; it was trained on "
                         "the train-real excerpts, so only other sets score it out of sample)")
    args = ap.parse_args(argv)
    rows = []
    for split, it in development_items(args.set, "downbeats"):
        y, sr = it.load()
        r = piece_cues(y, sr, args.learned)
        rows.append({"name": it.name, "set": split, "beats": r["beats"].tolist(),
                     "cues": r["cues"].tolist(), "downbeats": it.truth["downbeats"],
                     "treble": np.round(r["treble"], 4).tolist(),
                     "bass": np.round(r["bass"], 4).tolist(),
                     "meter": it.truth["meter"], "truth_beats": it.truth["beats"]})
        print(split, it.name, flush=True)
    Path(args.out).write_text(json.dumps(rows))
    print(f"wrote {args.out} ({len(rows)} pieces)")


if __name__ == "__main__":
    main()
