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

# the display threshold and legend live in musicapp.wording (no numpy: the CLI's --help texts
# stay light); re-exported here beside tempo_label, which uses them
from musicapp.wording import LOW_TEMPO_CONFIDENCE, TEMPO_LEGEND

__all__ = ["LOW_TEMPO_CONFIDENCE", "TEMPO_LEGEND", "choose_tempo", "close_level", "tempo_label"]

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




def tempo_label(result: dict[str, Any]) -> str | None:
    """The tempo as the CLI's ``analyze`` and ``library list`` show it: "121.2", "~60.6" when the
    tempo confidence is below :data:`LOW_TEMPO_CONFIDENCE`, "60.6 (or 121.2)" when
    :func:`close_level` flags a half/double level nearly as likely (both may apply); None
    without a tempo. See :data:`TEMPO_LEGEND`."""
    bpm = result.get("tempo_bpm")
    if not isinstance(bpm, int | float) or isinstance(bpm, bool) or not bpm > 0:
        return None
    conf = result.get("tempo_confidence")
    low = isinstance(conf, int | float) and not isinstance(conf, bool) and conf < LOW_TEMPO_CONFIDENCE
    text = f"{'~' if low else ''}{float(bpm):.1f}"
    close = close_level(result)
    if close is not None:
        text += f" (or {float(close['bpm']):.1f})"
    return text


#: the factors choose_tempo can re-count consistently: halvings and doublings (beats thinned or
#: filled in, the meter kept). x3, x1/3, x3/2 and x2/3 are refused: re-counting at them needs
#: new beats between the analysed ones, which the analysis does not have, and a tempo label
#: that does not match the beats gave a MIDI file with drifting tempo events.
ALLOWED_FACTORS = (1.0, 0.5, 2.0, 0.25, 4.0)
#: names of the other metrical ratios, to say what a refused --bpm is
_OTHER_RATIOS = {"x3": 3.0, "x1/3": 1.0 / 3.0, "x3/2": 1.5, "x2/3": 2.0 / 3.0,
                 "x3/4": 0.75, "x4/3": 4.0 / 3.0, "x6": 6.0, "x1/6": 1.0 / 6.0}
#: a BPM within this log ratio (about 4%) of a level counts as that level
_LEVEL_TOLERANCE = 0.04


def _factor(current: float, bpm: float | None, level: str | None, found: str = "found") -> float:
    """The factor from ``current`` to the asked level or BPM: one of :data:`ALLOWED_FACTORS`,
    else a MusicappError saying what the BPM is and which BPMs can be re-counted."""
    if level is not None:
        if level not in LEVELS:
            raise MusicappError(f"{level!r}: tempo level must be half, double or tactus")
        return LEVELS[level]
    if bpm is None or not np.isfinite(bpm) or bpm <= 0:
        raise MusicappError(f"{bpm!r}: tempo must be a positive number of BPM")
    ratio = float(bpm) / current
    for f in ALLOWED_FACTORS:
        if abs(np.log(ratio / f)) < _LEVEL_TOLERANCE:
            return f
    levels = ", ".join(f"{current * f:.1f}" for f in ALLOWED_FACTORS[1:])
    what = next((f"is {name} of" for name, f in _OTHER_RATIOS.items()
                 if abs(np.log(ratio / f)) < _LEVEL_TOLERANCE), "is not a metrical level of")
    raise MusicappError(f"{bpm:g} BPM {what} the {found} {current:.1f} BPM; only half/double "
                        f"levels ({levels}) can be re-counted")


def _meter_parts(meter: Any) -> tuple[int, int]:
    num, _, den = str(meter or "4/4").partition("/")
    try:
        return max(1, int(num)), max(1, int(den or 4))
    except ValueError:
        return 4, 4


def _beat_index(beats: np.ndarray, times: list[float]) -> list[int]:
    """Index of the beat nearest each time."""
    return [int(np.argmin(np.abs(beats - t))) for t in times] if beats.size else []


