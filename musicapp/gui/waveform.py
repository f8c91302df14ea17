"""Waveform overview of the whole track: shows where the spectrogram is and lets you navigate."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from musicapp.gui.lane import EMPTY_SPAN_S, TIMELINE_MARGINS, Lane, timeline_axis_width
from musicapp.gui.theme import ACCENT, ACCENT2

ENVELOPE_POINTS = 2000
#: colour of the envelope's body (drawn over the plot's background)
BODY_RGBA = (60, 200, 200, 90)
#: most envelope points drawn while recording (older peaks are merged)
LIVE_POINTS = 1000


def envelope(samples: np.ndarray, sample_rate: int, points: int = ENVELOPE_POINTS):
    """(times, min, max) of ``samples`` in ``points`` equal chunks."""
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim > 1:
        y = y.mean(axis=0)
    n = len(y)
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    points = max(1, min(points, n))
    hop = n // points
    trimmed = y[: hop * points].reshape(points, hop)
    t = (np.arange(points) + 0.5) * hop / sample_rate
    return t, trimmed.min(axis=1), trimmed.max(axis=1)


def body_color() -> QColor:
    """:data:`BODY_RGBA` blended over pyqtgraph's background, as one opaque colour: the body
    is many overlapping vertical lines, which a translucent colour would stripe."""
    r, g, b, a = BODY_RGBA
    bg = pg.mkColor(pg.getConfigOption("background"))
    k = a / 255.0
    return QColor(*(round(k * c + (1 - k) * d) for c, d in
                    ((r, bg.red()), (g, bg.green()), (b, bg.blue()))))


class ViewWindow(pg.LinearRegionItem):
    """The overview's window on what the spectrogram shows. Dragged whole, it stops at the
    track's ends with its width kept (pyqtgraph's region clamps each edge on its own, so the
    window shrank, or without bounds left the track while the spectrogram stayed put)."""

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - Qt/pyqtgraph name
        if not self.movable or ev.button() != Qt.MouseButton.LeftButton:
            return
        ev.accept()
        if ev.isStart():
            down = ev.buttonDownPos()
            self.cursorOffsets = [line.pos() - down for line in self.lines]
            self.startPositions = [line.pos() for line in self.lines]
            self.moving = True
        if not self.moving:
            return
        xs = [(offset + ev.pos()).x() for offset in self.cursorOffsets]
        lo, hi = self.lines[0].maxRange
        shift = 0.0
        if lo is not None and min(xs) < lo:
            shift = lo - min(xs)
        elif hi is not None and max(xs) > hi:
            shift = hi - max(xs)
        self.blockLineSignal = True  # one signal for both edges
        for line, x in zip(self.lines, xs, strict=True):
            line.setValue(x + shift)
        self.prepareGeometryChange()
        self.blockLineSignal = False
        if ev.isFinish():
            self.moving = False
            self.sigRegionChangeFinished.emit(self)
        else:
            self.sigRegionChanged.emit(self)


class WaveformOverview(pg.GraphicsView):
    """Min/max envelope with a draggable window (the spectrogram's view) and a play cursor.

    One :class:`~musicapp.gui.lane.Lane` with a time axis below (a PlotWidget's PlotItem would
    also build three hidden axes and a context menu at every start)."""

    #: the user dragged the window: show start..end in the spectrogram
    region_changed = Signal(float, float)
    #: the user clicked a time
    seek_requested = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.lane = Lane(bottom=True)
        # an empty left axis as wide as the spectrogram's: the two time axes line up
        self.lane.blank_left_axis(timeline_axis_width(self.font()), (TIMELINE_MARGINS[0], 0,
                                                                     TIMELINE_MARGINS[2], 0))
        self.setCentralItem(self.lane)
        self.setToolTip("Overview: drag the window to navigate, click to move the cursor")
        self.lane.setMouseEnabled(x=False, y=False)
        self.lane.getAxis("bottom").setHeight(18)
        self.lane.setYRange(-1, 1, padding=0.05)
        self.lane.getViewBox().enableAutoRange(x=False)  # the time range is always set
        self.lane.setXRange(0, EMPTY_SPAN_S, padding=0)
        self.setMinimumHeight(44)  # a navigation strip: small windows keep room for the panels
        self.setMaximumHeight(80)
        self.upper = pg.PlotDataItem(pen=pg.mkPen(ACCENT2, width=1))
        self.lower = pg.PlotDataItem(pen=pg.mkPen(ACCENT2, width=1))
        # the body: one vertical line per envelope point (min to max). A FillBetweenItem polygon
        # of 4,000 vertices took ~10 ms of every repaint (each cursor move while playing); the
        # lines take ~1 ms
        self.body = pg.PlotDataItem(pen=pg.mkPen(body_color(), width=1), connect="pairs",
                                    antialias=False)  # whole-pixel columns: no texture
        for item in (self.body, self.upper, self.lower):
            self.lane.addItem(item)
        self.region = ViewWindow(values=(0, 1), brush=pg.mkBrush(240, 160, 48, 40),
                                          pen=pg.mkPen(ACCENT, width=1))
        self.region.setZValue(10)
        self.lane.addItem(self.region)
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(ACCENT, width=2))
        self.lane.addItem(self.cursor)
        self.region.sigRegionChanged.connect(self._on_region)
        self.region.sigRegionChangeFinished.connect(self._on_region)  # where the drag ended
        self.scene().sigMouseClicked.connect(self._on_click)
        self._setting = False
        self.duration_s = 0.0
        self._live_peaks: list[float] = []
        self._live_rate = 50.0  # envelope points per second while recording
        self._live_carry = np.zeros(0, np.float32)
        self._live_sr = 0

    def set_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        """Show the envelope of a whole track."""
        t, lo, hi = envelope(samples, sample_rate)
        self.duration_s = len(samples) / float(sample_rate) if sample_rate else 0.0
        self._set_envelope(t, lo, hi)
        self.lane.setXRange(0, max(self.duration_s, 1e-3), padding=0)
        self.region.setBounds((0.0, self.duration_s))  # the window never leaves the track
        self.set_region(0, self.duration_s)

    def _set_envelope(self, t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        self.upper.setData(t, hi)
        self.lower.setData(t, lo)
        self.body.setData(np.repeat(t, 2), np.column_stack([lo, hi]).ravel())

    def clear_envelope(self) -> None:
        """Forget the envelope (``clear`` is pyqtgraph's: it would remove every item)."""
        self._set_envelope(np.zeros(0), np.zeros(0), np.zeros(0))
        self.duration_s = 0.0
        self.region.setBounds((0.0, None))  # a live take grows
        self._live_peaks = []
        self._live_carry = np.zeros(0, np.float32)

    def begin_live(self, sample_rate: int) -> None:
        """Start an envelope that grows while recording."""
        self.clear_envelope()
        self._live_sr = sample_rate

    def append_live(self, block: np.ndarray) -> None:
        """Add recorded samples (mono, at the rate given to :meth:`begin_live`)."""
        hop = max(1, int(self._live_sr / self._live_rate))
        y = np.concatenate([self._live_carry, np.asarray(block, np.float32).reshape(-1)])
        n = len(y) // hop
        if n:
            self._live_peaks.extend(np.abs(y[: n * hop]).reshape(n, hop).max(axis=1).tolist())
        self._live_carry = y[n * hop:]

    def refresh_live(self) -> None:
        """Redraw the growing envelope."""
        if not self._live_peaks:
            return
        p = np.asarray(self._live_peaks, np.float32)
        n = len(p)
        t = np.arange(n) / self._live_rate
        step = -(-n // LIVE_POINTS)  # at most LIVE_POINTS points: the cost stays flat
        if step > 1:
            m = n // step
            t = t[: m * step: step]
            p = p[: m * step].reshape(m, step).max(axis=1)
        self._set_envelope(t, -p, p)
        self.duration_s = n / self._live_rate
        self.lane.setXRange(0, max(self.duration_s, 10.0), padding=0)

    def set_region(self, start: float, end: float) -> None:
        """Move the view window without re-emitting :attr:`region_changed`."""
        self._setting = True
        try:
            self.region.setRegion((start, end))
        finally:
            self._setting = False

    def set_cursor(self, seconds: float) -> None:
        """Move the play cursor."""
        self.cursor.setValue(float(seconds))

    def _on_region(self) -> None:
        if self._setting:
            return
        a, b = self.region.getRegion()
        self.region_changed.emit(float(a), float(b))

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted():
            return
        pos = ev.scenePos()
        vb = self.lane.getViewBox()
        if vb.sceneBoundingRect().contains(pos):
            self.seek_requested.emit(max(0.0, float(vb.mapSceneToView(pos).x())))
