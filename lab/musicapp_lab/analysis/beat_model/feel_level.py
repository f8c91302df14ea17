"""Does the tagger's tempo feel pick the metrical level better than the beat tracker alone?

Not shipped: the study below found no gain on the development split and does not fix the Debian
game tracks musicians flagged.

Idea: when half or double the tempo is a candidate (its score in ``tempo_candidates`` at least
:attr:`FeelRule.close` of the chosen level's), move there when the tagger's "fast" (for double)
or "slow" (for half) mood wins its pair at a percentile threshold, within a BPM range. This is
a step that would run after both parts of the pipeline (before valence/arousal fusion, which
reads the tempo), with :func:`musicapp.analysis.tempo_choice.choose_tempo` doing the move.

Rows come from :mod:`.feel_collect` (the whole pipeline per piece: tempo, candidates, the
tagger's fast/slow moods). ``fit`` searches a small grid of rules on the TRAINING rows only and
prints the best ones (net Acc1 gain: pieces fixed minus pieces broken); ``score`` applies one
fixed rule (default: :data:`RULE`) to other rows (the development split, once) with Acc1
before/after and a paired bootstrap interval over songs. The collector refuses the evaluation
splits.

Run: ``python -m musicapp_lab.analysis.beat_model.feel_level fit data/tactus/feel/train.jsonl``
and ``... score data/tactus/feel/dev.jsonl``.

Figures (28 Nov 2026; rows: ``feel_collect`` with the tagger and analysis at commit 496a00b):

* Training (train-gen 60 + train-real 189 with a tempo = 249 pieces, Acc1 0.691). The tagger
  reads nearly every render as "slow" (229 of 249 list "slow" as the winner of the pair). For
  half-time errors (tracker at double the annotated tempo, 42 pieces) the feel carries no
  information: mean log(fast/slow raw score) -1.87 vs -1.92 for correct pieces; AUC of the feel
  alone for half-vs-correct 0.39 (a grouped 5-fold logistic on log2 BPM, half score, feel,
  arousal, energy: no better than leaving the tempo alone). For double-time errors (tracker at
  half, 14 pieces) there is some signal (log fast/slow AUC 0.76; at tracked tempi under 80 BPM,
  6 errors vs 2 correct have fast >= slow). The candidate scores do not separate right from
  wrong levels (double score AUC 0.49), so the "close" guard only costs fixes.
  Best rule by net gain: +9 (34 fixed, 25 broken: a coin flip on 59 pieces). Chosen, the best
  with no piece broken that keeps a candidate guard: :data:`RULE` = fast at any percentile ->
  double if double <= 140 BPM; slow >= 95th percentile -> half if half >= 70 BPM; other level's
  score >= 0.4 x chosen: +6 fixed, 0 broken (Acc1 0.691 -> 0.715).
* Development, scored once with :data:`RULE` fixed: dev (generated, 30 pieces) Acc1 0.967 ->
  0.967, nothing changed; dev-real (POP909, 29 pieces with a tempo) 0.862 -> 0.828 (one piece
  changed: pop909-620, a 66.6-BPM ballad tagged "fast" at the 61st percentile, doubled to
  132.9); paired bootstrap over songs (10 000 draws) -0.034 [95 % -0.103, +0.000]; both
  -0.017 [-0.051, +0.000]. dev-real has no double-time errors to fix (its misses: 3 at double
  the annotated tempo, all tagged "slow" below the 95th percentile, 2 at other ratios).
* Debian game tracks (allowed training packages, no annotations; 18 tracks of hedgewars,
  freedroidrpg, hyperrogue, 15 with a tempo): :data:`RULE` changes none. Where the onset pattern
  at the tracker's own grid (before the analysis' chord-length halving) says a musician counts
  about twice the shown tempo, the tagger does not hear "fast": Rock.ogg 70 (grid 143.6, eighths
  at 0.45 of the beat strength; "slow", 52nd percentile), Castle 65.9 (grid 129, "slow" 56th),
  Jungle 58 (grid 117.5, "slow" 50th), pirate 60 (grid 117.5, "slow" 58th); TechBattle 72.5
  (grid 143.6) is "fast" (75th) but its double, 144.9, is above the 140-BPM cap; town.ogg 240
  (a musician counts 120) is "slow" only at the 87th percentile. The tagger's fast/slow near
  its median gives no evidence either way. Rock.ogg's and Jungle's halving comes from the
  analysis' chord-length tactus rule (``musicapp.analysis.api._rule_level``: tracked >= 115 BPM
  and >= 5 beats per chord): with it switched off they read 139.99 and 116.01 (the others were
  not checked). Tale of Warriors (0ad, an evaluation-only package) was not run.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FeelRule:
    """When the tagger's tempo feel may move the tempo to its half or double."""

    #: double time when "fast" wins its pair at this percentile or more (None: never double)
    fast_percentile: float | None = 0.0
    #: half time when "slow" wins its pair at this percentile or more (None: never halve)
    slow_percentile: float | None = 95.0
    #: the other level's score is at least this share of the chosen level's
    close: float = 0.4
    #: never double to more than this
    max_double_bpm: float = 140.0
    #: never halve to less than this
    min_half_bpm: float = 70.0


