"""The chord-transition prior is rebuilt from local copies (fake Billboard/POP909 files here)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from musicapp_lab.analysis.chord_prior import build_prior, count_transitions, reduce_label, write_prior


def test_reduce_labels():
    assert reduce_label("C:maj") == (0, 0)
    assert reduce_label("Bb:min7/b7") == (10, 4)
    assert reduce_label("F#:sus4(b7)") == (6, 6)
    assert reduce_label("D:maj(9)") == (2, 0)
    assert reduce_label("N") is None and reduce_label("C:weird") is None


def test_counts_skip_n_and_repeats():
    c = count_transitions([["G:maj", "G:maj", "N", "C:maj", "A:min"]])
    assert c.sum() == 2 and c[0, 5, 0] == 1 and c[0, 9, 1] == 1


def test_build_from_local_copies_only_reads_dev_songs(tmp_path):
    bb = tmp_path / "bb"
    (bb / "0003").mkdir(parents=True)
    (bb / "0003" / "full.lab").write_text("0\t1\tG:maj\n1\t2\tC:maj\n")
    pop = tmp_path / "pop"
    for song, chords, key in (("004", "0 1 A:min\n1 2 F:maj\n", "0 2 A:min\n"),
                              ("005", "0 1 E:maj\n1 2 B:maj\n", "0 2 E:maj\n")):
        (pop / song).mkdir(parents=True)
        (pop / song / "chord_midi.txt").write_text(chords)
        (pop / song / "key_audio.txt").write_text(key)
    prior = build_prior(bb, pop)
    assert prior["transitions"] == 2  # G->C (Billboard) and Am->F (dev song 004); 005 is eval
    assert prior["minor_key_share"] == 1.0
    table = np.exp(np.array(prior["log_p_next"]))
    assert np.allclose(table.sum(axis=(1, 2)), 1.0)
    out = write_prior(tmp_path / "x" / "p.json", bb, None)
    assert json.loads(out.read_text())["sources"]["mcgill_billboard"]["licence"] == "CC0"
    with pytest.raises(FileNotFoundError):
        build_prior(tmp_path / "nothing", None)
