"""``musicapp evaluate library --out``: refused without --force, replaced with it."""

from __future__ import annotations

import json

import numpy as np
from musicapp_lab.library.evaluate import summarise

from musicapp.cli import main
from tests.lab.library.test_evaluate import _cells

META = {"library_tracks": 5, "library_packages": ["a"], "nonlib_packages": ["b"],
        "landmarks": 99, "nonlib_tracks": {"calibration": 2, "test": 2}, "library_hours": 1.0}


def test_merged_results_refused_then_replaced_with_force(tmp_path, capsys):
    rng = np.random.default_rng(0)
    runs = []
    for i, durations in enumerate(((3, 5), (10,))):
        run = tmp_path / f"run{i}.json"
        run.write_text(json.dumps({"identification": summarise(_cells(rng, durations), META)}))
        runs.append(str(run))
    out = tmp_path / "merged.json"
    out.write_text("an evaluation log")
    command = ["evaluate", "library", "--merge", *runs, "--out", str(out)]
    assert main(command) == 2
    assert f"{out} exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "an evaluation log"
    assert main([*command, "--force"]) == 0
    assert "threshold" in json.loads(out.read_text())["identification"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.json", "run0.json",
                                                          "run1.json"]