#: The rule chosen on the training rows (the best with no piece broken that keeps a candidate
#: guard); scored once on the development split, where it broke one piece and fixed none.
RULE = FeelRule()

_DIRECTION = {"fast": "double", "slow": "half"}


def tempo_feel(moods: list[dict[str, Any]] | None) -> tuple[str, float] | None:
    """("fast" or "slow", its percentile) of the tagger's moods (``[{tag, score, percentile}]``,
    where only the winner of the fast/slow pair is listed); None when neither is listed."""
    for m in moods or []:
        if isinstance(m, dict) and m.get("tag") in _DIRECTION:
            pct = m.get("percentile")
            if isinstance(pct, int | float):
                return str(m["tag"]), float(pct)
    return None


def feel_level(music: dict[str, Any], moods: list[dict[str, Any]] | None,
               rule: FeelRule = RULE) -> str | None:
    """"double", "half" or None: the level the feel moves ``music``'s tempo to under ``rule``."""
    bpm = music.get("tempo_bpm")
    feel = tempo_feel(moods)
    if not bpm or feel is None:
        return None
    needed = rule.fast_percentile if feel[0] == "fast" else rule.slow_percentile
    if needed is None or feel[1] < needed:
        return None
    level = _DIRECTION[feel[0]]
    cands = [c for c in music.get("tempo_candidates") or [] if isinstance(c, dict)]
    chosen = next((c for c in cands if c.get("relation") == "tactus"), None)
    other = next((c for c in cands if c.get("relation") == level), None)
    if chosen is None or other is None:
        return None
    best = float(chosen.get("score") or 0.0)
    if best <= 0.0 or float(other.get("score") or 0.0) < rule.close * best:
        return None
    new = float(other["bpm"])
    if (level == "double" and new > rule.max_double_bpm) or (
            level == "half" and new < rule.min_half_bpm):
        return None
    return level


TOL = 0.04  # Acc1 tolerance, as the evaluation's scoring


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The collector's rows with an annotated tempo and a tempo (a row whose tempo was already
    moved by a tempo choice is refused: the rule would apply twice)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if any(r.get("tempo_choice") for r in rows):
        raise SystemExit(f"{path}: rows whose tempo was already moved by a tempo choice")
    return [r for r in rows if r.get("truth_bpm") and r.get("tempo_bpm")]


def hit(bpm: float | None, truth: float) -> bool:
    """Acc1: ``bpm`` within :data:`TOL` of ``truth``."""
    return bool(bpm) and abs(float(bpm) / truth - 1.0) <= TOL


def moved_bpm(row: dict[str, Any], rule: FeelRule) -> float:
    """The tempo after ``rule`` (the close candidate's bpm when the rule moves it)."""
    level = feel_level(row, row.get("moods"), rule)
    if level is None:
        return float(row["tempo_bpm"])
    return next(float(c["bpm"]) for c in row["tempo_candidates"] if c["relation"] == level)


