"""The resolution measurement on a few seeds with the shipped chord model."""

from __future__ import annotations

import pytest
from musicapp_lab.compose.resolution import main, resolution, run

from musicapp.compose.theory import ChordToken


def test_resolution_kinds():
    v7_vi = ChordToken.parse("V7/vi")
    assert resolution(v7_vi, ChordToken.parse("vi")) == "target"
    assert resolution(v7_vi, ChordToken.parse("vi7")) == "target"
    assert resolution(v7_vi, ChordToken.parse("IV")) == "deceptive"  # F#7 -> G in D
    assert resolution(ChordToken.parse("V7"), ChordToken.parse("vi")) == "deceptive"
    assert resolution(v7_vi, ChordToken.parse("V7")) == "other"


def test_run_counts_every_loop_once(capsys):
    table = run(12)
    assert table["all"]["n"] == 12
    assert sum(row["n"] for g, row in table.items() if g != "all") == 12
    for row in table.values():
        for label in ("rerank", "sample", "model"):
            assert sum(row[f"{label} {k}"] for k in ("target", "deceptive", "other")) == \
                pytest.approx(1.0)
    assert main(["--seeds", "4"]) == 0
    assert "all: 4 loops" in capsys.readouterr().out
