"""Chromagram, key strength, spectrum and tuner maths on generated tones."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.gui.harmony import (
    chromagram,
    estimate_pitch,
    key_index,
    key_name,
    key_strength,
    note_and_cents,
    spectrum_db,
)
from tests.helpers.signals import chord, noise, sine

SR = 16000


@pytest.mark.parametrize("hz,note", [(82.41, "E2"), (110.0, "A2"), (261.63, "C4"),
                                     (440.0, "A4"), (987.77, "B5")])
def test_tuner_names_a_sustained_note(hz, note):
    y = sine(hz, 0.3, SR) + 0.5 * sine(2 * hz, 0.3, SR) + 0.3 * sine(3 * hz, 0.3, SR)
    found = estimate_pitch(y[:4096], SR)
    assert found is not None
    name, cents = note_and_cents(found)
    assert name == note and abs(cents) < 3


def test_tuner_reports_cents_off_and_nothing_for_noise():
    sharp = 440.0 * 2 ** (20 / 1200)  # 20 cents sharp
    name, cents = note_and_cents(estimate_pitch(sine(sharp, 0.3, SR)[:4096], SR))
    assert name == "A4" and cents == pytest.approx(20, abs=2)
    assert estimate_pitch(noise(0.3, SR)[:4096], SR) is None
    assert estimate_pitch(np.zeros(4096, np.float32), SR) is None


def test_chromagram_shows_the_chord_tones():
    y = chord([220.0, 261.63, 329.63], 4.0, SR)  # A minor: A C E
    c = chromagram(y, SR, hop=2048)
    mean = c.mean(axis=1)
    top = {int(i) for i in np.argsort(-mean)[:3]}
    assert top == {9, 0, 4}
    assert np.all(c <= 1.0 + 1e-6) and np.all(c >= 0.0)


def test_key_strength_follows_a_modulation():
    a_minor = np.concatenate([chord(f, 2.0, SR) for f in ([220.0, 261.63, 329.63],
                                                          [146.83, 174.61, 220.0],
                                                          [164.81, 207.65, 246.94])] * 3)
    e_flat = np.concatenate([chord(f, 2.0, SR) for f in ([155.56, 196.0, 233.08],
                                                         [207.65, 261.63, 311.13],
                                                         [233.08, 293.66, 349.23])] * 3)
    c = chromagram(np.concatenate([a_minor, e_flat]), SR, hop=2048)
    times, r = key_strength(c, 2048 / SR, window_s=8.0)
    early = key_name(int(np.argmax(r[:, np.searchsorted(times, 6.0)])))
    late = key_name(int(np.argmax(r[:, np.searchsorted(times, 30.0)])))
    assert early in ("A minor", "C major") and late in ("Eb major", "C minor")
    assert key_index("A", "minor") == 21 and key_index("Bb", "major") == 10
    assert key_index("H", "major") is None


def test_spectrum_peak_at_the_tone():
    freqs, db = spectrum_db(sine(1000.0, 0.3, SR, amp=0.5)[:4096], SR)
    assert freqs[int(np.argmax(db))] == pytest.approx(1000.0, abs=4)
    assert db.max() == pytest.approx(20 * np.log10(0.5), abs=1.5)


def test_key_names_are_spelled_as_the_analysis_spells_them():
    """The Harmony tab said "Ab minor" while the analysis panel said "G# minor"."""
    from musicapp.analysis.key_report import key_entry

    for index in range(24):
        mode = "major" if index < 12 else "minor"
        assert key_name(index) == key_entry(index % 12, mode)["name"]


MODULATING = [
    {"start": 0.0, "end": 299.6, "tonic": "A", "mode": "major", "name": "A major",
     "confidence": 0.8},
    {"start": 299.6, "end": 360.0, "tonic": "C", "mode": "major", "name": "C major",
     "confidence": 0.7}]


def test_the_key_timeline_in_words():
    from musicapp.gui.harmony import key_changes, key_timeline_summary, time_text

    assert time_text(299.6) == "4:59.6" and time_text(59.96) == "1:00.0"
    assert key_changes(MODULATING) == [(299.6, "A major", "C major")]
    assert key_timeline_summary(MODULATING) == "A major → C major at 4:59.6"
    back = [*MODULATING[:1], {**MODULATING[1], "end": 400.0},
            {"start": 400.0, "end": 420.0, "tonic": "A", "mode": "major"}]
    assert key_timeline_summary(back) == "A major → C major at 4:59.6 → A major at 6:40.0"
    assert key_changes(MODULATING[:1]) == [] and key_timeline_summary(MODULATING[:1]) == "A major"
    assert key_timeline_summary([]) == "" and key_changes(None) == []


def test_each_moment_gets_the_row_of_its_timeline_key():
    from musicapp.gui.harmony import timeline_key_rows

    rows = timeline_key_rows(MODULATING, np.array([0.0, 100.0, 299.5, 299.6, 359.0, 500.0]))
    a_major, c_major = key_index("A", "major"), key_index("C", "major")
    assert rows.tolist() == [a_major, a_major, a_major, c_major, c_major, c_major]
    assert timeline_key_rows([], np.array([1.0])).tolist() == [-1]
