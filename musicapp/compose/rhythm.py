"""Harmonic rhythm as musicians write it: meters, whole-bar loops, one or two chords per bar.

A loop is a whole number of bars. Each bar holds one chord (the whole bar) or two (the bar split
at its middle: 2+2 beats in 4/4, 2+1 in 3/4, 1.5+1.5 in 6/8, 3+3 in 12/8). "Chords per bar" is
``1``, ``2`` or ``"auto"`` (the model's duration head chooses per bar; the loop then lasts the
bars asked for, else a power of two: 4 or 8 bars for 8 chords; see
:func:`musicapp.compose.generate.musical_bar_counts`). Durations are in quarter-note beats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from musicapp.errors import MusicappError

CHORDS_PER_BAR = ("1", "2", "auto")


@dataclass(frozen=True)
class Meter:
    """A time signature; ``bar_beats`` and the split are in quarter-note beats."""

    numerator: int = 4
    denominator: int = 4

    def __post_init__(self) -> None:
        if self.denominator not in (2, 4, 8, 16) or not 1 <= self.numerator <= 16:
            raise MusicappError(f"{self.numerator}/{self.denominator}: unsupported meter "
                                "(numerator 1..16, denominator 2, 4, 8 or 16)")

    @property
    def text(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def bar_beats(self) -> float:
        """Length of a bar in quarter notes."""
        return self.numerator * 4.0 / self.denominator

    @property
    def split(self) -> tuple[float, float]:
        """The two halves of a bar holding two chords (first >= second)."""
        if self.denominator == 8 and self.numerator % 3 == 0:  # compound: dotted beats
            beats = self.numerator // 3
            unit = 1.5
        else:
            beats = self.numerator
            unit = 4.0 / self.denominator
        first = (beats - beats // 2) * unit
        return first, self.bar_beats - first

    @property
    def family(self) -> str:
        """The meter class the chord model is conditioned on: ``duple``, ``triple`` or
        ``compound``."""
        if self.denominator == 8 and self.numerator % 3 == 0 and self.numerator > 3:
            return "compound"
        if self.numerator % 3 == 0:
            return "triple"
        return "duple"

    @staticmethod
    def parse(text: str) -> Meter:
        """Parse ``"4/4"``, ``"3/4"``, ``"6/8"``."""
        m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", str(text))
        if not m:
            raise MusicappError(f"{text!r}: not a meter (expected e.g. 4/4, 3/4, 6/8)")
        return Meter(int(m.group(1)), int(m.group(2)))


def counted_beat(meter: Meter) -> float:
    """The beat musicians count in ``meter``, in quarter notes: the dotted quarter (1.5) in
    6/8, 9/8, 12/8, else the note value of the denominator (1 in x/4, 0.5 in 3/8 and 5/8)."""
    if meter.denominator == 8 and meter.numerator % 3 == 0 and meter.numerator > 3:
        return 1.5
    return 4.0 / meter.denominator


_UNIT_NAMES = {0.25: "sixteenth", 0.5: "eighth", 1.0: "quarter", 1.5: "dotted quarter",
               2.0: "half"}


def beat_unit_text(meter: Meter) -> str:
    """Name of the counted beat of ``meter``: "quarter", "dotted quarter", "eighth"..."""
    return _UNIT_NAMES[counted_beat(meter)]


def beat_bpm(tempo_bpm: float, meter: Meter) -> float:
    """``tempo_bpm`` (quarter notes a minute: the MIDI file's tempo, the app's one tempo unit)
    as counted beats a minute in ``meter``: 100 -> 66.7 dotted quarters in 6/8."""
    return tempo_bpm / counted_beat(meter)


def tempo_text(tempo_bpm: float, meter: Meter) -> str:
    """The tempo as a musician reads it: ``"100 bpm"`` where the counted beat is the quarter
    note, else with the unit said and the counted beat's rate: ``"100 bpm (quarter notes) =
    66.7 dotted quarters a minute"`` in 6/8, ``"... = 200 eighths a minute"`` in 5/8."""
    if counted_beat(meter) == 1.0:
        return f"{tempo_bpm:.0f} bpm"
    rate = round(beat_bpm(tempo_bpm, meter), 1)
    return (f"{tempo_bpm:.0f} bpm (quarter notes) = {rate:g} {beat_unit_text(meter)}s "
            "a minute")


def length_text(beats: float, meter: Meter) -> str:
    """A chord's length (``beats`` quarter notes) as a musician counts it in ``meter``: whole
    bars as "1 bar", "2 bars", else counted beats: "2 beats" in 4/4, "1 beat" for half a bar
    of 6/8 (a dotted quarter), "1.5 beats" for a quarter note in 6/8."""
    bars = beats / meter.bar_beats
    if bars >= 1 - 1e-9 and abs(bars - round(bars)) < 1e-9:
        n = round(bars)
        return f"{n} bar" + ("" if n == 1 else "s")
    n = round(beats / counted_beat(meter), 3)
    return f"{n:g} beat" + ("" if n == 1 else "s")


def check_chords_per_bar(value: str | int) -> str:
    """Normalise a "chords per bar" choice to ``"1"``, ``"2"`` or ``"auto"``."""
    v = str(value).strip().lower()
    if v not in CHORDS_PER_BAR:
        raise MusicappError(f"{value!r}: chords per bar must be 1, 2 or auto")
    return v


def plan_beats(halves: list[bool], meter: Meter) -> list[float]:
    """Beats per chord for a bar plan: ``halves[i]`` is True when chord ``i`` takes half a bar.

    Two consecutive half-bar chords share one bar; the plan must close every bar.
    """
    out: list[float] = []
    first, second = meter.split
    open_half = False
    for h in halves:
        if open_half:
            if not h:
                raise MusicappError("a half-bar chord must be followed by another half-bar chord")
            out.append(second)
            open_half = False
        elif h:
            out.append(first)
            open_half = True
        else:
            out.append(meter.bar_beats)
    if open_half:
        raise MusicappError("the loop ends in the middle of a bar")
    return out


def fixed_plan(n: int, chords_per_bar: str) -> list[bool]:
    """The plan for ``chords_per_bar`` 1 (every chord a bar) or 2 (two chords in each bar; an odd
    count ends with a whole bar)."""
    if chords_per_bar == "1":
        return [False] * n
    halves = [True] * (n - n % 2)
    return halves + [False] * (n % 2)


def onsets(beats: list[float]) -> list[float]:
    """Start of each chord in beats."""
    out, t = [], 0.0
    for b in beats:
        out.append(t)
        t += b
    return out


def is_bar_aligned(beats: list[float], meter: Meter) -> bool:
    """True when the loop is whole bars and every bar holds one chord or two chords split at the
    bar's middle (what :func:`plan_beats` produces)."""
    bar = meter.bar_beats
    first, second = meter.split
    i, n = 0, len(beats)
    if n == 0:
        return False
    while i < n:
        if abs(beats[i] - bar) < 1e-9:
            i += 1
        elif i + 1 < n and abs(beats[i] - first) < 1e-9 and abs(beats[i + 1] - second) < 1e-9:
            i += 2
        else:
            return False
    return True
