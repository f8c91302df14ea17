"""Evaluation set: generation, rendering, scoring, the CLI table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from musicapp_lab.analysis.evalset import scoring
from musicapp_lab.analysis.evalset.dataset import SPLIT_SEEDS, build, load_split, split_pieces
from musicapp_lab.analysis.evalset.evaluate import evaluate_split, format_table
from musicapp_lab.analysis.evalset.progressions import make_progression_piece

from musicapp.analysis.labels import quality_from_pitch_classes
from tests.analysis.conftest import needs_soundfont


def test_pieces_are_deterministic_and_splits_disjoint():
    a = make_progression_piece(1, 3)
    b = make_progression_piece(1, 3)
    assert a.truth() == b.truth()
    assert SPLIT_SEEDS["eval"] != SPLIT_SEEDS["dev"]
    ev = {p.name for p in split_pieces("eval", include_corpus=False)}
    dv = {p.name for p in split_pieces("dev", include_corpus=False)}
    assert not ev & dv


def test_generated_eval_covers_24_keys_tempi_and_meters():
    pieces = list(split_pieces("eval", include_corpus=False))
    assert len({tuple(p.key) for p in pieces}) == 24
    tempi = [p.tempo for p in pieces]
    assert min(tempi) < 52 and max(tempi) > 200
    assert {p.meter for p in pieces} == {"3/4", "4/4"}


def test_ground_truth_is_consistent():
    p = make_progression_piece(5, 0, tempo=120.0, tonic=0, mode="major", beats_per_bar=4)
    assert np.allclose(np.diff(p.beats), 60.0 / p.tempo)
    assert p.downbeats == p.beats[::4]
    assert p.chords[0][0] == 0.0
    assert abs(p.chords[-1][1] - p.duration) < 1e-6
    assert all(":" in lab for _, _, lab in p.chords)


def test_quality_from_pitch_classes():
    assert quality_from_pitch_classes(7, {7, 11, 2, 5}) == "7"
    assert quality_from_pitch_classes(9, {9, 0, 4}) == "min"
    assert quality_from_pitch_classes(11, {11, 2, 5}) == "dim"
    assert quality_from_pitch_classes(0, {0, 4, 7, 11}) == "maj7"


def test_scoring_perfect_and_wrong():
    truth = {"key": [2, "minor"]}
    assert scoring.key_score(truth, 2, "minor") == 1.0
    assert scoring.key_score(truth, 5, "major") == 0.3  # relative
    assert scoring.key_score(truth, 9, "minor") == 0.5  # fifth
    ts = scoring.tempo_scores(100.0, 50.0, 100.0)
    assert ts["acc1"] == 0.0 and ts["acc2"] == 1.0
    beats = list(np.arange(0, 30, 0.5))
    assert scoring.beat_f(beats, beats) == 1.0
    ref = [(0.0, 2.0, "C:maj"), (2.0, 4.0, "G:7")]
    ov = scoring.chord_overlap(ref, ref, 4.0)
    assert ov["majmin"] == (4.0, 4.0) and ov["sevenths"] == (4.0, 4.0)
    ov = scoring.chord_overlap(ref, [(0.0, 4.0, "C:maj")], 4.0)
    assert ov["majmin"][0] == 2.0


@needs_soundfont
def test_build_and_evaluate_small_set(tmp_path):
    out = build("dev", tmp_path, include_corpus=False, n_generated=2)
    items = load_split("dev", tmp_path)
    assert len(items) == 2 and (out / "index.json").is_file()
    y, sr = items[0].load()
    assert sr == 22050 and y.size > sr * 10
    res = evaluate_split("dev", cache_dir=tmp_path, baseline=True)
    table = format_table(res)
    for row in ("Key MIREX", "Tempo Acc1", "Beat F-measure", "majmin", "sevenths"):
        assert row in table
    assert res["ours"]["old"].result()["key_mirex"][1] == 2
    value, n, lo, hi = res["ours"]["generated"].result()["chord_majmin"]
    assert n > 0 and lo <= value <= hi  # bootstrap interval around the pooled value
    assert "[" in table and "realistic" not in table


def _fake_pop909(root, song="004", bpm=96.0, seconds=120.0):
    """A tiny POP909-style song folder: a real MIDI file and the three annotation files."""
    import pretty_midi

    folder = root / song
    folder.mkdir(parents=True)
    m = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    spb = 60.0 / bpm
    beats = np.arange(0.0, seconds, spb)
    chords = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]
    names = ["C:maj", "A:min", "F:maj", "G:maj"]
    insts = {n: pretty_midi.Instrument(0, name=n) for n in ("MELODY", "BRIDGE", "PIANO")}
    lines = []
    for bar, t in enumerate(beats[::4]):
        ch = chords[bar % 4]
        for p in ch:
            insts["PIANO"].notes.append(pretty_midi.Note(80, p, t, t + 4 * spb))
        insts["MELODY"].notes.append(pretty_midi.Note(90, ch[0] + 12, t, t + spb))
        lines.append(f"{t}\t{t + 4 * spb}\t{names[bar % 4]}")
    m.instruments.extend(insts.values())
    m.write(str(folder / f"{song}.mid"))
    (folder / "chord_midi.txt").write_text("\n".join(lines) + "\n")
    (folder / "beat_midi.txt").write_text("\n".join(
        f"{t} {1.0 if i % 2 == 0 else 0.0} {1.0 if i % 4 == 0 else 0.0}"
        for i, t in enumerate(beats)) + "\n")
    (folder / "key_audio.txt").write_text(f"0.0\t{seconds}\tC:maj\n")


def test_pop909_excerpt_from_a_local_copy(tmp_path):
    from musicapp_lab.analysis.evalset.pop909 import pop909_pieces, song_split

    _fake_pop909(tmp_path)
    assert song_split("004") == "dev"
    pieces = list(pop909_pieces(tmp_path, "dev"))
    assert len(pieces) == 1
    p = pieces[0]
    assert p.key == (0, "major") and p.meter == "4/4"
    assert 30.0 <= p.duration <= 45.0 and abs(p.tempo - 96.0) < 0.01
    assert p.beats[0] == 0.0 and p.downbeats[0] == 0.0  # starts on a downbeat
    assert {lab for _, _, lab in p.chords} <= {"C:maj", "A:min", "F:maj", "G:maj"}
    assert all(0.0 <= n.start < p.duration for n in p.notes)
    assert p.truth()["constant_tempo"] is True
    assert list(pop909_pieces(tmp_path, "eval")) == []


def test_realistic_builder_names_a_missing_copy(tmp_path):
    from musicapp_lab.analysis.evalset.dataset import build_realistic

    with pytest.raises(FileNotFoundError, match="POP909"):
        build_realistic("dev", tmp_path, pop909=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no local copy"):
        build_realistic("dev", tmp_path)


POP909 = Path(__file__).resolve().parents[3] / "data" / "pop909" / "POP909"


@pytest.mark.skipif(not POP909.is_dir(), reason="no local POP909 copy")
def test_eval2_is_fresh_and_disjoint_from_eval_dev_and_training_songs():
    from musicapp_lab.analysis.beat_model.data import training_songs as beat_songs
    from musicapp_lab.analysis.chord_model.data import training_songs as chord_songs
    from musicapp_lab.analysis.evalset.pop909 import (
        EVAL_BUFFER,
        drawing_order,
        song_split,
        split_songs,
    )

    eval2 = split_songs(POP909, "eval2")
    evals = split_songs(POP909, "eval")
    dev = split_songs(POP909, "dev")
    assert len(eval2) == len(set(eval2)) == 70 and len(evals) == 70 and len(dev) == 30
    assert not set(eval2) & set(evals)
    assert not set(eval2) & set(dev) and all(song_split(s) == "eval" for s in eval2)
    assert not set(eval2) & (set(chord_songs(POP909)) | set(beat_songs(POP909)))
    # eval2 takes the songs after eval's in the same drawing order, all within the buffer
    order = drawing_order(POP909, "eval")
    pos = [order.index(s) for s in eval2]
    assert pos == sorted(pos) and min(pos) > max(order.index(s) for s in evals)
    assert max(pos) < EVAL_BUFFER
    assert eval2 == split_songs(POP909, "eval2")  # stable


@pytest.mark.skipif(not POP909.is_dir(), reason="no local POP909 copy")
def test_eval3_is_fresh_and_disjoint_from_every_other_split_and_training_list():
    from musicapp_lab.analysis.beat_model.data import training_songs as beat_songs
    from musicapp_lab.analysis.chord_model.data import training_songs as chord_songs
    from musicapp_lab.analysis.evalset.pop909 import (
        EVAL_BUFFER,
        drawing_order,
        song_split,
        split_songs,
    )

    eval3 = split_songs(POP909, "eval3")
    assert len(eval3) == len(set(eval3)) == 70 and all(song_split(s) == "eval" for s in eval3)
    for other in ("eval", "eval2", "dev"):
        assert not set(eval3) & set(split_songs(POP909, other)), other
    # the training lists as drawn (chord model 340, beat model 200: the cards' counts)
    assert not set(eval3) & (set(chord_songs(POP909, 340)) | set(beat_songs(POP909, 200)))
    order = drawing_order(POP909, "eval")
    assert min(order.index(s) for s in eval3) >= EVAL_BUFFER
    assert eval3[:5] == ["847", "867", "277", "586", "798"]  # as pre-registered in EVAL3.md
    assert eval3 == split_songs(POP909, "eval3")  # stable


def test_eval2_needs_enough_songs_after_eval(tmp_path):
    from musicapp_lab.analysis.evalset.pop909 import split_songs

    _fake_pop909(tmp_path, song="005")
    with pytest.raises(ValueError, match="only 0 of 70"):
        split_songs(tmp_path, "eval2")
