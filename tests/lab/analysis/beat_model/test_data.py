"""Beat model training data: the stretched, re-voiced training excerpt of a POP909 song."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from musicapp_lab.analysis.beat_model.data import STRETCH, TRAIN_SEED, training_piece

POP909 = Path(__file__).resolve().parents[4] / "data" / "pop909" / "POP909"


@pytest.mark.skipif(not POP909.is_dir(), reason="no local POP909 copy")
def test_training_piece_is_the_excerpt_stretched_with_its_truth():
    from musicapp_lab.analysis.evalset.pop909 import load_song

    piece = training_piece(POP909, "013", [])
    rng = np.random.default_rng([TRAIN_SEED, 13])
    orig = load_song(POP909, "013", rng, [], float(rng.uniform(30.0, 45.0)))
    s = piece.extra["stretch"]
    assert STRETCH[0] <= s <= STRETCH[1]
    assert np.allclose(piece.beats, np.array(orig.beats) * s)
    assert np.allclose(piece.downbeats, np.array(orig.downbeats) * s)
    assert abs(piece.tempo - orig.tempo / s) < 1e-9 and abs(piece.duration - orig.duration * s) < 1e-9
    assert piece.chords[-1][1] == pytest.approx(orig.chords[-1][1] * s)
    assert [n.key for n in piece.notes] == [n.key for n in orig.notes]
    assert np.allclose([n.start for n in piece.notes], [n.start * s for n in orig.notes])
    assert training_piece(POP909, "013", []) == piece  # every draw from the song's seed
    assert 0.09 < piece.extra["gain"] <= 1.0
