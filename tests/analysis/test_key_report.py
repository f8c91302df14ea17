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


def test_no_other_key_is_shown_above_the_best_one():
    # the scorer's runner-up close behind, a low calibrated confidence: split in proportion the
    # runner-up got 0.56 beside a best key of 0.34 (Ambience.ogg); water-filled it ties at 0.34
    p = np.full(24, 0.002)
    p[5], p[17], p[22] = 0.5, 0.42, 0.05  # F major, F minor, Bb minor
    p /= p.sum()
    shown = kr.shown_probabilities(p, 0.34)
    assert np.isclose(shown.sum(), 1.0) and np.isclose(shown[5], 0.34)
    assert shown.max() <= 0.34 + 1e-12 and np.isclose(shown[17], 0.34)
    uncapped = np.arange(24)[(shown < 0.34 - 1e-9)]
    assert np.allclose(shown[uncapped] / p[uncapped], shown[22] / p[22])  # scorer's ratios
    tiny = kr.shown_probabilities(p, 0.01)  # below 1/24: the best still on top, sum 1
    assert np.isclose(tiny.sum(), 1.0) and np.isclose(tiny[5], tiny.max())


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



def test_ambiguity_names_the_best_and_the_most_likely_other_key_spelled_alike():
    # Taiko_1.ogg: Ab major best at 0.095, G# minor 0.30 shown, "ambiguous between Ab major and
    # G minor"; now the parallel ties with it, is spelled Ab minor, and there is no clear key
    p = np.full(24, 0.01)
    p[8], p[20], p[7 + 12] = 0.3, 0.29, 0.05  # Ab major, G#/Ab minor, G minor
    p /= p.sum()
    rep = kr.KeyReport(8, "major", 0.095, kr.shown_probabilities(p, 0.095), scores=p)
    assert rep.ambiguity() == "no clear key: Ab major or Ab minor"
    names = [c["name"] for c in rep.candidates()]
    assert names[:2] == ["Ab major", "Ab minor"] and "G# minor" not in names
    # a tie among the others is broken by the scorer, never the best key named twice
    rep = kr.KeyReport(8, "major", 0.3, kr.shown_probabilities(p, 0.3), scores=p)
    assert rep.ambiguity() == "ambiguous between Ab major and Ab minor"
    assert rep.candidates()[0]["relation"] == "best"


def test_no_clear_key_below_the_threshold_in_the_cli_line():
    from musicapp.cli.analyze import summarise

    p = np.full(24, 0.01)
    p[8], p[20] = 0.3, 0.29
    p /= p.sum()
    d = kr.KeyReport(8, "major", 0.095, kr.shown_probabilities(p, 0.095), scores=p).to_dict()
    text = summarise({"path": "taiko.ogg", "duration_s": 30.0, **d})
    assert "  key: no clear key (best guess Ab major, confidence 0.10)" in text.splitlines()
    assert "no clear key: Ab major or Ab minor" not in text  # said once, on the key line
    assert "also Ab minor 0.10 (parallel)" in text
    assert kr.is_clear(kr.NO_CLEAR_KEY) and not kr.is_clear(kr.NO_CLEAR_KEY - 0.01)


@needs_soundfont
def test_rendered_f_major_f_minor_keeps_the_headline_on_top():
    """F major then F minor, 8 beats each (10.6 s): the scorer prefers F major by a little and
    the calibrated confidence is low. Before: F major 0.43 with F minor 0.55 below it and
    "ambiguous between F major and F major"; after: F minor ties at 0.43."""
    from musicapp.cli.analyze import summarise

    maj, mnr = (0, 4, 7), (0, 3, 7)
    y = render_notes(_block_chords([(65, maj), (65, mnr)], beats_per_chord=8), {0: 0, 1: 32})
    d = analyze_music(y, 22050).to_dict()
    best = d["key"]
    cands = d["key_candidates"]
    assert cands[0]["name"] == best["name"] and cands[0]["probability"] == best["confidence"]
    assert all(c["probability"] <= best["confidence"] for c in cands)
    assert best["name"] in ("F major", "F minor")
    other = "F minor" if best["name"] == "F major" else "F major"
    assert cands[1]["name"] == other
    assert d["key_ambiguity"] == f"ambiguous between {best['name']} and {other}"
    text = summarise({"path": "ffm.wav", "duration_s": 10.6, **d})
    assert f"       also {other} {cands[1]['probability']:.2f} (parallel)" in text


