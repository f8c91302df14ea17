"""Onset-envelope cue vs learned activation, tracker for tracker, on the DEVELOPMENT split only.

Both cues run through the same ``analyze_music`` (same tempo estimate, DP tracker, tactus rules
and meter logic); only ``beat_cue`` differs. Per-song Acc1, beat F, downbeat F and |tempo error|
are tabulated with bootstrap 95 % intervals over songs, plus the paired difference
(learned - onset) with its own interval. Then the speed of one 3-minute track for both cues in
the same process (best of N, interleaved).

Run: ``OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.beat_model.compare
[--split dev-real] [--bench data/bench_3min.wav]``. The evaluation split is refused.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from musicapp_lab.analysis.evalset import scoring

CUES = ("onset", "learned")
BOOT = 2000


def per_song(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per-song metrics of ``evaluate_split`` rows (NaN where a song has no such truth)."""
    out: dict[str, list[float]] = {"acc1": [], "beat_f": [], "downbeat_f": [], "abs_err": []}
    for r in rows:
        t, res = r["truth"], r["res"]
        est = float(res.get("tempo_bpm") or 0.0)
        out["acc1"].append(scoring.tempo_scores(t["tempo"], est, est * 2)["acc1"])
        out["beat_f"].append(scoring.beat_f(t["beats"], res["beats"]))
        out["downbeat_f"].append(scoring.beat_f(t["downbeats"], res["downbeats"]))
        ok = t.get("constant_tempo", True)
        out["abs_err"].append((abs(est - t["tempo"]) if est else float("inf")) if ok
                              else float("nan"))
    return {k: np.array(v, dtype=float) for k, v in out.items()}


def _ci(v: np.ndarray, fn, rng: np.random.Generator) -> tuple[float, float, float]:
    v = v[~np.isnan(v)]
    boots = [fn(v[rng.integers(0, v.size, v.size)]) for _ in range(BOOT)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(fn(v)), float(lo), float(hi)


def table(scores: dict[str, dict[str, np.ndarray]]) -> str:
    """Rows per metric: onset, learned, paired difference (each value [95 % CI])."""
    rng = np.random.default_rng(0)
    lines = [f"{'metric':22s} {'onset cue':>24s} {'learned cue':>24s} {'learned - onset':>26s}"]
    for m in ("acc1", "beat_f", "downbeat_f", "abs_err"):
        fn = np.median if m == "abs_err" else np.mean
        cells = []
        for c in CUES:
            v, lo, hi = _ci(scores[c][m], fn, rng)
            cells.append(f"{v:7.3f} [{lo:6.3f},{hi:6.3f}]".rjust(24))
        a, b = scores["onset"][m], scores["learned"][m]
        d = b - a
        d = d[np.isfinite(d)]
        v, lo, hi = _ci(d, fn, rng)
        cells.append(f"{v:+7.3f} [{lo:+6.3f},{hi:+6.3f}]".rjust(26))
        name = {"acc1": "Tempo Acc1 (4%)", "beat_f": "Beat F (70 ms)",
                "downbeat_f": "Downbeat F (70 ms)", "abs_err": "median |tempo err| BPM"}[m]
        lines.append(f"{name:22s} " + " ".join(cells))
    n = scores["onset"]["acc1"].size
    lines.append(f"{n} songs; [lo,hi] bootstrap 95% over songs ({BOOT} resamples); the "
                 "difference is paired by song (median of differences for |err|).")
    return "\n".join(lines)


def speed(path: Path, repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` seconds of ``analyze_music`` on one file per cue (interleaved)."""
    from musicapp.analysis import analyze_music
    from musicapp.audio import load_audio

    a = load_audio(path, sr=22050)
    for c in CUES:  # warm-up (filter banks, model load)
        analyze_music(a.samples, a.sample_rate, beat_cue=c)
    best = {c: float("inf") for c in CUES}
    for _ in range(repeats):
        for c in CUES:
            t0 = time.perf_counter()
            analyze_music(a.samples, a.sample_rate, beat_cue=c)
            best[c] = min(best[c], time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> None:
    """Command line: the dev comparison table and the speed of one track."""
    from musicapp_lab.analysis.evalset.evaluate import evaluate_split

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="dev-real")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--bench", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    if not args.split.startswith("dev"):
        raise SystemExit("musicapp: error: only the development split is scored here")
    scores = {}
    for c in CUES:
        res = evaluate_split(args.split, args.cache_dir, baseline=False, limit=args.limit,
                             analyze_kwargs={"beat_cue": c})
        rows = [r for r in res["items"] if r["truth"].get("tempo")]
        scores[c] = per_song(rows)
    print(table(scores))
    if args.bench:
        s = speed(args.bench)
        print("3-min track analyze_music, best of 3: "
              + ", ".join(f"{c} {v:.3f} s" for c, v in s.items())
              + f" (ratio learned/onset {s['learned'] / s['onset']:.2f})")


if __name__ == "__main__":
    main()
