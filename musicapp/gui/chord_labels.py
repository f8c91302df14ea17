"""The chord lane's labels: where each fits, and one graphics item that draws them all.

A whole track has a hundred or more chords. One pyqtgraph ``TextItem`` per chord cost about
2 ms each to create, add and remove (a 3-minute track stalled the window for ~300 ms when its
analysis arrived); :class:`ChordLabelsItem` keeps the labels as plain data and draws the ones
shown in a single ``paint`` call, in screen pixels, so text is never stretched by the zoom.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QFontMetricsF

#: gap in pixels kept between two chord labels
LABEL_GAP = 6
#: pixels between a chord block's left edge and its label
LABEL_INSET = 2


def place_labels(spans: list[tuple[float, float]], widths: list[list[float]],
                 gap: float = LABEL_GAP, overhang: bool = True) -> list[tuple[int, float]]:
    """Which text variant of each label to show, and where it starts (pixels).

    ``spans`` are the labels' boxes (x0, x1) in pixels, in order; ``widths[i]`` the pixel widths
    of label i's variants, longest first. A label shows the longest variant that fits in its
    box after the previous shown label (plus ``gap``); it starts ``LABEL_INSET`` pixels into its
    box, or just after the previous label. With ``overhang``, a box too narrow for any variant
    still shows its shortest one, starting at the box, when that runs into no shown label (the
    following labels then hide): at whole-track zoom every few chords stay named instead of
    none. Returns ``(variant index or -1, start pixel)`` per label; no two shown labels overlap.
    """
    placed: list[tuple[int, float]] = []
    last_end = -math.inf
    for (x0, x1), options in zip(spans, widths, strict=True):
        pick = -1
        start = max(x0 + LABEL_INSET, last_end + gap)
        for j, w in enumerate(options):
            if start + w <= x1 - LABEL_INSET:
                pick = j
                break
        if pick < 0 and overhang and options and last_end + gap <= x0 + LABEL_INSET:
            pick = len(options) - 1
            start = x0 + LABEL_INSET
        placed.append((pick, start))
        if pick >= 0:
            last_end = start + options[pick]
    return placed


def fit_labels(spans: list[tuple[float, float]], widths: list[list[float]],
               gap: float = LABEL_GAP, overhang: bool = True) -> list[int]:
    """The variant index of each label (-1: none) chosen by :func:`place_labels`."""
    return [pick for pick, _x in place_labels(spans, widths, gap, overhang)]


class ChordLabelsItem(pg.GraphicsObject):
    """Every chord label of a lane, drawn in one ``paint`` call.

    :meth:`set_labels` takes the chords ``(start, end, [variants])`` in seconds (variants
    longest first); :meth:`layout` picks what fits for the visible range and the lane's width in
    pixels. The item sits in the lane's view coordinates (x seconds, y 0..1); text is drawn in
    device pixels, vertically centred on the lane.
    """

    def __init__(self, font: QFont, color: str = "#f0f0f0") -> None:
        super().__init__()
        self.font = QFont(font)
        self.metrics = QFontMetricsF(self.font)
        self.color = QColor(color)
        self.labels: list[tuple[float, float, list[str]]] = []
        #: (text, left in seconds, left in pixels from the view's left edge) of each shown label
        self.shown: list[tuple[str, float, float]] = []
        self._rect = QRectF()

    def set_font(self, font: QFont) -> None:
        """Draw (and measure) the labels in ``font``."""
        self.font = QFont(font)
        self.metrics = QFontMetricsF(self.font)
        self.update()

    def set_labels(self, labels: list[tuple[float, float, list[str]]]) -> None:
        """Replace the labels (nothing is shown until :meth:`layout`)."""
        self.labels = list(labels)
        self.shown = []
        self.update()

    def width(self, text: str) -> float:
        """Pixel width of ``text`` in the lane's font."""
        return self.metrics.horizontalAdvance(text)

    def layout(self, x0: float, x1: float, width_px: float) -> None:
        """Choose the labels shown for the visible range ``x0..x1`` (seconds) drawn
        ``width_px`` pixels wide."""
        px_per_s = max(width_px, 1.0) / max(x1 - x0, 1e-6)
        visible = [(s, e, v) for s, e, v in self.labels if e >= x0 and s <= x1]
        spans = [((max(s, x0) - x0) * px_per_s, (min(e, x1) - x0) * px_per_s)
                 for s, e, _v in visible]
        widths = [[self.width(t) for t in v] for _s, _e, v in visible]
        shown = []
        for (_s, _e, variants), (pick, left_px) in zip(visible, place_labels(spans, widths),
                                                      strict=True):
            if pick >= 0:
                shown.append((variants[pick], x0 + left_px / px_per_s, left_px))
        self.prepareGeometryChange()
        self._rect = QRectF(x0, 0.0, max(x1 - x0, 1e-6), 1.0)
        self.shown = shown
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802  (Qt's name)
        """The visible range of the lane (labels are laid out for it)."""
        return QRectF(self._rect)

    def paint(self, painter, *_args) -> None:
        """Draw the shown labels in device pixels (no stretching by the zoom)."""
        if not self.shown:
            return
        to_device = painter.transform()
        ascent, descent = self.metrics.ascent(), self.metrics.descent()
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        painter.setPen(self.color)
        for text, x, _px in self.shown:
            point = to_device.map(QPointF(x, 0.5))
            painter.drawText(QPointF(round(point.x()), round(point.y() + (ascent - descent) / 2)),
                             text)
        painter.restore()