def test_gui_key_label_says_no_clear_key_once():
    pytest.importorskip("PySide6")
    from musicapp.gui.analysis_view import key_text, summary_line

    p = np.full(24, 0.01)
    p[8], p[20] = 0.3, 0.29
    p /= p.sum()
    d = kr.KeyReport(8, "major", 0.095, kr.shown_probabilities(p, 0.095), scores=p).to_dict()
    text = key_text(d["key"], d["key_candidates"], d["key_ambiguity"])
    assert text.splitlines() == ["No clear key (best guess Ab major) · 0.10",
                                 "or Ab minor 0.10"]
    assert summary_line({**d, "tempo_bpm": 65.0}) == "no clear key · 65.0 BPM"
    clear = kr.KeyReport(8, "major", 0.3, kr.shown_probabilities(p, 0.3), scores=p).to_dict()
    lines = key_text(clear["key"], clear["key_candidates"], clear["key_ambiguity"]).splitlines()
    assert lines[0] == "Ab major · 0.30" and lines[2] == "ambiguous between Ab major and Ab minor"


@pytest.mark.parametrize("seconds, pitches", [(1.0, (60, 64)), (3.0, (57, 61, 64))])
def test_a_clip_of_a_few_seconds_is_a_guess_not_a_confident_key(seconds, pitches):
    # a 1-s C+E dyad was "C major 0.76" and every 0.5-3 s A-major triad about 0.76 (attacker):
    # below the calibration's shortest clips the cap falls towards SHORT_CLIP_FLOOR
    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t) for m in pitches)
    y = (0.2 * y * np.minimum(1.0, t / 0.02)).astype(np.float32)
    d = analyze_music(y, sr).to_dict()
    if d["key"] is not None:  # "too few different pitches" is an honest answer too
        assert d["key"]["confidence"] <= 0.55, d["key"]


def test_the_short_clip_cap_leaves_the_calibrated_range_alone():
    from musicapp.analysis import key as key_mod

    def cap(seconds: float, chords: int) -> float:
        x = np.zeros(len(key_mod.CONFIDENCE_FEATURES))
        x[1] = np.log(max(seconds, 1.0) / 30.0)
        x[2] = np.log((1.0 + chords) / 16.0)
        return key_mod.evidence_cap(x)

    assert cap(8.0, 4) == pytest.approx(key_mod.MIN_EVIDENCE_CAP + (
        key_mod.MAX_CONFIDENCE - key_mod.MIN_EVIDENCE_CAP) * min(8 / 30, 4 / 15))
    assert cap(1.0, 1) == pytest.approx(key_mod.SHORT_CLIP_FLOOR)
    assert cap(1.0, 1) < cap(4.0, 2) < cap(8.0, 2)


def test_a_weak_key_tied_with_unrelated_keys_is_no_clear_key():
    # temple.ogg: G major 0.26, G# minor 0.26, C minor 0.21 was "ambiguous between G major and
    # G# minor" (second musician's look); a parallel tie at 0.34 stays ambiguous
    assert kr.key_headline({"tonic": "G", "mode": "major", "confidence": 0.26}) == (
        "no clear key (best guess G major)")
    assert kr.key_headline({"tonic": "F", "mode": "major", "confidence": 0.34}) == "F major"


# ---- the local-key timeline agrees with the global key -----------------------------------------
def _timeline(y: np.ndarray) -> dict:
    return analyze_music(y, 22050).to_dict()


@needs_soundfont
@pytest.mark.parametrize(("tonic", "mode"), [(0, "major"), (1, "major"), (6, "minor")])
def test_a_piece_in_one_key_has_one_timeline_entry_the_global_key(tonic, mode):
    y = render(steady_piece(110.0, tonic, mode, 4, max_seconds=40.0))
    d = _timeline(y)
    assert d["key"]["mode"] == mode
    assert [(s["tonic"], s["mode"], s["confidence"]) for s in d["key_timeline"]] == \
        [(d["key"]["tonic"], d["key"]["mode"], d["key"]["confidence"])]
    assert d["key_timeline"][0]["start"] == 0.0
    assert d["key_timeline"][0]["end"] == pytest.approx(y.size / 22050, abs=0.01)


