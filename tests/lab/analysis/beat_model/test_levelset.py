"""Development audio for the tactus study: generated pieces with a seed of their own."""

from __future__ import annotations

from musicapp_lab.analysis.beat_model.levelset import GEN_SEED, generated_pieces
from musicapp_lab.analysis.evalset.dataset import SPLIT_SEEDS


def test_generated_pieces_use_their_own_seed_and_names():
    assert GEN_SEED not in SPLIT_SEEDS.values()
    pieces = list(generated_pieces(3))
    assert [p.name for p in pieces] == ["train-gen-000", "train-gen-001", "train-gen-002"]
    assert all(p.tempo and p.beats and p.downbeats and p.meter for p in pieces)
    assert [p.truth() for p in generated_pieces(3)] == [p.truth() for p in pieces]
