"""Chord lengths as musicians count them (rhythm.length_text)."""

from __future__ import annotations

import pytest

from musicapp.compose.rhythm import Meter, beat_unit_text, counted_beat, length_text


@pytest.mark.parametrize(("meter", "beats", "text"), [
    ("4/4", 4.0, "1 bar"), ("4/4", 8.0, "2 bars"), ("4/4", 2.0, "2 beats"),
    ("3/4", 2.0, "2 beats"), ("3/4", 1.0, "1 beat"), ("3/4", 3.0, "1 bar"),
    ("6/8", 3.0, "1 bar"), ("6/8", 1.5, "1 beat"), ("6/8", 6.0, "2 bars"),
    ("12/8", 3.0, "2 beats"), ("12/8", 6.0, "1 bar"), ("6/8", 1.0, "0.667 beats"),
])
def test_length_text(meter, beats, text):
    assert length_text(beats, Meter.parse(meter)) == text


def test_the_counted_beat():
    assert beat_unit_text(Meter.parse("6/8")) == "dotted quarter"
    assert beat_unit_text(Meter.parse("4/4")) == "quarter"
    assert beat_unit_text(Meter.parse("3/8")) == "eighth"
    assert counted_beat(Meter.parse("12/8")) == 1.5


def test_tempo_text_names_the_unit_where_the_beat_is_not_a_quarter():
    from musicapp.compose.rhythm import Meter, beat_bpm, tempo_text

    assert tempo_text(100, Meter.parse("4/4")) == "100 bpm"
    assert tempo_text(100, Meter.parse("6/8")) == \
        "100 bpm (quarter notes) = 66.7 dotted quarters a minute"
    assert tempo_text(100, Meter.parse("5/8")) == "100 bpm (quarter notes) = 200 eighths a minute"
    assert beat_bpm(90, Meter.parse("12/8")) == 60
