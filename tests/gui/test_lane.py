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
