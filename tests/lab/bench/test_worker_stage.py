"""The worker-stage before/after bench: its figures and its equality check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from musicapp_lab.bench import worker_stage


def _run(first: float, stages: list[dict], digests: list[str], cpu: float = 1.0) -> dict:
    return {"first_s": first, "timings": stages, "cpu": [cpu] * len(stages), "digests": digests}


def test_stage_medians_average_files_then_take_the_median_of_runs():
    runs = [_run(5.0, [{"decode": 0.2, "fingerprint": 0.4}, {"decode": 0.4, "fingerprint": 0.2}],
                 ["a", "b"]),
            _run(4.0, [{"decode": 1.0, "fingerprint": 1.0}, {"decode": 1.0, "fingerprint": 1.0}],
                 ["a", "b"]),
            _run(6.0, [{"decode": 0.1, "fingerprint": 0.3}, {"decode": 0.3, "fingerprint": 0.3}],
                 ["a", "b"])]
    med = worker_stage.stage_medians(runs)
    assert abs(med["decode"] - 0.3) < 1e-12  # run means 0.3, 1.0, 0.2
    assert abs(med["fingerprint"] - 0.3) < 1e-12  # 0.3, 1.0, 0.3
    assert abs(med["total"] - 0.6) < 1e-12
    assert med["first call in a fresh process"] == 5.0


def test_report_flags_a_differing_result(capsys):
    same = {"base": [_run(1.0, [{"decode": 1.0}], ["x"])], "now": [_run(1.0, [{"decode": 0.5}], ["x"])]}
    assert worker_stage.report(same, ["f.ogg"], "abc")
    assert "0.50" in capsys.readouterr().out
    differ = {"base": [_run(1.0, [{"decode": 1.0}], ["x"])], "now": [_run(1.0, [{"decode": 1.0}], ["y"])]}
    assert not worker_stage.report(differ, ["f.ogg"], "abc")
    assert "DIFFERENT stored result: f.ogg" in capsys.readouterr().out


def test_a_child_process_analyses_and_digests_a_track(tmp_path):
    t = np.arange(6 * 22050) / 22050
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t)))
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), y.astype(np.float32), 22050)
    tree = Path(__file__).resolve().parents[3]
    res = worker_stage.run_child(tree, [str(wav)], timeout=600)
    assert len(res["digests"]) == 1 and len(res["digests"][0]) == 64
    assert {"decode", "key/tempo/beats/chords", "fingerprint"} <= set(res["timings"][0])
    assert res["cpu"][0] > 0
    again = worker_stage.run_child(tree, [str(wav)], timeout=600)
    assert again["digests"] == res["digests"]  # the same tree gives the same stored result
