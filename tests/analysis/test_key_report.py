"""musicapp.analysis.key_report: shown probabilities, ambiguity, spelling of the candidates,
and the key of rendered music (Db major named with flats; a 20-s clip is not near certain)."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.analysis.render import Note, render_notes

from musicapp.analysis import analyze_music
from musicapp.analysis import key_report as kr
from tests.analysis.conftest import needs_soundfont, render, steady_piece


def test_shown_probabilities_give_the_best_key_the_calibrated_confidence():
    p = np.full(24, 0.001)
    p[0], p[9], p[7] = 0.9, 0.06, 0.017
    p /= p.sum()
    shown = kr.shown_probabilities(p, 0.7)
    assert np.isclose(shown.sum(), 1.0)
    assert np.isclose(shown[0], 0.7)
    assert np.argsort(-shown)[1] == 9  # the others keep their order
    assert np.isclose(shown[9] / shown[7], p[9] / p[7])


def _report(p_best: float, p_rel: float, evidence: dict | None = None) -> kr.KeyReport:
    p = np.full(24, (1.0 - p_best - p_rel) / 22)
    p[0], p[21] = p_best, p_rel  # C major, A minor
    return kr.KeyReport(0, "major", p_best, p, evidence=evidence or {})


def test_ambiguity_follows_the_shown_probabilities():
    assert _report(0.5, 0.4).ambiguity() == "ambiguous between C major and A minor"
    assert _report(0.8, 0.1).ambiguity() is None
    d = _report(0.5, 0.4).to_dict()
    assert d["key"]["confidence"] == 0.5  # the confidence shown is the best key's probability
    assert d["key_candidates"][0]["probability"] == d["key"]["confidence"]
    assert d["key_ambiguity"] == "ambiguous between C major and A minor"


def test_a_key_the_chords_contradict_is_called_ambiguous():
    ev = {"tonic_chord_share": 0.15,
          "other_tonic_chord_share": {"A minor": 0.4, "C minor": 0.0}}
    assert _report(0.7, 0.1, ev).ambiguity() == \
        "ambiguous between C major and A minor (the chords centre on A minor)"
    agree = {"tonic_chord_share": 0.4, "other_tonic_chord_share": {"A minor": 0.2}}
    assert _report(0.7, 0.1, agree).ambiguity() is None


def test_candidates_are_spelled_on_the_side_of_the_best_key():
    p = np.full(24, 0.01)
    p[1], p[6] = 0.6, 0.2  # Db major, its subdominant F#/Gb major
    p /= p.sum()
    rep = kr.KeyReport(1, "major", float(p[1]), p)
    names = [c["name"] for c in rep.candidates()]
    assert names[0] == "Db major" and "Gb major" in names and "F# major" not in names
    b = np.full(24, 0.01)
    b[11], b[15] = 0.6, 0.3  # B major, D#/Eb minor (its mediant)
    b /= b.sum()
    assert "D# minor" in [c["name"] for c in kr.KeyReport(11, "major", 0.6, b).candidates(4)]


def _block_chords(progression: list[tuple[int, tuple[int, ...]]], beat: float = 0.6,
                  beats_per_chord: int = 8) -> list[Note]:
    notes, t = [], 0.0
    for root, intervals in progression:
        for b in range(beats_per_chord):
            s = t + b * beat
            notes += [Note(s, s + beat * 0.95, 0, 60 + (root - 60 + iv) % 12, 70)
                      for iv in intervals]
            notes.append(Note(s, s + beat * 0.95, 1, 36 + root % 12, 80))
        t += beats_per_chord * beat
    return notes


@needs_soundfont
def test_rendered_db_major_progression_is_named_with_flats():
    maj, mnr = (0, 4, 7), (0, 3, 7)
    prog = [(61, maj), (66, maj), (68, maj), (61, maj), (70, mnr), (65, mnr), (66, maj),
            (68, maj), (61, maj)]  # Db Gb Ab Db Bbm Fm Gb Ab Db
    y = render_notes(_block_chords(prog), {0: 0, 1: 32})
    d = analyze_music(y, 22050).to_dict()
    assert d["key"]["name"] == "Db major"
    symbols = {c["symbol"] for c in d["chords"] if c["label"] != "N"}
    assert symbols <= {"Db", "Gb", "Ab", "Bbm", "Fm"}, symbols
    assert {"Db", "Gb", "Ab", "Bbm", "Fm"} <= symbols
    text = " ".join([d["key"]["name"]] + [c["label"] + c["symbol"] for c in d["chords"]]
                    + [c["name"] for c in d["key_candidates"]])
    assert "E#" not in text and "C#:" not in text and "F#:" not in text
    assert d["key_candidates"][0]["probability"] == d["key"]["confidence"]
    # nine chords: not enough evidence for near certainty
    assert d["key"]["confidence"] < 0.95


@needs_soundfont
@pytest.mark.parametrize("seconds", [20.0])
def test_a_20_second_clip_is_not_near_certain(seconds):
    p = steady_piece(110.0, 7, "major", max_seconds=seconds)
    d = analyze_music(render(p), 22050).to_dict()
    assert d["key"] is not None
    assert d["key"]["confidence"] <= 0.91
    assert d["key_timeline"][0]["confidence"] <= 0.91


def test_a_weak_best_key_with_a_real_runner_up_is_ambiguous():
    assert _report(0.54, 0.22).ambiguity() == "ambiguous between C major and A minor"
    assert _report(0.54, 0.1).ambiguity() is None  # the rest spread over many keys


@needs_soundfont
def test_rendered_minor_loop_says_it_is_ambiguous_and_the_cli_shows_it():
    from musicapp.cli.analyze import summarise

    maj, mnr = (0, 4, 7), (0, 3, 7)
    prog = [(69, mnr), (65, maj), (60, maj), (67, maj)] * 3  # Am F C G
    d = analyze_music(render_notes(_block_chords(prog, beats_per_chord=4), {0: 0, 1: 32}),
                      22050).to_dict()
    assert d["key"]["name"] in ("A minor", "C major")
    assert d["key_ambiguity"] in ("ambiguous between A minor and C major",
                                  "ambiguous between C major and A minor")
    assert d["key"]["confidence"] < kr.AMBIGUOUS_CONFIDENCE
    text = summarise({"path": "loop.wav", "duration_s": 30.0, **d})
    assert f"       {d['key_ambiguity']}" in text.splitlines()
    assert f"(confidence {d['key']['confidence']:.2f})" in text

