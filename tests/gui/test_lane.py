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
