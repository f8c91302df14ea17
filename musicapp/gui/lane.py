"""One lane under the spectrogram: a named left axis, a view box on the shared time axis and,
for the bottom lane, the time axis itself.

A ``pg.PlotItem`` would do the same, but it always builds four axes, a title, buttons and its
context-menu form (about 15 ms each at start-up, four lanes); a lane needs one axis and a view
box. The layout matches a PlotItem's (1 px margins, no spacing, the view box in column 1), so a
lane's view box lines up with the spectrogram's pixel for pixel.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsGridLayout

#: smallest width of the timeline's left axes (pixels)
AXIS_WIDTH = 96
#: the margins (left, top, right, bottom) around the timeline's lanes, in the spectrogram view
#: and in the overview above it, so that their time axes start and end at the same x
TIMELINE_MARGINS = (2, 2, 6, 2)
#: seconds the empty timeline shows (spectrogram, lanes and overview alike): 0 to this
EMPTY_SPAN_S = 1.0


def timeline_axis_width(font: QFont) -> int:
    """The one left-axis width of the whole timeline (spectrogram, every lane and the
    overview), so that their time axes line up: wide enough for the feel lane's legend in
    ``font``, at least :data:`AXIS_WIDTH`."""
    from musicapp.gui.feel_lane import legend_width

    return max(AXIS_WIDTH, legend_width(font))


def clock_label(seconds: float, spacing: float) -> str:
    """A time-axis label in minutes and seconds, as a DAW shows it: "0:05", "3:20", "12:00",
    with tenths or hundredths when the ticks are closer than a second ("0:05.5"), and hours
    from one hour on ("1:00:00", "2:05:30" - not "125:30"). A value that is not finite
    gets no label."""
    if not (np.isfinite(seconds) and np.isfinite(spacing)):
        return ""
    decimals = 0 if spacing >= 1 else 1 if spacing >= 0.1 else 2
    total = round(abs(seconds), decimals)
    sign = "-" if seconds < 0 and total > 0 else ""  # no "-0:00" for a tick a hair below 0
    minutes, rest = divmod(total, 60)
    width = 2 if decimals == 0 else 3 + decimals
    hours, minutes = divmod(int(minutes), 60)
    clock = f"{hours}:{minutes:02d}" if hours else f"{minutes}"
    return f"{sign}{clock}:{rest:0{width}.{decimals}f}"


class TimeAxis(pg.AxisItem):
    """A bottom axis labelled in minutes and seconds (see :func:`clock_label`)."""

    def __init__(self) -> None:
        super().__init__("bottom")

    #: tick steps in seconds: a clock's (15 s, 30 s, 1 min, 5 min ...), not 20 s or 200 s
    STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0,
             300.0, 600.0, 900.0, 1800.0, 3600.0)
    LABEL_PX = 64  # room for one label ("12:00.5") and the gap to the next

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 - the pyqtgraph names
        span = float(maxVal) - float(minVal)
        if self._tickLevels is not None or span <= 0 or size <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        most = max(2.0, float(size) / self.LABEL_PX)
        step = next((s for s in self.STEPS if span / s <= most), self.STEPS[-1])
        return [(step, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - the pyqtgraph name
        return [clock_label(v * scale, spacing * scale) for v in values]


class Lane(pg.GraphicsWidget):
    """A view box with a left axis (and optionally a bottom axis), with the part of the
    ``pg.PlotItem`` interface the spectrogram view uses.

    Args:
        left: the left axis (default: a plain ``pg.AxisItem``).
        bottom: also show a time axis (:class:`TimeAxis`) below the view box.
        named: False: no left axis at all (the view box starts at the left edge).
    """

    def __init__(self, left: pg.AxisItem | None = None, bottom: bool = False,
                 named: bool = True) -> None:
        super().__init__()
        self.layout = QGraphicsGridLayout()
        self.layout.setContentsMargins(1, 1, 1, 1)
        self.layout.setHorizontalSpacing(0)
        self.layout.setVerticalSpacing(0)
        self.setLayout(self.layout)
        self.vb = pg.ViewBox(enableMenu=False)
        self.axes: dict[str, pg.AxisItem] = {}
        if named:
            self.axes["left"] = left or pg.AxisItem("left")
            self.layout.addItem(self.axes["left"], 0, 0)
        if bottom:
            self.axes["bottom"] = TimeAxis()
        self.layout.addItem(self.vb, 0, 1)
        if bottom:
            self.layout.addItem(self.axes["bottom"], 1, 1)
        self.layout.setColumnStretchFactor(1, 100)
        self.layout.setRowStretchFactor(0, 100)
        for axis in self.axes.values():
            axis.linkToView(self.vb)
            axis.enableAutoSIPrefix(False)  # seconds stay seconds (see plotting.fixed_unit_axes)

    def getViewBox(self) -> pg.ViewBox:  # noqa: N802 - the PlotItem name
        """The lane's view box."""
        return self.vb

    def getAxis(self, name: str) -> pg.AxisItem:  # noqa: N802
        """The ``"left"`` or ``"bottom"`` axis (KeyError when the lane has none)."""
        return self.axes[name]

    def addItem(self, item, ignoreBounds: bool = False) -> None:  # noqa: N802
        """Draw ``item`` in the view box."""
        self.vb.addItem(item, ignoreBounds=ignoreBounds)

    def removeItem(self, item) -> None:  # noqa: N802
        """Stop drawing ``item``."""
        self.vb.removeItem(item)

    def setXRange(self, lo: float, hi: float, padding: float | None = None) -> None:  # noqa: N802
        """The visible time range."""
        self.vb.setXRange(lo, hi, padding=padding)

    def setXLink(self, other) -> None:  # noqa: N802
        """Share the time axis with ``other`` (a PlotItem, a lane or a view box)."""
        self.vb.setXLink(other.getViewBox() if hasattr(other, "getViewBox") else other)

    def setYRange(self, lo: float, hi: float, padding: float | None = None) -> None:  # noqa: N802
        """The visible vertical range."""
        self.vb.setYRange(lo, hi, padding=padding)

    def setMouseEnabled(self, x: bool = True, y: bool = True) -> None:  # noqa: N802
        """Whether dragging and the wheel pan/zoom each direction."""
        self.vb.setMouseEnabled(x=x, y=y)

    def viewRange(self) -> list[list[float]]:  # noqa: N802
        """``[[x0, x1], [y0, y1]]`` shown."""
        return self.vb.viewRange()

    def blank_left_axis(self, width: int, margins: tuple[int, int, int, int]) -> None:
        """Keep ``width`` pixels left of the view box empty (an invisible left axis) and put
        ``margins`` around the lane, for a lane alone in its view (the overview) that must line
        up with the lanes of another view (the spectrogram's, see :data:`TIMELINE_MARGINS`)."""
        axis = self.axes["left"]
        axis.setWidth(width)
        axis.setStyle(showValues=False, tickLength=0)
        axis.setPen(pg.mkPen(0, 0, 0, 0))
        axis.setTicks([[], []])
        left, top, right, bottom = margins
        self.layout.setContentsMargins(1 + left, 1 + top, 1 + right, 1 + bottom)

    def setLabel(self, axis: str, text: str, units: str | None = None) -> None:  # noqa: N802
        """The title of an axis (``units`` appended in brackets)."""
        self.axes[axis].setLabel(text, units=units)