@needs_soundfont
@pytest.mark.parametrize(("tonic", "relative"), [(9, ("C", "major")), (2, ("F", "major"))])
def test_a_minor_piece_timeline_is_not_its_relative_major(tonic, relative):
    d = _timeline(render(steady_piece(110.0, tonic, "minor", 4, max_seconds=40.0)))
    keys = {(s["tonic"], s["mode"]) for s in d["key_timeline"]}
    assert relative not in keys
    assert keys == {(d["key"]["tonic"], "minor")}


@needs_soundfont
def test_a_modulation_shows_both_keys_with_calibrated_confidence_and_chords_spelled_locally():
    """40 s of C major, then 40 s of E major (cadences in both): the timeline shows C major,
    then E major; a key other than the global one only with a confident calibrated
    confidence; the chords of the E major section are spelled in E major (G#m, not Abm)."""
    a = render(steady_piece(110.0, 0, "major", 4, max_seconds=40.0))
    b = render(steady_piece(110.0, 4, "major", 4, max_seconds=40.0))
    d = _timeline(np.concatenate([a, b]))
    tl = d["key_timeline"]
    assert (tl[0]["tonic"], tl[0]["mode"]) == ("C", "major")
    assert (tl[-1]["tonic"], tl[-1]["mode"]) == ("E", "major")
    assert tl[0]["end"] == pytest.approx(40.0, abs=5.0)
    for s in tl:
        if (s["tonic"], s["mode"]) != (d["key"]["tonic"], d["key"]["mode"]):
            assert s["confidence"] >= kr.LOCAL_KEY_CONFIDENCE
        else:
            assert s["confidence"] == d["key"]["confidence"]


@needs_soundfont
def test_local_keys_and_their_chords_are_spelled_in_the_local_key():
    """E major, then Ab major: whatever the global key (a sharp key here), the Ab major section
    is named Ab major (not G# major) and its chords Db Eb Ab Fm Bbm (not C# D# G# E#m A#m)."""
    a = render(steady_piece(110.0, 4, "major", 4, max_seconds=40.0))
    b = render(steady_piece(110.0, 8, "major", 4, max_seconds=40.0))
    d = _timeline(np.concatenate([a, b]))
    tl = d["key_timeline"]
    assert (tl[0]["name"], tl[-1]["name"]) == ("E major", "Ab major")
    assert tl[-1]["start"] < 45.0
    last = [c["symbol"] for c in d["chords"] if c["start"] >= tl[-1]["start"]
            and c["label"] != "N"]
    roots = {c.rstrip("m7aj") for c in last}
    assert roots <= {"Db", "Eb", "Ab", "F", "Bb", "C", "G"}, last
    assert {"Db", "Eb", "Ab"} <= roots, last
    first = [c["symbol"] for c in d["chords"] if c["end"] <= tl[0]["end"] and c["label"] != "N"]
    assert not any("b" in c.rstrip("m7aj")[1:] for c in first), first  # E major: sharps


def _section(chords: list[str], seconds_each: float):
    """Summed key and bass chroma, labels and durations of block chords (root in the bass)."""
    pcs = {"C:maj": (0, 4, 7), "F:maj": (5, 9, 0), "G:maj": (7, 11, 2), "A:min": (9, 0, 4),
           "D:min": (2, 5, 9), "E:maj": (4, 8, 11)}
    kc, bc = np.zeros(12), np.zeros(12)
    for n in chords:
        kc[list(pcs[n])] += seconds_each
        bc[pcs[n][0]] += seconds_each
    return kc, bc, list(chords), np.full(len(chords), seconds_each)


def test_a_section_shows_another_key_only_when_confidently_different():
    """The rule on a section's own evidence, global key A minor: a long C major section (many
    chords and cadences) shows C major with its calibrated confidence; the same chords over a
    few seconds (a low capped confidence) show the global key; a section in A minor shows it."""
    a_minor = kr.KeyReport(9, "minor", 0.7)
    long_c = _section(["C:maj", "F:maj", "G:maj", "C:maj"] * 12, 2.0)
    key, conf = kr.section_key(*long_c, a_minor)
    assert key == 0 and kr.LOCAL_KEY_CONFIDENCE <= conf < 1.0
    short_c = _section(["C:maj", "F:maj", "G:maj", "C:maj"], 1.0)
    assert kr.section_key(*short_c, a_minor) == (21, 0.7)
    a_section = _section(["A:min", "D:min", "E:maj", "A:min"] * 12, 2.0)
    assert kr.section_key(*a_section, a_minor) == (21, 0.7)
