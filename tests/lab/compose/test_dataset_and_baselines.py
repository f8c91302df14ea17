"""Training data: song-level split, labels by rule A (mode and tempo, not chords), windows,
the cross-corpus hold-out; n-gram baselines are proper models."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.compose.dataset import (
    CROSS_SOURCE,
    Sequence,
    Vocab,
    emotion_labels,
    encode_windows,
    eval_condition,
    group_conditions,
    load_sequences,
    merge_same_root,
    split_sequences,
)
from musicapp_lab.compose.ngram import NGramLM

from musicapp.compose.conditioning import COND_DIM


@pytest.fixture(scope="module")
def seqs() -> list[Sequence]:
    return load_sequences()


def test_corpus_has_every_source_and_split_is_by_song(seqs):
    assert {s.source for s in seqs} == {"billboard", "pop909", "ewld", "music21"}
    assert {s.style for s in seqs} == {"pop", "cpop", "jazz", "chorale"}
    splits = split_sequences(seqs)
    where = {}
    for name, part in splits.items():
        for s in part:
            assert where.setdefault(s.song, name) == name, f"song {s.song} in two splits"
    assert all(len(splits[p]) > 200 for p in ("train", "valid", "test"))
    cross = split_sequences(seqs, exclude_source=CROSS_SOURCE)
    assert cross["cross"] and all(s.source == CROSS_SOURCE for s in cross["cross"])
    assert not any(s.source == CROSS_SOURCE for p in ("train", "valid", "test")
                   for s in cross[p])


def test_labels_come_from_mode_and_tempo_not_chords(seqs):
    assert emotion_labels("major", 140.0) == (pytest.approx(0.6 + 0.4 * np.tanh(1.0)), 1.0)
    assert emotion_labels("minor", 60.0)[1] == -1.0
    assert emotion_labels("major", 100.0)[0] > emotion_labels("minor", 100.0)[0]
    s = seqs[0]
    assert (s.valence, s.arousal) == emotion_labels(s.mode, s.bpm)  # no chord in the rule


def test_eval_condition_uses_style_mode_meter_only(seqs):
    splits = split_sequences(seqs)
    groups = group_conditions(splits["train"])
    a, b = splits["test"][0], splits["test"][0]
    c1 = eval_condition(a, groups)
    changed = Sequence(b.source, b.song, b.style, b.mode, b.meter, list(reversed(b.tokens)),
                       [1.0] * len(b.tokens), 200.0)
    np.testing.assert_array_equal(c1, eval_condition(changed, groups))


def test_merge_same_root():
    toks, beats = merge_same_root(["V:maj", "V:7", "I:maj", "IV:sus4", "IV:maj"],
                                  [1.0, 1.0, 2.0, 0.5, 1.5])
    assert toks == ["V:7", "I:maj", "IV:maj"] and beats == [2.0, 2.0, 2.0]


def test_windows_and_vocab(seqs):
    splits = split_sequences(seqs)
    vocab = Vocab.build(splits["train"])
    x, xd, y, d, c = encode_windows(splits["train"][:20], vocab, window=16)
    assert x.shape == xd.shape == y.shape == d.shape and c.shape == (len(x), COND_DIM)
    assert (x[:, 0] == 1).all()
    assert (y[:, :-1][x[:, 1:] != 0] == x[:, 1:][x[:, 1:] != 0]).all()
    assert set(np.unique(d)) <= {-1, 0, 1, 2}


def test_ngram_distributions_normalised(seqs):
    splits = split_sequences(seqs)
    vocab = Vocab.build(splits["train"])
    train = [vocab.encode(s.tokens) for s in splits["train"][:400]]
    for order in (1, 2, 3):
        lm = NGramLM(len(vocab), order).fit(train)
        lm.lambdas = (0.2, 0.5, 0.3) if order == 3 else ((0.3, 0.7, 0.0) if order == 2
                                                         else (1.0, 0.0, 0.0))
        for ctx in ((1, 1), (1, vocab.stoi["I:maj"]), (vocab.stoi["V:7"], vocab.stoi["I:maj"])):
            total = sum(lm.prob(ctx[0], ctx[1], w) for w in range(len(vocab)))
            assert total == pytest.approx(1.0, abs=1e-9)
