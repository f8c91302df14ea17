"""Downbeat cue weights compared offline: the product's meter choice on stored cues."""

from __future__ import annotations

import numpy as np
from musicapp_lab.analysis.beat_model.downbeat_fit import downbeat_f


def _row(phase: int, cue: int) -> dict:
    beats = np.arange(32) * 0.5
    cues = np.random.default_rng(0).normal(0, 0.05, (4, 32))
    cues[cue, phase::4] += 1.0  # one cue marks the bars
    return {"beats": beats.tolist(), "cues": cues.tolist(),
            "downbeats": beats[phase::4].tolist()}


def test_the_cue_that_marks_the_bars_finds_the_downbeats():
    rows = [_row(1, 0), _row(3, 0)]
    assert np.allclose(downbeat_f(rows, (1.0, 0.0, 0.0, 0.0)), 1.0)
    # weighting only a cue that carries no bar information misses them
    assert downbeat_f(rows, (0.0, 0.0, 0.0, 1.0)).mean() < 1.0
    assert downbeat_f([{"beats": [0.0, 0.5], "cues": [[0, 0]] * 4, "downbeats": [6.0, 8.0]}],
                      (1.0, 0.7, 0.0, 0.25))[0] == 0.0


def test_a_stored_learned_cue_counts_only_when_weighted():
    row = _row(2, 0)
    misleading = np.zeros(32)
    misleading[0::4] = 5.0  # a fifth cue pointing at the wrong phase
    row5 = dict(row, cues=[*row["cues"], misleading.tolist()])
    assert downbeat_f([row5], (1.0, 0.0, 0.0, 0.0))[0] == 1.0
    assert downbeat_f([row5], (1.0, 0.0, 0.0, 0.0, 4.0))[0] < 1.0
