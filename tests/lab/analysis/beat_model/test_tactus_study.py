"""Tactus level study: labels, grid tempo and the level features of a tracked grid."""

from __future__ import annotations

import numpy as np
from musicapp_lab.analysis.beat_model.level_features import FEATURES, level_features
from musicapp_lab.analysis.beat_model.tactus_study import grid_bpm, level_label

from musicapp.analysis.features import FPS


def test_level_label_names_the_level_within_tolerance():
    assert level_label(60.0, 120.0) == 0  # the grid counts twice the annotated tempo
    assert level_label(120.0, 121.0) == 1
    assert level_label(200.0, 100.0) == 2
    assert level_label(90.0, 120.0) == -1  # 3/4 of the grid: no level
    assert level_label(None, 120.0) == -1


def test_grid_bpm_from_the_median_interval():
    frames = np.arange(0, 40 * 20, 20)  # a beat every 20 frames
    assert abs(grid_bpm(frames) - 60.0 * FPS / 20) < 1e-9
    assert grid_bpm(np.array([5])) == 0.0


def test_level_features_see_every_other_beat_accented():
    n = 20 * 64
    onset = np.zeros(n)
    onset[::20] = 1.0  # eighth notes ...
    onset[::40] = 3.0  # ... accented every other one
    low = np.zeros(n)
    low[::40] = 1.0  # bass on the accented ones
    beats = np.arange(0, n, 20)
    labels = ["N"] + [f"{'CF'[(i // 8) % 2]}:maj" for i in range(beats.size)]
    f = dict(zip(FEATURES, level_features(onset, low, 60.0 * FPS / 20, 0.8, beats, labels, 8.0),
                 strict=True))
    assert f["accent_alternation"] > 0.5
    assert f["log_beats_per_chord"] == 3.0
    assert f["change_parity"] == 1.0  # chords change on one phase only
    assert f["confidence"] == 0.8
    flat = level_features(np.tile([1.0] + [0.0] * 19, 64), np.zeros(n), 60.0 * FPS / 20, 0.8,
                          beats, labels, 8.0)
    assert abs(flat[FEATURES.index("accent_alternation")]) < 0.1  # equal beats: no pattern


def test_both_studies_refuse_an_evaluation_split_before_reading_it(tmp_path):
    """The tactus and downbeat studies read development sets only: naming an evaluation split
    stops them before any piece is loaded (nothing is built under tmp_path)."""
    import pytest
    from musicapp_lab.analysis.beat_model import downbeat_study, tactus_study

    for split in ("eval", "eval-real", "eval2-real"):
        with pytest.raises(SystemExit, match="evaluation split"):
            list(tactus_study.development_items([f"{tmp_path}:{split}"], "tempo"))
        with pytest.raises(SystemExit, match="evaluation split"):
            downbeat_study.main(["--set", f"{tmp_path}:{split}", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()
