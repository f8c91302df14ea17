"""The zoomable, scrolling log-Mel spectrogram with mood, beat and chord lanes under it.

One :class:`SpectrogramView` shows either a whole loaded file (one ``setImage``; pyqtgraph
downsamples for the screen) or a live take: frames are appended from the capture thread and
:meth:`SpectrogramView.refresh_live` redraws only the visible window, so the cost per frame stays
constant however long the take grows. All lanes share the time axis (seconds).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal

from musicapp.gui.theme import ACCENT, ACCENT2
from musicapp.params import MEL

#: display range of log10(10000 * S + 1) values
DEFAULT_LEVELS = (0.0, 3.5)
LANE_HEIGHT = 34
AXIS_WIDTH = 64


def _hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = hz / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-9) / min_log_hz)
                    / logstep, mels)


def _mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)),
                    f_sp * mel)


def mel_band_frequencies(n_mels: int = MEL.n_mels,
                         sample_rate: int = MEL.sample_rate) -> np.ndarray:
    """Centre frequency in Hz of each Slaney Mel band (as librosa's ``mel_frequencies``)."""
    fmax = MEL.fmax or sample_rate / 2
    mels = np.linspace(_hz_to_mel_slaney(np.array(MEL.fmin)), _hz_to_mel_slaney(np.array(fmax)),
                       n_mels + 2)
    return _mel_to_hz_slaney(mels)[1:-1]


def band_of_frequency(hz: float, n_mels: int = MEL.n_mels) -> int:
    """Index of the Mel band whose centre is closest to ``hz``."""
    return int(np.argmin(np.abs(mel_band_frequencies(n_mels) - hz)))


def _hz_ticks(n_mels: int) -> list[tuple[float, str]]:
    centres = mel_band_frequencies(n_mels)
    ticks = []
    for hz, label in ((100, "100"), (500, "500"), (1000, "1k"), (2000, "2k"),
                      (4000, "4k"), (8000, "8k")):
        if hz <= centres[-1] * 1.01:
            ticks.append((float(np.interp(hz, centres, np.arange(n_mels))) + 0.5, label))
    return ticks


def _norm_moods(moods) -> dict[str, float]:
    """{tag: value in 0..1} from a list of {tag, score, percentile} or a {tag: value} dict."""
    out: dict[str, float] = {}
    if isinstance(moods, dict):
        items = [{"tag": k, "score": v} for k, v in moods.items()]
    else:
        items = list(moods or [])
    for m in items:
        if not isinstance(m, dict):
            continue
        v = m.get("percentile", m.get("score", 0.0))
        out[str(m.get("tag", "?"))] = float(v if v is not None else 0.0)
    if out and max(out.values()) > 1.0:
        out = {k: v / 100.0 for k, v in out.items()}
    return out


class _PaintCounter(QObject):
    """Counts paint events of a widget's viewport (frames actually drawn)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.count = 0

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


class SpectrogramView(pg.GraphicsLayoutWidget):
    """Spectrogram + mood timeline + beat lane + chord lane, all on one time axis."""

    #: user clicked at a time (seconds) to move the play cursor there
    seek_requested = Signal(float)
    #: the visible time range changed (start, end) in seconds
    range_changed = Signal(float, float)

    def __init__(self, parent=None, frame_seconds: float = MEL.frame_seconds) -> None:
        super().__init__(parent)
        self.frame_s = frame_seconds
        self.n_mels = MEL.n_mels
        self.setToolTip("Log-Mel spectrogram. Wheel: zoom time, drag: scroll, click: move cursor")
        self.ci.layout.setSpacing(0)
        self.ci.setContentsMargins(2, 2, 6, 2)

        self.plot = self.addPlot(row=0, col=0)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "Hz")
        self.plot.hideAxis("bottom")
        self.plot.getAxis("left").setTicks([_hz_ticks(self.n_mels)])
        self.plot.getAxis("left").setWidth(AXIS_WIDTH)
        self.plot.getViewBox().setLimits(xMin=0, yMin=0, yMax=self.n_mels)
        self.plot.setYRange(0, self.n_mels, padding=0)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setAutoDownsample(True)
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.plot.addItem(self.image)
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(ACCENT, width=2), movable=False)
        self.plot.addItem(self.cursor)
        self.hint = pg.TextItem("Drop an audio file here, open one (Ctrl+O), or press R to record",
                                color="#8a8f99", anchor=(0.5, 0.5))
        self.hint.setPos(0.5, self.n_mels / 2)
        self.plot.addItem(self.hint)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.sigXRangeChanged.connect(self._on_range)

        self.mood_plot = self._lane(1, "mood")
        self.mood_image = pg.ImageItem(axisOrder="col-major")
        self.mood_image.setColorMap(pg.colormap.get("viridis"))
        self.mood_plot.addItem(self.mood_image)
        self.beat_plot = self._lane(2, "beats")
        self.beat_curve = pg.PlotDataItem(pen=pg.mkPen(ACCENT2, width=1), connect="pairs")
        self.downbeat_curve = pg.PlotDataItem(pen=pg.mkPen(ACCENT, width=2), connect="pairs")
        self.beat_plot.addItem(self.beat_curve)
        self.beat_plot.addItem(self.downbeat_curve)
        self.chord_plot = self._lane(3, "chords")
        self.chord_plot.getAxis("bottom").setStyle(showValues=True)
        self.chord_plot.showAxis("bottom")
        self.chord_plot.setLabel("bottom", "time", units="s")
        self._chord_items: list = []
        self.mood_names: list[str] = []
        grid = self.ci.layout
        grid.setRowStretchFactor(0, 10)
        grid.setRowFixedHeight(1, LANE_HEIGHT * 2.4)
        grid.setRowFixedHeight(2, LANE_HEIGHT)
        grid.setRowFixedHeight(3, LANE_HEIGHT + 36)

        self.paints = _PaintCounter(self)
        self.viewport().installEventFilter(self.paints)

        self._buf = np.zeros((0, self.n_mels), np.float32)
        self._n = 0
        self.live = False
        self._dirty = False
        self.levels = DEFAULT_LEVELS
        self.image.setLevels(self.levels)
        self.live_window_s = 10.0

    # ---- construction helpers -------------------------------------------------------------
    def _lane(self, row: int, name: str):
        p = self.addPlot(row=row, col=0)
        p.setMouseEnabled(x=True, y=False)
        p.setMenuEnabled(False)
        p.hideButtons()
        p.hideAxis("bottom")
        p.setXLink(self.plot)
        p.setYRange(0, 1, padding=0)
        p.getAxis("left").setWidth(AXIS_WIDTH)
        p.getAxis("left").setTicks([[(0.5, name)]])
        p.getViewBox().setLimits(xMin=0)
        return p

    # ---- whole files ----------------------------------------------------------------------
    def clear_all(self) -> None:
        """Forget the spectrogram and every lane."""
        self._buf = np.zeros((0, self.n_mels), np.float32)
        self._n = 0
        self.image.clear()
        self.mood_image.clear()
        self.beat_curve.setData([], [])
        self.downbeat_curve.setData([], [])
        self._clear_chords()
        self.set_cursor(0.0)

    def set_spectrogram(self, logmel: np.ndarray) -> None:
        """Show a whole file: ``logmel`` is (frames, n_mels), time-major."""
        logmel = np.ascontiguousarray(logmel, dtype=np.float32)
        self.hint.hide()
        self.live = False
        self._buf = logmel
        self._n = len(logmel)
        if self._n == 0:
            self.image.clear()
            return
        hi = float(np.percentile(logmel, 99.5)) if logmel.size else DEFAULT_LEVELS[1]
        self.levels = (0.0, max(hi, 0.5))
        self.image.setImage(logmel, autoLevels=False, levels=self.levels)
        dur = max(self._n * self.frame_s, self.frame_s)
        self.image.setRect(QRectF(0.0, 0.0, dur, float(self.n_mels)))
        self.plot.getViewBox().setLimits(xMax=dur)
        self.plot.setXRange(0, dur, padding=0)

    @property
    def frames(self) -> np.ndarray:
        """The spectrogram frames shown (a view, time-major)."""
        return self._buf[: self._n]

    @property
    def duration_s(self) -> float:
        """Length of the shown spectrogram in seconds."""
        return self._n * self.frame_s

    # ---- live takes -----------------------------------------------------------------------
    def begin_live(self) -> None:
        """Start an empty live take that scrolls as frames arrive."""
        self.clear_all()
        self.hint.hide()
        self.live = True
        self.levels = DEFAULT_LEVELS
        self._buf = np.zeros((4096, self.n_mels), np.float32)
        self._n = 0
        self.plot.getViewBox().setLimits(xMax=None)
        self.plot.setXRange(0, self.live_window_s, padding=0)
        self._dirty = True

    def append_frames(self, frames: np.ndarray) -> None:
        """Append (k, n_mels) frames to the live take (drawn at the next refresh)."""
        k = len(frames)
        if k == 0:
            return
        if self._n + k > len(self._buf):
            grow = np.zeros((max(len(self._buf), k) * 2, self.n_mels), np.float32)
            grow[: self._n] = self._buf[: self._n]
            self._buf = grow
        self._buf[self._n : self._n + k] = frames
        self._n += k
        self._dirty = True

    def refresh_live(self) -> bool:
        """Redraw the visible part of the live take if new frames came; True when it drew."""
        if not self.live or not self._dirty:
            return False
        self._dirty = False
        x0, x1 = self.plot.viewRange()[0]
        width = max(x1 - x0, 1.0)
        end = self._n * self.frame_s
        start_s = max(0.0, end - width) if end > width else 0.0
        self.plot.setXRange(start_s, start_s + width, padding=0)
        first = max(0, int(start_s / self.frame_s) - 4)
        view = self._buf[first : self._n]
        if len(view) == 0:
            return False
        self.image.setImage(view, autoLevels=False, levels=self.levels)
        self.image.setRect(QRectF(first * self.frame_s, 0.0, len(view) * self.frame_s,
                                  float(self.n_mels)))
        self.set_cursor(end)
        return True

    def end_live(self) -> None:
        """Stop scrolling and show the whole take."""
        if self.live:
            take = self._buf[: self._n].copy()
            self.set_spectrogram(take)

    # ---- cursor and range -----------------------------------------------------------------
    def set_cursor(self, seconds: float) -> None:
        """Move the play cursor."""
        self.cursor.setValue(float(seconds))

    def set_view_range(self, start: float, end: float) -> None:
        """Show ``start..end`` seconds."""
        self.plot.setXRange(start, end, padding=0)

    def _on_range(self, _vb, rng) -> None:
        self.range_changed.emit(float(rng[0]), float(rng[1]))

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted():
            return
        pos = ev.scenePos()
        for p in (self.plot, self.mood_plot, self.beat_plot, self.chord_plot):
            if p.sceneBoundingRect().contains(pos):
                t = p.getViewBox().mapSceneToView(pos).x()
                self.seek_requested.emit(max(0.0, float(t)))
                return

    # ---- lanes ----------------------------------------------------------------------------
    def set_beats(self, beats, downbeats=()) -> None:
        """Draw beat ticks (and taller downbeat ticks) in the beat lane."""
        b = np.asarray(list(beats or []), dtype=float)
        d = np.asarray(list(downbeats or []), dtype=float)
        self.beat_curve.setData(np.repeat(b, 2), np.tile([0.15, 0.65], len(b)))
        self.downbeat_curve.setData(np.repeat(d, 2), np.tile([0.0, 1.0], len(d)))

    def _clear_chords(self) -> None:
        for item in self._chord_items:
            self.chord_plot.removeItem(item)
        self._chord_items = []

    def set_chords(self, chords) -> None:
        """Draw chord blocks ``[{start, end, label}]`` in the chord lane."""
        self._clear_chords()
        palette = ["#2d5a80", "#4a4680", "#2f6b5c", "#6b5138"]
        shown = [c for c in (chords or []) if str(c.get("label", "")) not in ("N", "X", "")]
        if not shown:
            return
        starts = np.array([float(c["start"]) for c in shown])
        widths = np.maximum(np.array([float(c["end"]) for c in shown]) - starts, 1e-3)
        bars = pg.BarGraphItem(x0=starts, width=widths, y0=0.08, height=0.84,
                               brushes=[palette[i % len(palette)] for i in range(len(shown))],
                               pen=pg.mkPen("#111316"))
        self.chord_plot.addItem(bars)
        self._chord_items.append(bars)
        for c, x in zip(shown, starts, strict=True):
            text = pg.TextItem(str(c["label"]), color="#f0f0f0", anchor=(0, 0.5))
            text.setPos(x, 0.5)
            self.chord_plot.addItem(text)
            self._chord_items.append(text)

    def set_mood_timeline(self, segments, top: int = 5) -> None:
        """Draw a (time x mood) heat map of the segments' top moods."""
        segs = [s for s in (segments or []) if "start" in s and "end" in s]
        if not segs:
            self.mood_image.clear()
            return
        maps = [_norm_moods(s.get("moods")) for s in segs]
        totals: dict[str, float] = {}
        for m in maps:
            for k, v in m.items():
                totals[k] = totals.get(k, 0.0) + v
        names = sorted(totals, key=lambda k: -totals[k])[:top]
        self.mood_names = names
        if not names:
            self.mood_image.clear()
            return
        end = max(float(s["end"]) for s in segs)
        step = max(min(float(s["end"]) - float(s["start"]) for s in segs) / 2, 0.1)
        n_cols = max(1, math.ceil(end / step))
        img = np.zeros((n_cols, len(names)), np.float32)
        for s, m in zip(segs, maps, strict=True):
            a, b = int(float(s["start"]) / step), max(math.ceil(float(s["end"]) / step), 1)
            for j, name in enumerate(names):
                img[a:b, j] = np.maximum(img[a:b, j], m.get(name, 0.0))
        self.mood_image.setImage(img, autoLevels=False, levels=(0.0, 1.0))
        self.mood_image.setRect(QRectF(0.0, 0.0, n_cols * step, 1.0))
        h = 1.0 / len(names)
        self.mood_plot.getAxis("left").setTicks([[((j + 0.5) * h, n[:11])
                                                  for j, n in enumerate(names)]])
