"""Voicings, voice leading, bass and melody rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from musicapp.compose.arrange import (
    PATTERNS,
    arrange,
    chord_scale,
    movement,
    tempo_for_arousal,
    voice_lead,
    voicing_candidates,
)
from musicapp.compose.theory import ChordToken, Key

from .helpers import progression

PROGS = [
    ["I", "V", "vi", "IV"],
    ["ii7", "V7", "Imaj7", "vi7"],
    ["i", "bVI", "bIII", "bVII"],
    ["I", "V7/vi", "vi", "V7/V", "V7", "I", "IV", "iv"],
]


@pytest.mark.parametrize("roman", PROGS)
def test_voicings_contain_chord_tones_and_are_optimal(roman):
    key = Key("C")
    toks = [ChordToken.parse(r) for r in roman]
    pcs = [t.pitch_classes(key) for t in toks]
    vs = voice_lead(pcs, register_weight=0.0)
    for v, t, p in zip(vs, toks, pcs, strict=True):
        assert len(v) == 4 and list(v) == sorted(v)
        expected = set(p) if t.quality != "9" else set(p) - {p[2]}
        assert {n % 12 for n in v} == expected
    total = sum(movement(a, b) for a, b in itertools.pairwise(vs))
    # brute force over every combination of candidates for the first four chords
    cands = [voicing_candidates(p) for p in pcs[:4]]
    best = min(sum(movement(a, b) for a, b in itertools.pairwise(combo))
               for combo in itertools.product(*cands))
    vs4 = voice_lead(pcs[:4], register_weight=0.0)
    assert sum(movement(a, b) for a, b in itertools.pairwise(vs4)) == best
    # and far smoother than root-position block chords
    root_pos = [tuple(sorted(48 + 12 + (pc - p[0]) % 12 + p[0] for pc in [*p[:3], p[0] + 12]))
                for p in pcs]
    naive = sum(movement(a, b) for a, b in itertools.pairwise(root_pos))
    assert total <= naive


def test_chord_scale_substitutes_chord_tones():
    key = Key("C")
    sc = chord_scale(ChordToken.parse("V7/V"), key)  # D7: F# replaces F
    assert 6 in sc and 5 not in sc
    assert set(ChordToken.parse("V7/V").pitch_classes(key)) <= set(sc)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("arousal", [-0.8, 0.0, 0.8])
def test_arrangement_rules(pattern, arousal):
    prog = progression(["I", "V", "vi", "IV", "ii7", "V7/V", "V7", "I"], "G",
                       beats=[4, 4, 2, 2, 4, 2, 2, 4], arousal=arousal)
    arr = arrange(prog, pattern=pattern, seed=3)
    assert arr.total_beats % 4 == 0
    assert arr.tempo_bpm == tempo_for_arousal(arousal)
    spans = arr.spans
    for s, d, tok in spans:
        pcs = set(tok.pitch_classes(prog.key))
        inside = [n for n in arr.chords if s <= n.start < s + d]
        assert inside and {n.pitch % 12 for n in inside} <= pcs
        # bass: first note of each chord is the root
        first = min((n for n in arr.bass if s <= n.start < s + d), key=lambda n: n.start)
        assert first.pitch % 12 == tok.pitch_classes(prog.key)[0]
        # melody: every note from the chord scale; strong-beat notes are chord tones
        scale = set(chord_scale(tok, prog.key))
        for n in arr.melody:
            if s <= n.start < s + d:
                assert n.pitch % 12 in scale
                if n.start == s or (n.start == round(n.start) and round(n.start) % 2 == 0):
                    assert n.pitch % 12 in pcs
    for n in arr.chords + arr.bass + arr.melody:
        assert 0 <= n.pitch <= 127 and n.dur > 0


def test_arrangement_deterministic_and_tempo_follows_arousal():
    p = progression(["I", "vi", "IV", "V"])
    a1, a2 = arrange(p, seed=5), arrange(p, seed=5)
    assert a1.melody == a2.melody and a1.chords == a2.chords
    assert tempo_for_arousal(0.9) > tempo_for_arousal(0.0) > tempo_for_arousal(-0.9)
    beats_hi = np.diff([n.start for n in arrange(progression(["I", "V"], arousal=0.8)).melody])
    beats_lo = np.diff([n.start for n in arrange(progression(["I", "V"], arousal=-0.8)).melody])
    assert beats_hi.mean() < beats_lo.mean()