def _chord_starts(result: dict[str, Any]) -> list[float]:
    """Start times of the chord changes (a new label after another or after N/X)."""
    starts, last = [], None
    for c in result.get("chords") or []:
        label = c.get("label")
        if label not in ("N", "X", None) and label != last:
            starts.append(float(c["start"]))
        last = label
    return starts


def _chord_changes_near(starts: list[float], times: list[float], tol: float) -> float:
    """Share of ``times`` with a chord change (one of ``starts``) within ``tol`` seconds."""
    if not times or not starts:
        return 0.0
    s = np.asarray(starts)
    return float(np.mean([np.min(np.abs(s - t)) <= tol for t in times]))


#: the other half of the downbeats must beat the analysed first downbeat's half by this much
#: (share of its downbeats with a chord change, plus the phrase cue) to be kept instead
PHASE_MARGIN = 0.25
#: the evidence the track's first chord gives the downbeat it first sounds on (a phrase start)
FIRST_CHORD_CUE = 0.25


def _phase_evidence(result: dict[str, Any], downbeats: list[float], tol: float
                    ) -> tuple[float, float]:
    """Evidence for keeping the even (``downbeats[0::2]``) and the odd half of the downbeats as
    the bar lines of the half-time count.

    Each half scores the share of its downbeats where the chord changes, counting only the
    downbeats where chords sound (not a lead-in or an ending on N), plus
    :data:`FIRST_CHORD_CUE` for the half holding the downbeat where the track's first chord
    first sounds: songs start a 2-bar phrase with their first chord, and one that sounds from
    before the first downbeat (a pickup; the chord recogniser often starts it at 0 s) starts its
    phrase on that downbeat, which counts as its change. Longer chords on a half's downbeats
    are no cue: pop909 001 holds F# a whole bar at the end of each 4-bar phrase, which would
    vote for the wrong half."""
    starts = _chord_starts(result)
    played = [c for c in result.get("chords") or [] if c.get("label") not in ("N", "X", None)]
    d = np.asarray(downbeats)
    inside, on = np.ones(d.size, bool), np.zeros(0, int)
    if played:
        first_start, last_end = float(played[0]["start"]), float(played[-1]["end"])
        inside = (d >= first_start - tol) & (d < last_end - tol)
        on = np.flatnonzero(inside & (d < float(played[0]["end"])))
        if on.size:
            starts = [float(d[on[0]]), *starts[1:]]
    scores = [_chord_changes_near(starts, [float(t) for t in d[k::2][inside[k::2]]], tol)
              for k in (0, 1)]
    if on.size:
        scores[int(on[0]) % 2] += FIRST_CHORD_CUE
    return scores[0], scores[1]


def _halve(result: dict[str, Any], beats: list[float], downbeats: list[float]
           ) -> tuple[list[float], list[float]]:
    """Every other beat and every other downbeat, so the meter (4/4, 3/4) stays over the new,
    twice as long beats.

    The analysed first downbeat's half (``downbeats[0::2]``) stays unless the other half's
    evidence (:func:`_phase_evidence`: chord changes, the first chord's phrase start) is larger
    by :data:`PHASE_MARGIN`. A real double-time analysis, chords once per true bar, gives a
    difference near 1; a song whose chords change every analysed bar or half-bar (pop909 001:
    "B C# | A#m D#m") scores both halves nearly full, where one missed or extra chord change
    (1/16 of a 90-s song's downbeats each) must not move every bar line by a bar. The beats
    kept are those of the same parity as the kept downbeats."""
    b = np.asarray(beats)
    if not downbeats:
        return beats[0::2], []
    period = float(np.median(np.diff(b))) if b.size >= 2 else 0.5
    tol = 0.25 * period
    even, odd = downbeats[0::2], downbeats[1::2]
    keep = even
    if odd:
        ev_even, ev_odd = _phase_evidence(result, downbeats, tol)
        if ev_odd > ev_even + PHASE_MARGIN:
            keep = odd
    parity = _beat_index(b, keep[:1])[0] % 2
    new_beats = beats[parity::2]
    nb = np.asarray(new_beats)
    kept = [d for d in keep if np.min(np.abs(nb - d)) < 1e-3]
    return new_beats, kept


