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
        self.source = QLabel("No feature maps yet: load a file or record.")
        self.source.setWordWrap(True)
        self.tag_label = QLabel("")
        self.tag_label.setToolTip("What the tagger hears in this 3-s patch (raw MSD probabilities)")
        self.tag_label.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer)
        top.addWidget(QLabel("Channel"))
        top.addWidget(self.channel)
        top.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.map_plot = self.graphics.addPlot(row=0, col=0)
        self.map_plot.setLabel("left", "channel")
        self.map_plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("magma"))
        self.map_plot.addItem(self.image)
        self.marker = pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen(ACCENT, width=1))
        self.map_plot.addItem(self.marker)
        self.curve_plot = self.graphics.addPlot(row=1, col=0)
        self.curve_plot.setLabel("bottom", "time in patch", units="s")
        self.curve_plot.setLabel("left", "activation")
        self.curve_plot.setMaximumHeight(150)
        self.curve_plot.setXLink(self.map_plot)
        self.curve = self.curve_plot.plot(pen=pg.mkPen(ACCENT, width=2))

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.source)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.tag_label)

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
            self.source.setText(source)
        if self.tags:
            self.tag_label.setText("Heard: " + ", ".join(f"{t} {p:.2f}" for t, p in self.tags[:6]))
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
            return
        c, t = m.shape
        self.channel.blockSignals(True)
        if self.channel.maximum() != c - 1:
            self.channel.setMaximum(max(c - 1, 0))
        if not self.user_channel and m.size:
            self.channel.setValue(int(np.argmax(m.std(axis=1))))
        self.channel.blockSignals(False)
        z = (m - m.mean(axis=1, keepdims=True)) / (m.std(axis=1, keepdims=True) + 1e-6)
        self.image.setImage(np.clip(z, -3, 3), autoLevels=False, levels=(-2.5, 2.5))
        dur = t * MEL.frame_seconds
        self.image.setRect(QRectF(0.0, 0.0, dur, float(c)))
        self._redraw_channel()

    def _redraw_channel(self) -> None:
        m = self.current_map()
        if m is None:
            return
        ch = min(self.channel.value(), m.shape[0] - 1)
        self.marker.setValue(ch + 0.5)
        t = np.arange(m.shape[1]) * MEL.frame_seconds
        self.curve.setData(t, m[ch])
