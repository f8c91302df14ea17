"""Chord vocabulary (sevenths, hdim7, dim7), inversions, the transition prior, and the key of a
minor loop."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.analysis import analyze_music
from musicapp.analysis.chords import (
    ChordParams,
    add_inversions,
    decode_chords,
    load_prior,
    transition_costs,
    viterbi,
    viterbi_matrix,
)
from musicapp.analysis.labels import N_CHORDS, chord_index
from tests.analysis.conftest import needs_soundfont

SR = 22050


def _chroma(pcs, weights=None) -> np.ndarray:
    c = np.full(12, 0.02)
    for i, p in enumerate(pcs):
        c[p % 12] = 1.0 if weights is None else weights[i]
    return c


@pytest.mark.parametrize(("pcs", "label"), [
    ((0, 4, 7, 10), "C:7"), ((11, 2, 5, 9), "B:hdim7"), ((1, 4, 7, 10), "C#:dim7"),
    ((5, 8, 0, 3), "F:min7"), ((0, 4, 7, 11), "C:maj7"), ((2, 5, 9), "D:min"),
])
def test_chord_qualities_from_chroma(pcs, label):
    treble = np.stack([_chroma(pcs)] * 6, axis=1)
    bass = np.stack([_chroma([pcs[0]])] * 6, axis=1)
    labels = decode_chords(treble, bass, np.zeros(6, dtype=bool))
    assert set(labels) == {label}


def test_inversion_from_a_clear_bass_note():
    path = np.array([chord_index(0, "maj")] * 4)
    bass = np.stack([_chroma([4], [1.0])] * 4, axis=1)  # E in the bass under C major
    assert add_inversions(["C:maj"] * 4, path, bass) == ["C:maj/3"] * 4
    bass = np.stack([_chroma([0], [1.0])] * 4, axis=1)
    assert add_inversions(["C:maj"] * 4, path, bass) == ["C:maj"] * 4
    bass = np.stack([_chroma([2], [1.0])] * 4, axis=1)  # not a chord tone: no inversion
    assert add_inversions(["C:maj"] * 4, path, bass) == ["C:maj"] * 4


def test_silence_is_no_chord():
    treble = np.stack([_chroma((0, 4, 7))] * 4, axis=1)
    labels = decode_chords(treble, treble, np.array([False, True, True, False]))
    assert labels[1:3] == ["N", "N"]


def test_prior_table_and_matrix_viterbi_agree_with_flat_decoder():
    table = load_prior()
    assert table is not None and table.shape == (10, 12, 10)
    assert np.allclose(np.exp(table).sum(axis=(1, 2)), 1.0, atol=1e-3)
    # V -> I (maj, up a fourth) is likelier than maj -> up a tritone
    assert table[0, 5, 0] > table[0, 6, 0]
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(N_CHORDS + 1, 40))
    flat = np.full((N_CHORDS + 1, N_CHORDS + 1), -1.5)
    np.fill_diagonal(flat, 0.0)
    assert np.array_equal(viterbi_matrix(obs, flat), viterbi(obs, 1.0, 1.5))
    trans = transition_costs(1.5, 0.3)
    assert trans.shape == (N_CHORDS + 1,) * 2 and np.all(np.diag(trans) == 0)
    assert np.all(trans[~np.eye(N_CHORDS + 1, dtype=bool)] <= -0.75)
    treble = np.stack([_chroma((7, 11, 2))] * 3 + [_chroma((0, 4, 7))] * 3, axis=1)
    labels = decode_chords(treble, treble, np.zeros(6, bool), ChordParams(prior_weight=0.3))
    assert labels == ["G:maj"] * 3 + ["C:maj"] * 3


@needs_soundfont
def test_am_f_c_g_loop_is_a_minor():
    from musicapp_lab.analysis.render import Note, render_notes

    notes, t = [], 0.0
    loop = [(57, (0, 3, 7)), (53, (0, 4, 7)), (48, (0, 4, 7)), (55, (0, 4, 7))]
    for _ in range(4):
        for root, ints in loop:
            for _beat in range(4):  # a bar of quarter-note chords at 100 BPM
                notes += [Note(t, t + 0.55, 0, root + 12 + i, 75) for i in ints]
                notes.append(Note(t, t + 0.55, 1, root - 12, 70))
                t += 0.6
    y = render_notes(notes, {0: 0, 1: 32}, sample_rate=SR)
    d = analyze_music(y, SR).to_dict()
    assert (d["key"]["tonic"], d["key"]["mode"]) == ("A", "minor")
    names = {c["name"] for c in d["key_candidates"]}
    assert "C major" in names  # the relative key is offered
