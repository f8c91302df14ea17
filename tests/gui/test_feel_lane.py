"""The energy/valence lane under the spectrogram, fed by a real analysis of generated audio."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QColor, QFontMetrics

from musicapp.gui.feel_lane import (
    COLORS,
    LEGEND_Y,
    WIDEST_LEGEND,
    describe,
    energy_to_y,
    feel_points,
)
from musicapp.track_analysis import TrackAnalysis
from tests.gui.conftest import SR, load
from tests.helpers.signals import write_audio


def test_feel_points_follow_the_curves_and_drop_missing_values():
    curves = {"step_s": 3.0, "start": [0.0, 3.0, 6.0, 9.0],
              "valence": [0.5, None, -0.25, 0.1], "arousal": [0.0, 0.2, 1.0, float("nan")],
              "energy": [5.5, 6.4, 10.0, 5.0]}
    points = feel_points(curves, duration_s=7.5)
    assert [p["start"] for p in points] == [0.0, 6.0]  # None and NaN points dropped
    assert points[0]["end"] == 3.0 and points[1]["end"] == 9.0
    assert energy_to_y(1) == -1.0 and energy_to_y(10) == 1.0 and energy_to_y(5.5) == 0.0
    assert describe(points[1]) == ("0:06–0:09  energy 10.0/10 (arousal +1.00) · valence -0.25 "
                                   "(negative)")
    assert feel_points(None) == [] and feel_points({}) == []
    last = feel_points({"start": [0.0, 3.0], "valence": [0, 0], "arousal": [0, 0],
                        "energy": [5, 5], "step_s": 3.0}, duration_s=4.2)
    assert last[-1]["end"] == pytest.approx(4.2)  # the last point ends with the track


def _left_axis_texts(plot) -> list[str]:
    ticks = plot.getAxis("left")._tickLevels
    return [t for level in (ticks or []) for _y, t in level]


def test_a_real_analysis_draws_energy_and_valence_on_the_time_axis(qtbot, window, track_file):
    load(qtbot, window, track_file)
    with qtbot.waitSignal(window.analysis_finished, timeout=180_000) as blocker:
        window.start_analysis()
    result = blocker.args[0]
    assert isinstance(result, TrackAnalysis) and result.status == "ok"
    curves = result.to_dict()["curves"]
    assert curves and len(curves["start"]) >= 3  # 12 s of music, a point per 3 s
    spec = window.spectrogram
    lane = spec.feel
    assert len(lane.points) == len(curves["start"])
    assert lane.energy.isVisible() and lane.valence.isVisible() and not lane.note.isVisible()
    x, y = lane.energy.getData()
    assert list(x[:-1]) == [float(s) for s in curves["start"]]
    assert np.allclose(y, [energy_to_y(e) for e in curves["energy"]])
    xv, yv = lane.valence.getData()
    assert np.array_equal(xv, x)
    assert np.allclose(yv, curves["valence"])
    assert all(-1.0 <= v <= 1.0 for v in yv) and all(1 <= e <= 10 for e in curves["energy"])
    # the lane shares the spectrogram's time axis
    assert spec.feel_plot.getViewBox().linkedView(0) is spec.plot.getViewBox()
    spec.set_view_range(2.0, 8.0)
    assert spec.feel_plot.viewRange()[0] == pytest.approx(spec.plot.viewRange()[0])
    # the track's energy in the summary; the legend (the lane's axis, each name in its curve's
    # colour) carries the values at the play cursor
    energy = result.to_dict()["energy"]
    assert window.analysis_panel.energy_label.text() == f"{energy} / 10"
    spec.set_cursor(4.0)
    point = lane.point_at(4.0)
    assert math.isclose(point["energy"], curves["energy"][1])
    assert _left_axis_texts(spec.feel_plot) == [f"energy here {point['energy']:.0f}/10",
                                                f"valence here {point['valence']:+.2f}"]
    # "here" (the cursor) vs the whole track in the summary line: a musician tells them apart
    assert f"track energy {energy}/10" in window.summary.full_text
    axis = spec.feel_plot.getAxis("left")
    # the widest legend fits the lanes' left axis (text offset included): nothing clipped
    metrics = QFontMetrics(spec.font())
    widest = max(metrics.horizontalAdvance(t) for t in (*WIDEST_LEGEND, *lane.legend))
    assert widest + axis.style["tickTextOffset"][0] <= axis.width() - 2
    assert spec.plot.getAxis("left").width() == axis.width()  # the lanes stay aligned
    assert [axis.colors[t.split()[0]].name() for t in lane.legend] == \
           [QColor(c).name() for c in COLORS.values()]
    spec.set_cursor(result.duration_s + 30.0)  # past the curves: the names alone
    assert _left_axis_texts(spec.feel_plot) == list(LEGEND_Y)


def test_silence_hides_the_curves_and_says_why(qtbot, window, tmp_path):
    quiet = write_audio(tmp_path / "quiet.wav", np.zeros(SR * 8, np.float32), SR)
    load(qtbot, window, quiet)
    with qtbot.waitSignal(window.analysis_finished, timeout=180_000) as blocker:
        window.start_analysis()
    assert blocker.args[0].status == "silence"
    lane = window.spectrogram.feel
    assert not lane.points
    assert not lane.energy.isVisible() and not lane.valence.isVisible()
    assert lane.note.isVisible() and "silent" in lane.note.toPlainText()
    assert _left_axis_texts(window.spectrogram.feel_plot) == []  # no legend for no curves
    window.spectrogram.set_cursor(2.0)
    assert _left_axis_texts(window.spectrogram.feel_plot) == []
    assert window.analysis_panel.energy_label.text().startswith("–")


def test_the_lane_is_taller_in_a_tall_window_and_fits_a_small_one(qtbot, window):
    from musicapp.gui.spectrogram import TALL_VIEW

    spec = window.spectrogram
    window.resize(1024, 640)
    window.set_panels_compact(False)  # the panels open: the spectrogram at its smallest
    qtbot.wait(100)
    small = spec.feel_plot.height()
    assert spec.height() < TALL_VIEW and small >= spec.feel_lane_height - 1
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: spec.height() >= TALL_VIEW, timeout=5000)
    qtbot.waitUntil(lambda: spec.feel_plot.height() > small * 1.5, timeout=5000)
    assert spec.plot.height() >= 90  # the spectrogram keeps its room


@pytest.mark.parametrize("status, curves, expected", [
    ("too short", None, "the track is too short"),
    ("ok", None, "gave none"),
    ("ok", {"step_s": 3.0, "start": [0.0], "valence": [None], "arousal": [None],
            "energy": [None]}, "gave none"),
])
def test_no_curves_says_why(qtbot, window, status, curves, expected):
    result = {"duration_s": 0.3 if status == "too short" else 30.0, "status": status,
              "valence": None, "arousal": None, "moods": []}
    if curves is not None:
        result["curves"] = curves
    window.set_analysis(result)
    lane = window.spectrogram.feel
    assert not lane.points and not lane.energy.isVisible() and not lane.valence.isVisible()
    assert lane.note.isVisible() and expected in lane.note.toPlainText()