def choose_tempo(result: dict[str, Any], bpm: float | None = None, *,
                 level: str | None = None) -> dict[str, Any]:
    """A copy of ``result`` at the metrical level ``level`` ("half"/"double") or at ``bpm``
    (which must be a half/double level of the current tempo: x1/4, x1/2, x1, x2 or x4, within
    about 4%; other ratios such as x3 or x2/3 are refused, see :data:`ALLOWED_FACTORS`).

    The result stays self-consistent: halving keeps the meter (4/4, 3/4) over the new beats, so
    every other beat and every other downbeat stay (see :func:`_halve`); doubling fills in the
    midpoints between beats, keeps the downbeats, and the bar gets twice the beats (4/4 -> 8/4,
    3/4 -> 6/4: the denominator stays the beat, as the MIDI export counts one beat per quarter).
    Downbeats are always a subset of the beats, a whole bar of beats apart. The first change
    records the analysed beats, downbeats and meter in ``tempo_choice["analysed"]``; coming back
    to the analysed tempo (half then double) restores them exactly. x4 and x1/4 are two
    doublings or halvings.

    Raises:
        MusicappError: no tempo in the analysis, or ``bpm`` is not a half/double level of it
            (the message names the ratio and the BPMs that can be re-counted).
    """
    current = result.get("tempo_bpm")
    if not current:
        raise MusicappError("this analysis has no tempo to change"
                            + (f" ({result['tempo_reason']})" if result.get("tempo_reason") else ""))
    f = _factor(float(current), bpm, level,
                "found" if not result.get("tempo_choice") else "current")
    if f in (0.25, 4.0):  # two halvings or doublings, each keeping the result consistent
        step = "half" if f < 1 else "double"
        out = choose_tempo(choose_tempo(result, level=step), level=step)
        if bpm is not None:
            out["tempo_bpm"] = out["tempo_choice"]["bpm"] = round(float(bpm), 2)
        out["tempo_choice"]["factor"] = f
        return out
    out = copy.deepcopy(result)
    out["tempo_bpm"] = round(float(current) * f, 2) if bpm is None else round(float(bpm), 2)
    previous = result.get("tempo_choice") or {}
    analysed_bpm = float(previous.get("analysed_bpm", float(current)))
    analysed = previous.get("analysed") or {
        "meter": result.get("meter"), "beats": list(result.get("beats") or []),
        "downbeats": list(result.get("downbeats") or [])}
    out["tempo_choice"] = {"bpm": out["tempo_bpm"], "factor": f, "analysed_bpm": analysed_bpm,
                           "analysed": copy.deepcopy(analysed)}
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
    if abs(np.log(out["tempo_bpm"] / analysed_bpm)) < 0.04:  # back at the analysed level
        for k in ("meter", "beats", "downbeats"):
            out[k] = copy.deepcopy(analysed.get(k))
        if out["meter"] is None:
            out.pop("meter")
    elif f == 0.5 and len(beats) >= 2:
        out["beats"], out["downbeats"] = _halve(result, beats, downbeats)
    elif f == 2.0 and len(beats) >= 2:
        mids = [round((a + b) / 2, 4) for a, b in itertools.pairwise(beats)]
        out["beats"] = sorted(beats + mids)
        out["downbeats"] = [min(out["beats"], key=lambda b, d=d: abs(b - d)) for d in downbeats]
        if result.get("meter"):
            num, den = _meter_parts(result["meter"])
            out["meter"] = f"{2 * num}/{den}"
    return out
