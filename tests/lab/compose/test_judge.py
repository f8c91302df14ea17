"""The judged emotion evaluation with the fusion judge: real renders, real pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.compose import judge


def test_fusion_judge_scores_every_loop_and_names_itself():
    out = judge.run(6, patches=3, rows=("random in-key",), chunk=3, log=lambda _m: None)
    row = out["rows"]["random in-key"]
    assert out["judge"] == "fusion" and row["n_judged"] == 6
    measured = np.array(out["measured"]["random in-key"])
    assert measured.shape == (6, 2) and np.isfinite(measured).all()
    assert (np.abs(measured) <= 1.0).all()
    assert -1.0 <= row["rho_valence"] <= 1.0


def test_unknown_judge_is_refused():
    with pytest.raises(ValueError, match="judge"):
        judge.run(2, judge="listener")
