"""Feature maps view: the tagger CNN's activations per layer, with a layer and channel chooser."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from musicapp.gui.labels import ElideLabel
from musicapp.gui.live import MAP_LAYERS
from musicapp.gui.theme import ACCENT
from musicapp.params import MEL


class FeatureMapsView(QWidget):
    """Heat map of one layer (channels x time) and the curve of one chosen channel."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.maps: dict[str, np.ndarray] = {}
        self.tags: list[tuple[str, float]] = []
        self.updates = 0

        self.layer = QComboBox()
        self.layer.addItems(list(MAP_LAYERS))
        self.layer.setCurrentText("frontend")
        self.layer.setToolTip("Convolutional layer of musicnn whose activations are shown")
        self.channel = QSpinBox()
        self.channel.setRange(0, 0)
        self.channel.setToolTip("Channel (filter) whose activation over time is plotted below")
        self.source = ElideLabel("No feature maps yet: load a file or record.")
        self.tag_label = QLabel("")
        self.tag_label.setToolTip("The tagger's strongest tags for this 3-s patch, strongest "
                                  "first (raw model outputs are tiny and not meaningful alone)")
        self.tag_label.setWordWrap(True)
        # one line, elided with the whole text as tooltip in small windows
        self.explain = ElideLabel(
            "What the tagger network computes on 3 s of sound: each row is one channel (a "
            "learned detector), scaled on its own, most active at the top; bright = the "
            "detector responds.")
        self.order = np.zeros(0, int)
        self.active_rows = 0  # channels drawn: those that change over the patch
        self.quiet_label = QLabel("")
        self.quiet_label.setToolTip("A channel whose value does not change over these 3 s "
                                    "(a detector that does not respond here) has no row")

        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer)
        top.addWidget(QLabel("Channel"))
        top.addWidget(self.channel)
        top.addSpacing(12)
        top.addWidget(self.source, 1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.map_plot = self.graphics.addPlot(row=0, col=0)
        self.map_plot.setLabel("left", "rank")
        self.map_plot.hideAxis("bottom")  # the level plot below carries the time axis
        self.map_plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("magma"))
        self.map_plot.addItem(self.image)
        self.marker = pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen(ACCENT, width=1))
        self.map_plot.addItem(self.marker)
        self.curve_plot = self.graphics.addPlot(row=1, col=0)
        self.curve_plot.setLabel("bottom", "time in patch", units="s")
        self.curve_plot.setLabel("left", "level")
        self.curve_plot.setMaximumHeight(120)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self.curve_plot.setXLink(self.map_plot)
        self.curve = self.curve_plot.plot(pen=pg.mkPen(ACCENT, width=2))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        lay.addWidget(self.explain)
        lay.addLayout(top)
        lay.addWidget(self.graphics, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.tag_label, 1)
        bottom.addWidget(self.quiet_label)
        lay.addLayout(bottom)

        self.user_channel = False  # until the user picks one, show the most active channel
        self.layer.currentTextChanged.connect(self._layer_changed)
        self.channel.valueChanged.connect(self._channel_changed)
        self.map_plot.setToolTip("Each row is one channel (filter) of the layer, normalised on "
                                 "its own so that its changes over time show")

    def set_maps(self, maps: dict, tags=None, source: str = "") -> None:
        """Show new activations: ``maps`` is {layer: (channels, time)}."""
        self.maps = {k: np.asarray(v, np.float32) for k, v in (maps or {}).items()
                     if np.ndim(v) == 2}
        self.tags = list(tags or [])
        if source:
            self.source.set_full_text(source)
        if self.tags:
            self.tag_label.setText("Strongest tags here: " + ", ".join(t for t, _p in
                                                                     self.tags[:5]))
        self.updates += 1
        self._redraw()

    def current_map(self) -> np.ndarray | None:
        """The (channels, time) array of the chosen layer, or None."""
        return self.maps.get(self.layer.currentText())

    def _layer_changed(self, _name: str) -> None:
        self.user_channel = False
        self._redraw()

    def _channel_changed(self, _value: int) -> None:
        self.user_channel = True
        self._redraw_channel()

    def _redraw(self) -> None:
        m = self.current_map()
        if m is None:
            self.image.clear()
            self.curve.setData([], [])
            self.quiet_label.setText("")
            return
        c, t = m.shape
        # each channel on its own scale (min..max), the most active channels first (top)
        lo, hi = m.min(axis=1, keepdims=True), m.max(axis=1, keepdims=True)
        z = (m - lo) / np.maximum(hi - lo, 1e-6)
        activity = m.std(axis=1) + 1e-3 * m.mean(axis=1)
        order = np.argsort(-activity, kind="stable")
        # channels that do not change over the patch (a dead ReLU after batch norm is a
        # constant: 500 of the frontend's 561 channels on a real track) carry nothing to see;
        # drawn, they were one black block under a thin stripe of the ones that respond. A
        # channel moving by under 0.1% of the layer's widest swing counts as constant: scaled
        # on its own, its rounding noise would be drawn as bright as a real response
        spread = (hi - lo)[:, 0]
        varies = spread > max(1e-3 * float(spread.max(initial=0.0)), 1e-12)
        self.order = np.concatenate([order[varies[order]], order[~varies[order]]])
        n = int(varies.sum())
        self.active_rows = n
        shown = self.order[:n]
        self.channel.blockSignals(True)
        if self.channel.maximum() != c - 1:
            self.channel.setMaximum(max(c - 1, 0))
        if not self.user_channel and m.size:
            self.channel.setValue(int(self.order[0]))
        self.channel.blockSignals(False)
        if n:
            self.image.setImage(z[shown[::-1]], autoLevels=False, levels=(0.0, 1.0))
        else:
            self.image.clear()
        # about three rank labels whatever the count (20 rows once got 20 piled-up labels)
        step = next((s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if s >= n / 3), 1000)
        ranks = [0, *range(step - 1, n, step)] if n else []
        self.map_plot.getAxis("left").setTicks([[(n - r - 0.5, str(r + 1)) for r in ranks]])
        dur = t * MEL.frame_seconds
        self.image.setRect(QRectF(0.0, 0.0, dur, float(max(n, 1))))
        self.map_plot.setYRange(0, max(n, 1), padding=0)
        self.quiet_label.setText(
            f"{n} of {c} channels respond to this patch (the {c - n} constant ones are not "
            "drawn)" if n < c else f"all {c} channels respond to this patch")
        self._redraw_channel()

    def _redraw_channel(self) -> None:
        m = self.current_map()
        if m is None:
            return
        ch = min(self.channel.value(), m.shape[0] - 1)
        rank = int(np.nonzero(self.order == ch)[0][0]) if self.order.size == m.shape[0] else 0
        n = self.active_rows
        self.marker.setVisible(rank < n)  # a constant channel has no row
        self.marker.setValue(n - rank - 0.5)  # the chosen channel's row
        t = np.arange(m.shape[1]) * MEL.frame_seconds
        self.curve.setData(t, m[ch])
