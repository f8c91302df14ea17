"""The lab's key-timeline check: raw Viterbi sections and the split guard."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.analysis.key_model.timeline import check, raw_sections

from musicapp.analysis import key_report as kr


def test_raw_sections_of_one_key_are_the_global_key_and_a_change_shows():
    c_major, e_major = np.zeros(12), np.zeros(12)
    c_major[[0, 2, 4, 5, 7, 9, 11]] = 1.0
    e_major[[4, 6, 8, 9, 11, 1, 3]] = 1.0
    one = np.repeat(c_major[:, None], 60, axis=1)
    bounds = np.arange(61) * 0.5
    report = kr.KeyReport(9, "minor", 0.5)
    assert [(s["name"], s["start"], s["end"]) for s in raw_sections(one, bounds, report, 30.0)] \
        == [("A minor", 0.0, 30.0)]
    two = np.concatenate([one, np.repeat(e_major[:, None], 60, axis=1)], axis=1)
    bounds = np.arange(121) * 0.5
    names = [s["name"] for s in raw_sections(two, bounds, report, 60.0)]
    assert names[0] != names[-1] and names[-1] in ("E major", "C# minor")


@pytest.mark.parametrize("split", ["eval", "eval2-real", "heldout2"])
def test_evaluation_splits_are_refused(split):
    with pytest.raises(SystemExit):
        check([(None, split)], log=lambda *_: None)
