"""Half/double-time matches for the library's tempo filter (``--bpm``).

A beat tracker often counts a track at half (or double) the tempo a musician would: game music
at 140 BPM is stored as 70. The analysis lists the other metrical levels it considered
(``tempo_candidates``: the chosen ``tactus`` and its ``half`` and ``double``, each with a
periodicity score, see :func:`musicapp.analysis.grid.candidates`). A tempo filter also accepts a
track whose listed half or double tempo (with a score above 0) is in the range, and says so:
"70.0 BPM, matched at double time 140.0". Only the levels the analysis itself lists count; a
track whose own tempo is in the range is an exact match and is ranked first.
"""

from __future__ import annotations

import math
from typing import Any

#: the metrical levels a tempo filter may match besides the track's own tempo
LEVELS = ("half", "double")
#: how each level is named in a result
LEVEL_WORDS = {"half": "half time", "double": "double time"}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def tempo_match(analysis: dict[str, Any], low: float, high: float) -> dict[str, Any] | None:
    """How a stored analysis passes the tempo range ``low``-``high``: ``{"level": "tactus",
    "bpm": B}`` when its own tempo is in range, else the best-scored listed half/double
    candidate in range as ``{"level": "half"|"double", "bpm", "score", "unsure"}``
    (``unsure``: the analysis itself flags that level as nearly as likely, see
    :func:`musicapp.analysis.tempo_choice.close_level`); None when it does not pass."""
    own = _number(analysis.get("tempo_bpm"))
    if own is None:
        return None
    if low <= own <= high:
        return {"level": "tactus", "bpm": own}
    found = []
    for c in analysis.get("tempo_candidates") or []:
        if not isinstance(c, dict) or c.get("relation") not in LEVELS:
            continue
        bpm, score = _number(c.get("bpm")), _number(c.get("score"))
        if bpm is not None and score is not None and score > 0 and low <= bpm <= high:
            found.append({"level": c["relation"], "bpm": bpm, "score": score})
    if not found:
        return None
    best = max(found, key=lambda c: c["score"])
    from musicapp.analysis.tempo_choice import close_level

    close = close_level(analysis)
    best["unsure"] = bool(close is not None and close.get("relation") == best["level"])
    return best


def match_text(own_bpm: float | None, match: dict[str, Any] | None) -> str | None:
    """"70.0 BPM, matched at double time 140.0" for a half/double match (", the analysis is
    unsure of the level" added when it flags that level); None for an exact match or none."""
    if not match or match.get("level") not in LEVEL_WORDS or own_bpm is None:
        return None
    text = f"{own_bpm:.1f} BPM, matched at {LEVEL_WORDS[match['level']]} {match['bpm']:.1f}"
    if match.get("unsure"):
        text += " (the analysis is unsure of the level)"
    return text
