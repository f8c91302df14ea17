"""Off-beat shift vs tactus halving (issue 11): beat F, Acc1 and downbeat F before/after.

On some POP909 ballads the tracker's eighth-note grid is on the beats, ``fix_offbeat`` moves it
by half a grid step (the bass is stronger between the eighths) and the tactus rule then halves
it, so the beats come out a sixteenth late. Variants, all scored on the same frames per piece:

* ``product``: the analysis as shipped (shift, then halve on the accented phase);
* ``skip``: when the rule halves, start from the tracker's grid before the off-beat shift;
* ``phase4``: when the rule halves, choose among the four sixteenth phases of the quarter grid
  (every other beat of the shifted and of the unshifted grid) by the halving accent cue;
* ``low``: the halving phase from chord-change parity plus the off-beat check's cue (low-band
  onsets only, instead of low + 0.5 full-band);
* ``low_only``: the halving phase from the low-band onsets alone (the off-beat check's cue).

Only development data: ``--set DIR:SPLIT`` (e.g. ``data/tactus:train-real``,
``~/.cache/musicapp/analysis-eval:dev``). Per-piece scores go to ``--out`` (JSON); the summary
gives bootstrap 95 % intervals over songs and paired differences against ``product``.

    python -m musicapp_lab.analysis.beat_model.offbeat_halve --set data/tactus:train-gen \
        --set data/tactus:train-real --set ~/.cache/musicapp/analysis-eval:dev \
        --set /tmp/devreal_cache:dev-real --out data/tactus/offbeat_halve.json

Result (2026-11-28, nothing shipped): ``product`` reproduces the README's figures (train-real beat
F 0.718, Acc1 0.595, downbeat F 0.519; train-gen 0.962 / 0.933 / 0.813; dev-real 0.783 / 0.833 /
0.733). The tracker's off-beat shift fires on 1 of 195 train-real pieces (0 of 30 dev-real), so
``skip`` changes one piece (train-467, beat F 0.00 -> 0.04, still at the wrong level); ``low``
changes one (+0.003 [0.000, +0.010]); ``phase4`` (-0.003 [-0.027, +0.020], 14 changed; dev-real
-0.026, 2 changed) and ``low_only`` (-0.007 [-0.036, +0.017], 12 changed) flip the halving phase
about as often wrong as right. The old set is unchanged under every variant.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from musicapp.analysis import api
from musicapp.analysis import chords as chords_mod
from musicapp.analysis import features as F
from musicapp.analysis import meter as meter_mod
from musicapp.analysis import tempo as tempo_mod
from musicapp.analysis.grid import describe_tempo
from musicapp.analysis.key_report import no_key_reason
from musicapp_lab.analysis.evalset import scoring
from musicapp_lab.analysis.evalset.dataset import load_split

VARIANTS = ("product", "skip", "phase4", "low", "low_only")
FORBIDDEN = ("eval", "eval-real", "eval2", "eval2-real", "eval3", "eval3-real")


def _track(fr: F.Frames) -> tuple[tempo_mod.TempoEstimate, np.ndarray, np.ndarray]:
    """The onset-cue tracker: estimate, raw beat frames and the off-beat-fixed frames."""
    est = tempo_mod.estimate_tempo(fr.onset, fr.low_onset)
    raw = np.zeros(0, dtype=int)
    if est.confidence > 0:
        curve = tempo_mod.local_tempo_track(fr.onset, est.bpm, low_onset=fr.low_onset)
        raw = tempo_mod.track_beats(fr.onset, est.bpm if curve is None else curve)
    return est, raw, tempo_mod.fix_offbeat(raw, fr.low_onset)


def _phase4(fr: F.Frames, fixed: np.ndarray) -> np.ndarray:
    """Every other beat of the grid or of its midpoints (four sixteenth phases of a quarter
    grid), the phase with the strongest halving accent."""
    acc = tempo_mod.normalize_onset(fr.low_onset + 0.5 * fr.onset)
    mids = ((fixed[:-1] + fixed[1:]) // 2).astype(int)
    cands = [g[p::2] for g in (fixed, mids) for p in (0, 1)]
    scores = [float(np.mean(api._peak_near(acc, c))) for c in cands]
    return cands[int(np.argmax(scores))]


def analyse(y: np.ndarray, sr: int) -> dict[str, dict]:
    """Beats, downbeats and tempo of each variant (same frames)."""
    fr = F.compute_frames(F.to_analysis_rate(y, sr, copy=False))
    duration = fr.n_frames / F.FPS
    est0, raw, fixed = _track(fr)
    params = replace(chords_mod.ChordParams(), emission="templates")
    out: dict[str, dict] = {"diag": {"shifted": not np.array_equal(raw, fixed),
                                     "tracker_bpm": est0.bpm}}
    for variant in VARIANTS:
        est, beat_frames = est0, fixed
        seg = api._segments(fr, beat_frames, duration, params)
        harmonic = no_key_reason(api._key_chroma(seg).sum(axis=1)) is None
        halved_once = False
        for _ in range(2):
            bpc = api.beats_per_chord(seg.labels[1:-1])
            if (harmonic and beat_frames.size >= 16 and est.bpm >= api.TACTUS_HALVE_MIN_BPM
                    and bpc >= api.TACTUS_HALVE_BEATS_PER_CHORD):
                if variant == "skip" and not halved_once:
                    beat_frames = tempo_mod.fix_offbeat(
                        api._halve(raw, seg.labels if np.array_equal(raw, fixed) else
                                   api._segments(fr, raw, duration, params).labels,
                                   fr.low_onset + 0.5 * fr.onset), fr.low_onset)
                elif variant == "phase4" and not halved_once:
                    beat_frames = tempo_mod.fix_offbeat(_phase4(fr, fixed), fr.low_onset)
                elif variant == "low":
                    beat_frames = tempo_mod.fix_offbeat(
                        api._halve(beat_frames, seg.labels, fr.low_onset), fr.low_onset)
                elif variant == "low_only":
                    beat_frames = tempo_mod.fix_offbeat(
                        api._halve(beat_frames, ["x"] * len(seg.labels), fr.low_onset),
                        fr.low_onset)
                else:
                    beat_frames = api._halve_grid(fr, beat_frames, seg.labels)
                halved_once = True
                est = tempo_mod.TempoEstimate(est.bpm / 2, est.confidence, est.bpm)
            elif beat_frames.size >= 8 and est.bpm < api.TACTUS_DOUBLE_MAX_BPM:
                beat_frames = api._double_grid(beat_frames)
                est = tempo_mod.TempoEstimate(est.bpm * 2, est.confidence, est.bpm)
            else:
                break
            seg = api._segments(fr, beat_frames, duration, params)
        beats_s = beat_frames / F.FPS
        tempo = describe_tempo(beats_s, est.confidence, fr.onset, duration,
                               unpitched=not harmonic)
        downbeats: list[float] = []
        if beat_frames.size >= 6 and tempo.bpm is not None:
            seg_index = np.clip(np.searchsorted(seg.bounds, beat_frames), 0,
                                seg.treble.shape[1] - 1)
            strength = meter_mod.downbeat_strength(
                seg.treble[:, seg_index], seg.bass[:, seg_index],
                api._peak_near(fr.low_onset, beat_frames), api._peak_near(fr.onset, beat_frames),
                None)
            m = meter_mod.estimate_meter(strength)
            downbeats = [float(b) for b in beats_s[m.phase::m.beats_per_bar]]
        out[variant] = {"bpm": tempo.bpm, "beats": [float(b) for b in beats_s],
                        "downbeats": downbeats}
    return out


def score(truth: dict, res: dict) -> dict[str, float]:
    """beat F, downbeat F and Acc1 of one piece (NaN where the truth has no tempo)."""
    if not truth.get("tempo"):
        return {"beat_f": float("nan"), "downbeat_f": float("nan"), "acc1": float("nan")}
    bpm = float(res["bpm"] or 0.0)
    return {"beat_f": scoring.beat_f(truth["beats"], res["beats"]),
            "downbeat_f": scoring.beat_f(truth["downbeats"], res["downbeats"]),
            "acc1": scoring.tempo_scores(truth["tempo"], bpm, bpm * 2)["acc1"]}


def _offset(truth: dict, beats: list[float]) -> float:
    """Median signed distance of the beats to the nearest true beat, in true beat periods."""
    ref = np.asarray(truth.get("beats") or [], dtype=float)
    est = np.asarray(beats, dtype=float)
    if ref.size < 2 or est.size == 0:
        return float("nan")
    period = float(np.median(np.diff(ref)))
    idx = np.clip(np.searchsorted(ref, est), 1, ref.size - 1)
    near = np.where(est - ref[idx - 1] < ref[idx] - est, ref[idx - 1], ref[idx])
    return float(np.median(est - near) / period)


def _boot(x: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    idx = rng.integers(0, x.size, (n, x.size))
    m = x[idx].mean(axis=1)
    return float(x.mean()), float(np.percentile(m, 2.5)), float(np.percentile(m, 97.5))


def summary(rows: list[dict]) -> str:
    """Per set and source: each variant's mean [95 % CI] and the paired difference to product."""
    rng = np.random.default_rng(0)
    lines = []
    groups = sorted({(r["set"], r["source"]) for r in rows})
    for g in groups:
        sel = [r for r in rows if (r["set"], r["source"]) == g]
        lines.append(f"{g[0]} [{g[1]}] {len(sel)} pieces")
        for metric in ("beat_f", "acc1", "downbeat_f"):
            base = np.array([r["scores"]["product"][metric] for r in sel])
            cells = [f"product {_fmt(_boot(base, rng))}"]
            for v in VARIANTS[1:]:
                x = np.array([r["scores"][v][metric] for r in sel])
                ch = int(np.sum(np.abs(x - base) > 1e-9))
                cells.append(f"{v} {_fmt(_boot(x, rng))} diff {_fmt(_boot(x - base, rng), '+')}"
                             f" ({ch} changed)")
            lines.append(f"  {metric:10s} " + " | ".join(cells))
    return "\n".join(lines)


