"""The half/double tempo toggle: re-express an analysis at another metrical level.

A musician may count a ballad at 62 or at 124 BPM; the analysis picks one (``tempo_bpm``) and
offers the others (``tempo_candidates``). :func:`choose_tempo` returns a copy of the analysis
dict at the chosen level: ``tempo_bpm``, the candidates, tempo segments and curve are rescaled,
beats are thinned (every other beat, keeping the downbeats) or doubled (midpoints added), and
``tempo_choice`` records what the user chose. The GUI and the library's ``set_tempo`` use it.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np

from musicapp.errors import MusicappError

LEVELS = {"half": 0.5, "double": 2.0, "tactus": 1.0}
#: another metrical level is "as likely" when its score is at least this share of the chosen one's
CLOSE_LEVEL = 0.75


def close_level(result: dict[str, Any]) -> dict[str, Any] | None:
    """The half- or double-time candidate that scores nearly as well as the chosen tempo
    (at least :data:`CLOSE_LEVEL` of its score), or None when the choice is clear.

    A musician must see when the level is a coin toss ("240.0 BPM, or 120.0"), not only in the
    JSON: the app and the CLI say so, and the half/double toggle fixes it."""
    cands = [c for c in result.get("tempo_candidates") or [] if isinstance(c, dict)]
    chosen = next((c for c in cands if c.get("relation") == "tactus"), None)
    if chosen is None or not result.get("tempo_bpm"):
        return None
    best = float(chosen.get("score") or 0.0)
    others = [c for c in cands if c.get("relation") in ("half", "double")
              and float(c.get("score") or 0.0) >= CLOSE_LEVEL * best > 0.0]
    return max(others, key=lambda c: float(c.get("score") or 0.0), default=None)


def _factor(current: float, bpm: float | None, level: str | None) -> float:
    if level is not None:
        if level not in LEVELS:
            raise MusicappError(f"{level!r}: tempo level must be half, double or tactus")
        return LEVELS[level]
    if bpm is None or not np.isfinite(bpm) or bpm <= 0:
        raise MusicappError(f"{bpm!r}: tempo must be a positive number of BPM")
    ratio = float(bpm) / current
    for f in (0.25, 0.5, 1.0, 2.0, 4.0, 1.5, 2.0 / 3.0, 3.0, 1.0 / 3.0):
        if abs(np.log(ratio / f)) < 0.04:
            return f
    raise MusicappError(f"{bpm:g} BPM is not a metrical level of {current:g} BPM "
                        "(half, double, x3, /3)")


def choose_tempo(result: dict[str, Any], bpm: float | None = None, *,
                 level: str | None = None) -> dict[str, Any]:
    """A copy of ``result`` at the metrical level ``level`` ("half"/"double") or at ``bpm``
    (which must be a metrical level of the current tempo: x1/2, x2, x1/3, x3 ...).

    Raises:
        MusicappError: no tempo in the analysis, or ``bpm`` is not a metrical level of it.
    """
    current = result.get("tempo_bpm")
    if not current:
        raise MusicappError("this analysis has no tempo to change"
                            + (f" ({result['tempo_reason']})" if result.get("tempo_reason") else ""))
    f = _factor(float(current), bpm, level)
    out = copy.deepcopy(result)
    out["tempo_bpm"] = round(float(current) * f, 2) if bpm is None else round(float(bpm), 2)
    previous = out.get("tempo_choice") or {}
    out["tempo_choice"] = {"bpm": out["tempo_bpm"], "factor": f,
                           "analysed_bpm": previous.get("analysed_bpm", float(current))}
    cands = []
    for c in result.get("tempo_candidates") or []:
        b = float(c["bpm"])
        ratio = b / out["tempo_bpm"]
        rel = min(LEVELS, key=lambda k: abs(np.log(ratio / LEVELS[k])))
        if abs(np.log(ratio / LEVELS[rel])) > 0.04:
            rel = "other"
        cands.append({**c, "relation": rel})
    if not any(c["relation"] == "tactus" for c in cands):
        cands.insert(0, {"bpm": out["tempo_bpm"], "relation": "tactus", "score": 0.0})
    out["tempo_candidates"] = cands
    out["tempo_segments"] = [{**s, "bpm": round(float(s["bpm"]) * f, 2)}
                             for s in result.get("tempo_segments") or []]
    out["tempo_curve"] = [[t, round(float(b) * f, 2)] for t, b in result.get("tempo_curve") or []]
    beats = [float(b) for b in result.get("beats") or []]
    downbeats = [float(b) for b in result.get("downbeats") or []]
    if f == 0.5 and len(beats) >= 2:
        down = np.asarray(downbeats)
        phase = 0
        if down.size:
            first = int(np.argmin([np.min(np.abs(down - b)) for b in beats[:2]]))
            phase = first
        out["beats"] = beats[phase::2]
    elif f == 2.0 and len(beats) >= 2:
        mids = [(a + b) / 2 for a, b in itertools.pairwise(beats)]
        out["beats"] = [round(b, 3) for b in sorted(beats + mids)]
    return out
