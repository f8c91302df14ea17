"""Training data: tune-level split, labels, vocabulary; n-gram baselines are proper models."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.compose.dataset import (
    Sequence,
    Vocab,
    assign_tune_groups,
    encode_windows,
    load_sequences,
    merge_same_root,
    split_sequences,
)
from musicapp_lab.compose.ngram import NGramLM

from musicapp.compose.labels import derive_arousal, derive_valence


@pytest.fixture(scope="module")
def seqs() -> list[Sequence]:
    return load_sequences()


def test_split_is_by_tune(seqs):
    splits = split_sequences(seqs)
    where = {}
    for name, part in splits.items():
        for s in part:
            assert where.setdefault(s.group, name) == name, f"tune {s.group} in two splits"
    assert all(len(p) > 20 for p in splits.values())
    # settings of the same chorale tune (same title) share a group
    by_title: dict[str, set[str]] = {}
    for s in seqs:
        if s.source.startswith("bach") and not s.tune.startswith("bwv"):
            by_title.setdefault(s.tune, set()).add(s.group)
    assert all(len(g) == 1 for g in by_title.values())
    assert len(by_title) > 100


def test_melody_fingerprint_links_untitled_settings():
    a = Sequence("bach-auto", "bwv1.2", "major", ["I:maj"], [1.0], 70, melody=tuple(range(12)))
    b = Sequence("bach-auto", "bwv9.9", "major", ["I:maj"], [1.0], 70, melody=tuple(range(12)))
    c = Sequence("bach-auto", "some title", "major", ["I:maj"], [1.0], 70,
                 melody=(5,) * 12)
    assign_tune_groups([a, b, c])
    assert a.group == b.group != c.group


def test_labels_follow_their_rules():
    maj = ["I:maj", "IV:maj", "V:7", "I:maj"]
    mnr = ["I:min", "IV:min", "V:7", "I:min"]
    assert derive_valence(maj, [4] * 4, "major") > derive_valence(mnr, [4] * 4, "minor")
    assert derive_arousal(maj, [1] * 4, 120) > derive_arousal(maj, [4] * 4, 120)
    assert derive_arousal(maj, [4] * 4, 160) > derive_arousal(maj, [4] * 4, 60)


def test_merge_same_root():
    toks, beats = merge_same_root(["V:maj", "V:7", "I:maj", "IV:sus4", "IV:maj"],
                                  [1.0, 1.0, 2.0, 0.5, 1.5])
    assert toks == ["V:7", "I:maj", "IV:maj"] and beats == [2.0, 2.0, 2.0]


def test_windows_and_vocab(seqs):
    splits = split_sequences(seqs)
    vocab = Vocab.build(splits["train"])
    x, xd, y, d, c = encode_windows(splits["train"][:20], vocab, window=16)
    assert x.shape == xd.shape == y.shape == d.shape and c.shape == (len(x), 11)
    assert (x[:, 0] == 1).all()  # every window starts with BOS
    assert (y[:, :-1][x[:, 1:] != 0] == x[:, 1:][x[:, 1:] != 0]).all()  # shifted by one


def test_ngram_distributions_normalised(seqs):
    splits = split_sequences(seqs)
    vocab = Vocab.build(splits["train"])
    train = [vocab.encode(s.tokens) for s in splits["train"]]
    for order in (1, 2, 3):
        lm = NGramLM(len(vocab), order).fit(train)
        lm.lambdas = (0.2, 0.5, 0.3) if order == 3 else ((0.3, 0.7, 0.0) if order == 2
                                                         else (1.0, 0.0, 0.0))
        for ctx in ((1, 1), (1, vocab.stoi["I:maj"]), (vocab.stoi["V:7"], vocab.stoi["I:maj"])):
            total = sum(lm.prob(ctx[0], ctx[1], w) for w in range(len(vocab)))
            assert total == pytest.approx(1.0, abs=1e-9)
    lm = NGramLM(len(vocab), 3).fit(train)
    lam = lm.tune([vocab.encode(s.tokens) for s in splits["valid"]])
    assert np.isclose(sum(lam), 1.0) and lam[2] > 0  # the trigram term is used
