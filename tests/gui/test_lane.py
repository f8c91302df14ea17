"""The spectrogram's lanes: light view boxes that line up with the spectrogram."""

from __future__ import annotations

import itertools

import pytest

from tests.gui.conftest import shown_spectrogram


@pytest.mark.parametrize("size", [(1000, 420), (1900, 900)])
def test_every_lane_lines_up_with_the_spectrogram_and_follows_its_time_range(qtbot, size):
    view = shown_spectrogram(qtbot, 60, size)
    qtbot.wait(50)
    main = view.plot.getViewBox().sceneBoundingRect()
    lanes = (view.mood_plot, view.feel_plot, view.beat_plot, view.chord_plot)
    for lane in lanes:
        rect = lane.getViewBox().sceneBoundingRect()
        assert (rect.left(), rect.right()) == (main.left(), main.right())
        assert rect.height() > 10
    view.plot.setXRange(12.0, 24.0, padding=0)
    for lane in lanes:
        x0, x1 = lane.viewRange()[0]
        assert (x0, x1) == pytest.approx((12.0, 24.0))
    # the time axis below the last lane shows seconds; the lanes are stacked without overlap
    assert view.chord_plot.getAxis("bottom").isVisible()
    tops = [lane.getViewBox().sceneBoundingRect() for lane in lanes]
    assert all(a.bottom() <= b.top() for a, b in itertools.pairwise(tops))


def test_note_names_on_the_frequency_axis_never_overlap(qtbot):
    """On the Mel scale C2, C3 and C4 sit a few pixels apart in a short plot; the axis keeps
    the labels that fit, the highest first."""
    from PySide6.QtGui import QFontMetrics

    from musicapp.gui.spectrogram import fit_ticks

    view = shown_spectrogram(qtbot, 30, (1000, 300))
    view.set_axis_mode("notes")
    qtbot.wait(50)
    line = QFontMetrics(view.font()).height()
    for size in ((1000, 300), (1000, 900)):
        view.resize(*size)
        qtbot.wait(50)
        ticks = view.plot.getAxis("left")._tickLevels[0]
        px = view.plot.getViewBox().height() / view.n_mels
        gaps = [(b - a) * px for (a, _), (b, _) in itertools.pairwise(ticks)]
        assert gaps and min(gaps) >= line  # no two labels overlap
        assert ticks[-1][1] == "C7"
    assert len(ticks) > 3  # a tall plot has room for more of them
    # the rule itself: from the top down, a label closer than min_px to the last one is dropped
    assert fit_ticks([(2.0, "C2"), (5.0, "C3"), (10.0, "C4"), (40.0, "C6")], 2.0, 12) == [
        (2.0, "C2"), (10.0, "C4"), (40.0, "C6")]


def test_the_time_axis_reads_in_minutes_and_seconds_at_clock_steps(qtbot):
    """A 20-minute track showed "1100" on its time axis; now "18:00", at 1-, 5- or 10-minute
    steps, and tenths of a second when zoomed in."""
    from musicapp.gui.lane import clock_label

    assert [clock_label(v, 60) for v in (0, 65, 1080)] == ["0:00", "1:05", "18:00"]
    assert clock_label(5.5, 0.5) == "0:05.5" and clock_label(-3, 1) == "-0:03"
    view = shown_spectrogram(qtbot, 1200, (1000, 420))  # 20 minutes
    axis = view.chord_plot.getAxis("bottom")
    for start, end in ((0.0, 1200.0), (60.0, 75.0), (100.0, 101.0)):
        view.plot.setXRange(start, end, padding=0)
        qtbot.wait(20)
        (step, _offset), = axis.tickSpacing(start, end, axis.width())
        assert step in axis.STEPS and (end - start) / step <= axis.width() / axis.LABEL_PX
        labels = axis.tickStrings([start + step], 1.0, step)
        assert ":" in labels[0]
    assert axis.tickSpacing(0.0, 1200.0, 900) == [(120.0, 0.0)]


def test_the_time_axis_reads_in_hours_on_a_long_recording(qtbot):
    """A 2-hour take showed "120:00" at its end (and "60:00" for the hour); now "2:00:00". A
    tick a hair below zero does not read "-0:00.00"; a value that is not finite gets no label
    (it raised inside the axis's paint)."""
    from musicapp.gui.lane import clock_label

    assert [clock_label(v, 1800) for v in (0, 1800, 3600, 7200)] == [
        "0:00", "30:00", "1:00:00", "2:00:00"]
    assert clock_label(7530, 30) == "2:05:30" and clock_label(3599.96, 0.1) == "1:00:00.0"
    assert clock_label(-3700, 60) == "-1:01:40" and clock_label(-1e-4, 0.01) == "0:00.00"
    assert clock_label(float("nan"), 1) == "" and clock_label(float("inf"), 60) == ""
    view = shown_spectrogram(qtbot, 7200, (1000, 420))
    axis = view.chord_plot.getAxis("bottom")
    view.plot.setXRange(0.0, 7200.0, padding=0)
    qtbot.wait(20)
    (step, _offset), = axis.tickSpacing(0.0, 7200.0, axis.width())
    labels = axis.tickStrings([step * k for k in range(int(7200 / step) + 1)], 1.0, step)
    assert labels[-1] == "2:00:00" and all(label.count(":") <= 2 for label in labels)
