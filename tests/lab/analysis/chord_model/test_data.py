"""Training data of the learned chord recogniser: label mapping, segment labels, song split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from musicapp_lab.analysis.chord_model.data import (
    EVAL_BUFFER,
    IGNORE,
    label_class,
    segment_labels,
    training_songs,
)

from musicapp.analysis.labels import N_CHORDS, chord_index

POP909 = Path(__file__).resolve().parents[4] / "data" / "pop909" / "POP909"


@pytest.mark.parametrize(("label", "want"), [
    ("C:maj", chord_index(0, "maj")), ("A:min7", chord_index(9, "min7")),
    ("G:sus4(b7)", chord_index(7, "sus4")), ("F:maj6", chord_index(5, "maj")),
    ("D:maj/3", chord_index(2, "maj")), ("Bb:hdim7", chord_index(10, "hdim7")),
    ("E:minmaj7", chord_index(4, "min")), ("N", N_CHORDS), ("C:aug", IGNORE),
    ("X", IGNORE), ("nonsense", IGNORE),
])
def test_label_class(label, want):
    assert label_class(label) == want


def test_segment_label_is_the_chord_covering_most_of_it():
    chords = [(0.0, 1.2, "C:maj"), (1.2, 4.0, "A:min"), (5.0, 6.0, "F:maj")]
    bounds = np.array([0.0, 1.0, 2.0, 3.0, 4.5, 5.5, 7.0])
    got = segment_labels(bounds, chords).tolist()
    assert got == [chord_index(0, "maj"), chord_index(9, "min"), chord_index(9, "min"),
                   chord_index(9, "min"), chord_index(5, "maj"), chord_index(5, "maj")]
    assert segment_labels(np.array([8.0, 9.0]), chords).tolist() == [N_CHORDS]


@pytest.mark.skipif(not POP909.is_dir(), reason="no local POP909 copy")
def test_training_songs_avoid_the_evaluation_builders_songs():
    from musicapp_lab.analysis.evalset.pop909 import SPLIT_SEED, song_split

    songs = training_songs(POP909)
    assert songs == training_songs(POP909)  # fixed order
    assert len(set(songs)) == len(songs)
    evals = sorted(p.name for p in POP909.iterdir() if p.is_dir() and p.name.isdigit()
                   and song_split(p.name) == "eval")
    order = [evals[i] for i in np.random.default_rng(SPLIT_SEED["eval"]).permutation(len(evals))]
    assert all(song_split(s) == "eval" for s in songs)
    assert not set(songs) & set(order[:EVAL_BUFFER])
    assert len(songs) == len(evals) - EVAL_BUFFER