def outcome(rows: list[dict[str, Any]], rule: FeelRule) -> tuple[np.ndarray, np.ndarray]:
    """Acc1 per row before and after ``rule`` (0/1 arrays)."""
    before = np.array([hit(r["tempo_bpm"], r["truth_bpm"]) for r in rows], dtype=float)
    after = np.array([hit(moved_bpm(r, rule), r["truth_bpm"]) for r in rows], dtype=float)
    return before, after


PCTS = (None, 0.0, 50.0, 70.0, 85.0, 90.0, 95.0)


def grid() -> list[FeelRule]:
    """The rules searched on the training rows: each direction on its own or both."""
    return [FeelRule(f, s, c, d, h) for f, s, c, d, h in itertools.product(
        PCTS, PCTS, (0.0, 0.4, 0.5, 0.6, 0.75), (130.0, 140.0, 150.0, 160.0, 200.0),
        (50.0, 60.0, 70.0, 80.0, 90.0)) if f is not None or s is not None]


def fit(rows: list[dict[str, Any]], top: int = 10) -> list[tuple[float, int, int, FeelRule]]:
    """(net gain, fixed, broken, rule) of the best rules on ``rows``, best first (ties: fewer
    pieces changed)."""
    scored = []
    for rule in grid():
        before, after = outcome(rows, rule)
        fixed = int(((after == 1) & (before == 0)).sum())
        broken = int(((after == 0) & (before == 1)).sum())
        scored.append((fixed - broken, fixed, broken, rule))
    scored.sort(key=lambda s: (-s[0], s[2], s[1]))
    return scored[:top]


def paired_bootstrap(rows: list[dict[str, Any]], before: np.ndarray, after: np.ndarray,
                     n: int = 10000, seed: int = 0) -> tuple[float, float, float]:
    """Mean Acc1 change and its 95 % interval, resampling songs (all renders of a song together)."""
    songs = sorted({r["song"] for r in rows})
    idx = {s: [i for i, r in enumerate(rows) if r["song"] == s] for s in songs}
    diff = after - before
    per = np.array([diff[idx[s]].sum() for s in songs])
    cnt = np.array([len(idx[s]) for s in songs])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(songs), size=(n, len(songs)))
    boot = per[draws].sum(axis=1) / cnt[draws].sum(axis=1)
    return float(diff.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def main(argv: list[str] | None = None) -> None:
    """Command line: ``fit ROWS`` or ``score ROWS --percentile P --close C --max-double B
    --min-half B``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("fit", "score"))
    ap.add_argument("rows", type=Path)
    d = FeelRule()
    ap.add_argument("--fast-percentile", type=float, default=d.fast_percentile)
    ap.add_argument("--slow-percentile", type=float, default=d.slow_percentile)
    ap.add_argument("--close", type=float, default=d.close)
    ap.add_argument("--max-double", type=float, default=d.max_double_bpm)
    ap.add_argument("--min-half", type=float, default=d.min_half_bpm)
    args = ap.parse_args(argv)
    rows = load_rows(args.rows)
    if args.mode == "fit":
        before = np.array([hit(r["tempo_bpm"], r["truth_bpm"]) for r in rows])
        print(f"{len(rows)} rows, Acc1 before {before.mean():.3f}")
        for gain, fixed, broken, rule in fit(rows):
            print(f"net {gain:+d} (fixed {fixed}, broken {broken})  {rule}")
        return
    rule = FeelRule(args.fast_percentile, args.slow_percentile, args.close, args.max_double,
                    args.min_half)
    for name in [*sorted({r["set"] for r in rows}), "all"]:
        part = [r for r in rows if name in ("all", r["set"])]
        before, after = outcome(part, rule)
        mean, lo, hi = paired_bootstrap(part, before, after)
        changed = sum(feel_level(r, r.get("moods"), rule) is not None for r in part)
        print(f"{name:10s} n={len(part):3d} changed {changed:2d}  Acc1 {before.mean():.3f} -> "
              f"{after.mean():.3f}  change {mean:+.3f} [95% {lo:+.3f}, {hi:+.3f}] {rule}")


if __name__ == "__main__":
    main()
