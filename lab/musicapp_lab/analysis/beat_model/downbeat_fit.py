"""Compare downbeat cue weights offline on the cues of :mod:`.downbeat_study`.

Each weight vector (harmonic change, bass-chroma change, low-band onset, full-band onset) goes
through the product's :func:`musicapp.analysis.meter.estimate_meter`; downbeat F (mir_eval,
70 ms) is averaged over pieces, on the training pieces (``train-real``, ``train-gen``) to choose
and on the development pieces to check, with bootstrap 95 % intervals over pieces.

Run: ``python -m musicapp_lab.analysis.beat_model.downbeat_fit data/tactus/downbeats.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

TRAIN_SETS = ("train-real", "train-gen")
GRID = {"hc": (0.5, 1.0), "bc": (0.0, 0.35, 0.7, 1.0), "low": (-0.25, 0.0, 0.25),
        "on": (0.0, 0.25, 0.5)}


def downbeat_f(rows: list[dict], w: tuple[float, ...]) -> np.ndarray:
    """Per-piece downbeat F of the grid's beats with cue weights ``w``."""
    from musicapp.analysis import meter
    from musicapp_lab.analysis.evalset import scoring

    out = []
    for r in rows:
        beats, cues = np.array(r["beats"]), np.array(r["cues"])
        if beats.size < 6:
            out.append(scoring.beat_f(r["downbeats"], []))
            continue
        w = tuple(w) + (0.0,) * (cues.shape[0] - len(w))  # a stored learned cue, unweighted
        s = sum(wi * meter._z(c) for wi, c in zip(w, cues, strict=True))
        m = meter.estimate_meter(np.asarray(s, dtype=float))
        out.append(scoring.beat_f(r["downbeats"], beats[m.phase::m.beats_per_bar].tolist()))
    return np.array(out)


def boot(v: np.ndarray, n: int = 2000) -> str:
    """``mean [lo, hi]`` with a bootstrap 95 % interval over pieces."""
    rng = np.random.default_rng(0)
    b = [v[rng.integers(0, v.size, v.size)].mean() for _ in range(n)]
    return f"{v.mean():.3f} [{np.percentile(b, 2.5):.2f}, {np.percentile(b, 97.5):.2f}]"


def main(argv: list[str] | None = None) -> None:
    """Command line: grid over the weights on training pieces, then the dev check."""
    from musicapp.analysis.meter import CUE_WEIGHTS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cues", type=Path)
    args = ap.parse_args(argv)
    rows = json.loads(args.cues.read_text())
    train = [r for r in rows if r["set"] in TRAIN_SETS]
    scored = []
    for w in itertools.product(*GRID.values()):
        scored.append((float(downbeat_f(train, w).mean()), w))
    scored.sort(reverse=True)
    cur = tuple(CUE_WEIGHTS)
    print(f"current {cur}: training {boot(downbeat_f(train, cur))}")
    for f, w in scored[:5]:
        print(f"  {w}: training {f:.3f}")
    best = scored[0][1]
    for s in sorted({r["set"] for r in rows}):
        sub = [r for r in rows if r["set"] == s]
        a, b = downbeat_f(sub, cur), downbeat_f(sub, best)
        print(f"{s} (n={len(sub)}): current {boot(a)}  best-on-training {boot(b)}  "
              f"diff {boot(b - a)}")
    if len(rows[0]["cues"]) == 5:  # the learned activation (in-sample on train-real)
        for lw in (1.0, 2.0, 4.0):
            print(f"current + learned downbeat cue x{lw}:")
            for s in sorted({r["set"] for r in rows}):
                sub = [r for r in rows if r["set"] == s]
                a, b = downbeat_f(sub, cur), downbeat_f(sub, (*cur, lw))
                print(f"  {s} (n={len(sub)}): {boot(b)}  diff {boot(b - a)}")


if __name__ == "__main__":
    main()