def _fmt(t: tuple[float, float, float], sign: str = "") -> str:
    return f"{t[0]:{sign}.3f} [{t[1]:{sign}.3f}, {t[2]:{sign}.3f}]"


def main(argv: list[str] | None = None) -> None:
    """Score the variants on the given development sets and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", required=True, help="CACHE_DIR:SPLIT")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    rows = []
    for spec in args.set:
        cache, split = spec.rsplit(":", 1)
        if split in FORBIDDEN or ("eval" in split and "dev" not in split):
            raise SystemExit(f"{split}: evaluation split, not for development")
        items = load_split(split, Path(cache).expanduser())[:args.limit]
        for it in items:
            y, sr = it.load()
            res = analyse(y, sr)
            sc = {v: score(it.truth, res[v]) for v in VARIANTS}
            rows.append({"set": split, "name": it.name, "source": it.truth["source"],
                         "scores": sc, "bpm": {v: res[v]["bpm"] for v in VARIANTS},
                         "tempo": it.truth.get("tempo"), **res["diag"],
                         "offset": _offset(it.truth, res["product"]["beats"])})
            print(f"{split} {it.name:24s} " + " ".join(
                f"{v} {sc[v]['beat_f']:.2f}/{sc[v]['downbeat_f']:.2f}" for v in VARIANTS),
                flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print(summary(rows))


if __name__ == "__main__":
    main()
