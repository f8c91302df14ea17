"""The learned melody model: shipped weights load, sampling stays in range and follows its
weights, the arrangement uses it on request; malformed weights are refused."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.compose.melody import (
    HIGH,
    LOW,
    MelodyModel,
    load_melody_model,
    sample_pitches,
)
from musicapp.errors import ModelError


def test_shipped_weights_and_sampling():
    m = load_melody_model()
    assert m.w_int.shape == (25,)
    # the learned preferences: chord tones on strong positions, steps over leaps
    assert m.w_ct[0] > 0 and m.w_int[12 + 2] > m.w_int[12 + 9]
    rng = np.random.default_rng(0)
    chords = [[0, 4, 7], [9, 0, 4], [5, 9, 0], [7, 11, 2]] * 100
    strong = [True, False] * 200
    p = sample_pitches(m, list(range(400)), chords, strong, 0, "major", rng)
    assert len(p) == 400 and all(LOW <= x <= HIGH for x in p)
    on_strong = [x % 12 in c for x, c, s in zip(p, chords, strong, strict=True) if s]
    # 3 of the 7 scale tones are chord tones (0.43 by chance); real melodies: 0.57 overall
    assert np.mean(on_strong) > 0.5


def test_arrangement_with_learned_melody():
    from musicapp.compose.arrange import arrange
    from tests.compose.helpers import progression

    prog = progression(["I", "vi", "IV", "V"], "G", arousal=0.5)
    a = arrange(prog, melody="learned", seed=1)
    b = arrange(prog, melody="chord-tone", seed=1)
    assert a.melody and [n.start for n in a.melody] == [n.start for n in b.melody]
    assert [n.pitch for n in a.melody] != [n.pitch for n in b.melody]
    with pytest.raises(ValueError, match="melody must be"):
        arrange(prog, melody="jazz")


def test_malformed_weights_refused():
    with pytest.raises(ModelError):
        MelodyModel.from_json({"w_int": [0.0] * 3, "w_ct": [0, 0], "w_scale": 0,
                               "w_root": [0] * 12, "w_reg": 0})
    with pytest.raises(ModelError):
        MelodyModel.from_json({"w_int": "x"})
