"""Plot settings shared by the views."""

from __future__ import annotations

import pyqtgraph as pg

from musicapp.gui.plotting import fixed_unit_axes
from tests.gui.conftest import shown_spectrogram


def test_fixed_unit_axes_keep_seconds_and_leave_the_label_alone_when_the_range_moves(qtbot):
    plot = pg.PlotItem()
    plot.setLabel("bottom", "time", units="s")
    fixed_unit_axes(plot)
    axis = plot.getAxis("bottom")
    html = axis.label.toHtml()
    calls = []
    axis.label.setHtml = lambda *a: calls.append(a)  # would be called on every range change
    for start in (0.0, 0.001, 5.0, 500.0):
        axis.setRange(start, start + 0.01)
    assert calls == [] and axis.label.toHtml() == html and axis.labelUnitPrefix == ""


def test_every_lane_of_the_spectrogram_has_fixed_units(qtbot):
    view = shown_spectrogram(qtbot, 10)
    for plot in (view.plot, view.mood_plot, view.feel_plot, view.beat_plot, view.chord_plot):
        assert not any(plot.getAxis(n).autoSIPrefix for n in plot.axes)  # each axis it has
    assert set(view.chord_plot.axes) == {"left", "bottom"}  # the time axis under the lanes
