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
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QToolTip

from musicapp.gui.chord_labels import LABEL_GAP, ChordLabelsItem
from musicapp.gui.feel_lane import COLORS as FEEL_COLORS
from musicapp.gui.feel_lane import FeelLane, LegendAxis, describe
from musicapp.gui.lane import EMPTY_SPAN_S, TIMELINE_MARGINS, Lane, timeline_axis_width
from musicapp.gui.plotting import fixed_unit_axes
from musicapp.gui.theme import ACCENT, ACCENT2
from musicapp.params import MEL
from musicapp.pitch import note_name as midi_note_name

#: display range of log10(10000 * S + 1) values
DEFAULT_LEVELS = (0.0, 3.5)
#: most spectrogram values the automatic colour levels are computed from
LEVEL_SAMPLE = 100_000
LANE_HEIGHT = 26
#: the chord lane with its time axis (a key row is added above the chords of a modulating track)
CHORD_LANE_HEIGHT = LANE_HEIGHT + 32
#: smallest height of the spectrogram itself (the lanes below have fixed heights)
MIN_PLOT_HEIGHT = 90
#: from this view height (pixels) on, the feel lane is twice as tall
TALL_VIEW = 420
#: below this view height (pixels) the mood lane is one labelled band ("moods", the names on
#: hover) instead of five labelled rows, so the spectrogram keeps its height in a short window
SHORT_VIEW = 300


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


def _note_ticks(n_mels: int, octaves: range = range(2, 8)) -> list[tuple[float, str]]:
    """Ticks at C2 ... C7 (the Mel band position of each C)."""
    centres = mel_band_frequencies(n_mels)
    ticks = []
    for octave in octaves:
        hz = 440.0 * 2 ** ((12 * (octave + 1) - 69) / 12)
        if centres[0] <= hz <= centres[-1]:
            ticks.append((float(np.interp(hz, centres, np.arange(n_mels))) + 0.5, f"C{octave}"))
    return ticks


def fit_ticks(ticks: list[tuple[float, str]], px_per_band: float,
              min_px: float) -> list[tuple[float, str]]:
    """The ``(band, label)`` ticks that are at least ``min_px`` apart, the highest kept first
    (the low ones crowd together on the Mel scale)."""
    kept: list[tuple[float, str]] = []
    for band, label in sorted(ticks, reverse=True):
        if not kept or (kept[-1][0] - band) * px_per_band >= min_px:
            kept.append((band, label))
    return sorted(kept)


def note_name(hz: float) -> tuple[str, float]:
    """("A4", cents off) of the equal-tempered note nearest to ``hz`` (A4 = 440 Hz)."""
    midi = 69 + 12 * math.log2(max(hz, 1e-6) / 440.0)
    nearest = int(round(midi))
    return midi_note_name(nearest), (midi - nearest) * 100.0


def _norm_moods(moods) -> dict[str, float]:
    """{tag: percentile as 0..1} of TrackAnalysis moods ``[{tag, score, percentile}]``."""
    return {str(m.get("tag", "?")): float(m.get("percentile") or 0.0) / 100.0
            for m in (moods or [])}


def chord_display(label: str, key=None) -> str:
    """Lead-sheet symbol of a Harte label (``"A:min7"`` -> ``"Am7"``), spelled in ``key``."""
    from musicapp.pitch import PitchError, chord_symbol

    try:
        return chord_symbol(label, key)
    except (PitchError, ValueError):
        return label


def display_levels(logmel: np.ndarray, values: int = LEVEL_SAMPLE) -> tuple[float, float]:
    """(5th, 99.5th) percentile of a spectrogram's values: the colour scale's black and
    white points. Taken from at most ``values`` evenly strided values (a 3-minute track has
    740,000; two full percentiles took ~45 ms of the GUI thread when a file opened)."""
    flat = np.asarray(logmel, np.float32).ravel()
    if flat.size == 0:
        return 0.0, DEFAULT_LEVELS[1]
    sample = flat[:: max(1, flat.size // values)]
    lo, hi = np.percentile(sample, [5.0, 99.5])
    span = DEFAULT_LEVELS[1] - DEFAULT_LEVELS[0]
    if hi - lo < 0.05 * span:  # silence or a constant: dark, not the top colour of a zero range
        return float(lo), float(lo) + span
    return float(lo), float(hi)


#: most time columns a whole file's spectrogram image has: a longer file is shown max-pooled in
#: time (a 3-hour file has 675,000 frames; at full resolution its display image alone is another
#: quarter gigabyte, and far wider than any screen)
MAX_DISPLAY_FRAMES = 16384


def display_image(logmel: np.ndarray, max_frames: int = MAX_DISPLAY_FRAMES) -> np.ndarray:
    """``logmel`` (frames, n_mels) as shown: itself up to ``max_frames`` frames, else the
    maximum of every ``ceil(frames / max_frames)`` consecutive frames (a short loud event stays
    visible), the last group possibly shorter."""
    n = len(logmel)
    if n <= max_frames:
        return logmel
    pool = math.ceil(n / max_frames)
    usable = n // pool * pool
    pooled = logmel[:usable].reshape(usable // pool, pool, -1).max(axis=1)
    if usable < n:
        pooled = np.concatenate([pooled, logmel[usable:].max(axis=0, keepdims=True)])
    return np.ascontiguousarray(pooled, dtype=np.float32)


class _PaintCounter(QObject):
    """Counts paint events of a widget's viewport (frames actually drawn)."""

    #: emitted once, after the first paint
    first_paint = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.count = 0

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.count += 1
            if self.count == 1:
                self.first_paint.emit()  # queued by the receiver: after this paint is done
        return False


class SpectrogramView(pg.GraphicsLayoutWidget):
    """Spectrogram + mood timeline + energy/valence lane + beat lane + chord lane, all on one
    time axis."""

    #: user clicked at a time (seconds) to move the play cursor there
    seek_requested = Signal(float)
    #: the visible time range changed (start, end) in seconds
    range_changed = Signal(float, float)

    def __init__(self, parent=None, frame_seconds: float = MEL.frame_seconds) -> None:
        super().__init__(parent)
        self.frame_s = frame_seconds
        self.n_mels = MEL.n_mels
        #: one width for every lane's left axis (aligned), wide enough for the feel legend
        self.axis_width = timeline_axis_width(self.font())
        self.setToolTip("Log-Mel spectrogram. Wheel: zoom time, drag: scroll, click: move cursor")
        self.ci.layout.setSpacing(0)
        self.ci.setContentsMargins(*TIMELINE_MARGINS)

        # ViewBoxes without the context menu (disabled anyway): building five menus cost ~50 ms
        # of every start
        self.plot = self.addPlot(row=0, col=0, viewBox=pg.ViewBox(enableMenu=False))
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "Hz")
        self.plot.hideAxis("bottom")
        self.axis_mode = "hz"
        self._freq_ticks: list[tuple[float, str]] = []
        self._apply_freq_ticks()
        self.plot.getViewBox().sigResized.connect(lambda *_: self._apply_freq_ticks())
        self.plot.getAxis("left").setWidth(self.axis_width)
        self.plot.getViewBox().setLimits(xMin=0, yMin=0, yMax=self.n_mels)
        self.plot.setYRange(0, self.n_mels, padding=0)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setAutoDownsample(True)
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.plot.addItem(self.image)
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(ACCENT, width=2), movable=False)
        self.plot.addItem(self.cursor)
        self.hint = pg.TextItem("Drop an audio file here, open one (Ctrl+O), or press Ctrl+R "
                                "to record",
                                color="#8a8f99", anchor=(0.5, 0.5))
        self.hint.setPos(EMPTY_SPAN_S / 2, self.n_mels / 2)
        self.plot.addItem(self.hint, ignoreBounds=True)  # the text never moves the time axis
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.sigXRangeChanged.connect(self._on_range)

        self.mood_plot = self._lane(1, "mood")
        self.mood_image = pg.ImageItem(axisOrder="col-major")
        self.mood_image.setColorMap(pg.colormap.get("viridis"))
        self.mood_plot.addItem(self.mood_image)
        self.feel_plot = self._lane(2, "feel", axis=LegendAxis(FEEL_COLORS))
        self.feel = FeelLane(self.feel_plot)
        self.feel_plot.setToolTip("Energy 1-10 (amber, filled; its top edge is the arousal, "
                                  "-1 calm … +1 energetic)\nand valence (teal line, -1 negative "
                                  "… +1 positive), per 3 s. Hover for the values.\nThe "
                                  "names on the left show the values at the play cursor; the "
                                  "Valence / arousal panel shows the whole track's.")
        self.beat_plot = self._lane(3, "beats")
        self.beat_curve = pg.PlotDataItem(pen=pg.mkPen(ACCENT2, width=1), connect="pairs")
        self.downbeat_curve = pg.PlotDataItem(pen=pg.mkPen(ACCENT, width=2), connect="pairs")
        self.beat_plot.addItem(self.beat_curve)
        self.beat_plot.addItem(self.downbeat_curve)
        self.chord_plot = self._lane(4, "chords", bottom=True)
        self.chord_plot.setLabel("bottom", "time (min:s)")
        self.chord_plot.getAxis("bottom").setHeight(30)
        self._chord_bars = None  # one BarGraphItem: the chord blocks
        self.chord_label_item = ChordLabelsItem(self.font())  # every label, one item
        self.chord_plot.addItem(self.chord_label_item, ignoreBounds=True)
        self.chords: list[dict] = []
        self.chord_key = None
        #: the analysis' key timeline and the marks of its key changes in the chord lane
        self.key_timeline: list[dict] = []
        self._key_marks: list = []
        self.hover_chord: str = ""
        self.mood_names: list[str] = []
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        self.lane_font = small
        self.chord_label_item.set_font(small)
        line = QFontMetrics(small).height()
        for lane in (self.mood_plot, self.feel_plot, self.beat_plot, self.chord_plot):
            axis = lane.getAxis("left")
            axis.setStyle(tickFont=small, textFillLimits=[(0, 1.0)], tickTextOffset=4)
        self.full_mood_height = 5 * line + 6  # five mood names, one per row
        self.short_mood_height = 2 * line + 6  # one name: "moods"
        self.mood_lane_height = self.full_mood_height
        self._mood_ticks: list[tuple[float, str]] = [(0.5, "mood")]
        self._mood_grid = np.zeros((0, 0), np.float32)
        self._mood_step = 1.0
        grid = self.ci.layout
        grid.setRowStretchFactor(0, 10)
        grid.setRowMinimumHeight(0, MIN_PLOT_HEIGHT)
        grid.setRowFixedHeight(1, self.mood_lane_height)
        # the two legend names, one above the other; twice as tall in a tall view
        self._lane_line = line
        self.feel_lane_height = 2 * line + 8
        grid.setRowFixedHeight(2, self.feel_lane_height)
        grid.setRowFixedHeight(3, LANE_HEIGHT)
        grid.setRowFixedHeight(4, CHORD_LANE_HEIGHT)
        self.setMinimumHeight(MIN_PLOT_HEIGHT + self.short_mood_height + self.feel_lane_height
                              + 2 * LANE_HEIGHT + 44)
        self.plot.sigXRangeChanged.connect(lambda *_: self._layout_chord_labels())
        self.chord_plot.getViewBox().sigResized.connect(lambda *_: self._layout_chord_labels())
        self.plot.scene().sigMouseMoved.connect(self._on_hover)

        fixed_unit_axes(self.plot)  # (the lanes' axes are made that way)
        self.paints = _PaintCounter(self)
        self.viewport().installEventFilter(self.paints)

        self._buf = np.zeros((0, self.n_mels), np.float32)
        self._n = 0
        self.live = False
        self._dirty = False
        self.levels = DEFAULT_LEVELS
        self.base_levels = DEFAULT_LEVELS
        self.gain_db = 0.0
        self.contrast = 1.0
        self.image.setLevels(self.levels)
        self.live_window_s = 10.0
        self.show_empty_range()

    def lanes(self) -> list:
        """The spectrogram plot and every lane under it, top to bottom (one time axis)."""
        return [self.plot, self.mood_plot, self.feel_plot, self.beat_plot, self.chord_plot]

    def show_empty_range(self) -> None:
        """Show 0 to :data:`EMPTY_SPAN_S` seconds on every lane, as the empty overview does.

        The time range is always set explicitly (a whole file, a live take, a zoom); pyqtgraph's
        automatic range would follow whatever an empty lane holds (the hint's text, the cursor)
        and started the empty timeline at 0.19 s, off the overview's 0 s above it."""
        for lane in self.lanes():
            lane.getViewBox().enableAutoRange(x=False)
        self.plot.setXRange(0, EMPTY_SPAN_S, padding=0)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        # the lane heights first: the base class then fits the layout to the new height
        if hasattr(self, "_lane_line"):  # (not during a resize while the lanes are built)
            self._fit_lanes()
        super().resizeEvent(ev)

    def _fit_lanes(self) -> None:
        tall = self.height() >= TALL_VIEW
        height = (4 if tall else 2) * self._lane_line + 8
        if height != self.feel_lane_height:
            self.feel_lane_height = height
            self.ci.layout.setRowFixedHeight(2, height)
        mood = self.short_mood_height if self.height() < SHORT_VIEW else self.full_mood_height
        if mood != self.mood_lane_height:
            self.mood_lane_height = mood
            self.ci.layout.setRowFixedHeight(1, mood)
            self._apply_mood_ticks()

    def height_for_plot(self, plot_height: int) -> int:
        """The view height that gives the spectrogram itself ``plot_height`` pixels with every
        lane at the size it has at that height (five mood rows, the feel lane's two sizes)."""
        lanes = self.full_mood_height + 2 * self._lane_line + 8 + 2 * LANE_HEIGHT + 44
        height = plot_height + lanes
        if height >= TALL_VIEW:
            height += 2 * self._lane_line
        return max(height, SHORT_VIEW, self.minimumHeight())

    @property
    def mood_lane_short(self) -> bool:
        """True while the mood lane is one band labelled "moods" (a short view)."""
        return self.mood_lane_height < self.full_mood_height

    def _apply_mood_ticks(self) -> None:
        axis = self.mood_plot.getAxis("left")
        if self.mood_lane_short and len(self._mood_ticks) > 1:
            axis.setTicks([[(0.5, "moods")]])
            axis.setToolTip("Moods, top to bottom: "
                            + ", ".join(n for _v, n in self._mood_ticks)
                            + " (hover the lane for the mood under the pointer)")
        else:
            axis.setTicks([self._mood_ticks])
            axis.setToolTip("mood")

    # ---- display ---------------------------------------------------------------------------
    def set_display(self, gain_db: float | None = None, contrast: float | None = None) -> None:
        """Brightness (``gain_db``: positive shows quiet parts brighter) and contrast (1 = the
        file's own range; 2 = half the range, more contrast) of the colour scale."""
        if gain_db is not None:
            self.gain_db = float(gain_db)
        if contrast is not None:
            self.contrast = max(0.25, float(contrast))
        self._apply_levels()

    def _apply_levels(self) -> None:
        lo, hi = self.base_levels
        # the image holds log10(10000 S + 1): 1 unit is about 10 dB of power
        shift = -self.gain_db / 10.0
        mid = (lo + hi) / 2 + shift
        half = max((hi - lo) / 2 / self.contrast, 0.05)
        self.levels = (mid - half, mid + half)
        self.image.setLevels(self.levels)

    def set_axis_mode(self, mode: str) -> None:
        """Label the frequency axis in Hz (``"hz"``) or with note names C2 ... C7
        (``"notes"``)."""
        self.axis_mode = "notes" if mode == "notes" else "hz"
        self.plot.setLabel("left", "note" if self.axis_mode == "notes" else "Hz")
        self._apply_freq_ticks()

    def set_hint(self, text: str) -> None:
        """The text shown in the empty spectrogram."""
        self.hint.setText(text)

    def _apply_freq_ticks(self) -> None:
        """The frequency labels that fit the plot's height (the Mel scale is linear below
        1 kHz, so C2, C3 and C4 sit a few pixels apart in a short plot)."""
        ticks = (_note_ticks if self.axis_mode == "notes" else _hz_ticks)(self.n_mels)
        height = self.plot.getViewBox().height()
        px_per_band = height / self.n_mels if height > 0 else 1.0
        line = QFontMetrics(self.plot.getAxis("left").style.get("tickFont") or self.font())
        ticks = fit_ticks(ticks, px_per_band, line.height() + 2)
        if ticks != self._freq_ticks:
            self._freq_ticks = ticks
            self.plot.getAxis("left").setTicks([ticks])

    # ---- construction helpers -------------------------------------------------------------
    def _lane(self, row: int, name: str, axis: pg.AxisItem | None = None,
              bottom: bool = False) -> Lane:
        p = Lane(left=axis, bottom=bottom)
        self.addItem(p, row=row, col=0)
        p.setMouseEnabled(x=True, y=False)
        p.setXLink(self.plot)
        p.setYRange(0, 1, padding=0)
        p.getAxis("left").setWidth(self.axis_width)
        p.getAxis("left").setTicks([[(0.5, name)]])
        # no tick mark: a lane's tick only points at its name, and pyqtgraph draws it 5 px into
        # the lane, through the first chord label and the mood rows
        p.getAxis("left").setStyle(tickLength=0)
        p.getAxis("left").setToolTip(name)
        p.getViewBox().setLimits(xMin=0)
        return p

    # ---- whole files ----------------------------------------------------------------------
    def clear_all(self) -> None:
        """Forget the spectrogram and every lane."""
        self._buf = np.zeros((0, self.n_mels), np.float32)
        self._n = 0
        self.image.clear()
        self.mood_image.clear()
        self._mood_grid = np.zeros((0, 0), np.float32)
        self.mood_names = []  # a new track or take: no mood names of the last one
        self._mood_ticks = [(0.5, "mood")]
        self._apply_mood_ticks()
        self.feel.clear()
        self.beat_curve.setData([], [])
        self.downbeat_curve.setData([], [])
        self._clear_chords()
        self.set_cursor(0.0)
        self.show_empty_range()

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
        lo, hi = display_levels(logmel)
        self.base_levels = (min(lo, hi - 0.5), max(hi, 0.5))
        self.image.setImage(display_image(logmel), autoLevels=False)  # pooled when long
        self._apply_levels()
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
        self.base_levels = DEFAULT_LEVELS
        self._apply_levels()
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
        """Move the play cursor (the feel lane's read-out follows it)."""
        self.cursor.setValue(float(seconds))
        self.feel.show_cursor(float(seconds))

    def set_view_range(self, start: float, end: float) -> None:
        """Show ``start..end`` seconds."""
        self.plot.setXRange(start, end, padding=0)

    def _on_range(self, _vb, rng) -> None:
        self.range_changed.emit(float(rng[0]), float(rng[1]))

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.isAccepted():
            return
        pos = ev.scenePos()
        for p in (self.plot, self.mood_plot, self.feel_plot, self.beat_plot, self.chord_plot):
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
        if self._chord_bars is not None:
            self.chord_plot.removeItem(self._chord_bars)
            self._chord_bars = None
        self.chord_label_item.set_labels([])
        self.chords = []  # hovering the empty lane must not name the previous track's chords
        self.chord_key = None
        for item in self._key_marks:
            self.chord_plot.removeItem(item)
        self._key_marks = []
        self.key_timeline = []
        self.ci.layout.setRowFixedHeight(4, CHORD_LANE_HEIGHT)  # no key row without marks
        self._fit_key_row()

    @property
    def _chord_labels(self) -> list[tuple[float, float, list[str]]]:
        """(start, end, [label variants]) of every chord block."""
        return self.chord_label_item.labels

    def set_chords(self, chords, key=None, key_timeline=None) -> None:
        """Draw chord blocks ``[{start, end, label}]`` (Harte labels) in the chord lane, and
        the key changes of the analysis' ``key_timeline``: the first key, then a line and
        "→ C major" at each change (see :meth:`set_key_changes`).

        Neighbours with the same chord merge into one block. Labels are lead-sheet symbols
        spelled in ``key``; each shows only where it fits without touching its neighbour (without
        its bass note when the symbol is too wide), and every chord's full name shows on hover.
        All blocks are one bar item and all labels one label item, so a long track costs no
        more to show than a short one (see :mod:`musicapp.gui.chord_labels`).
        """
        self._clear_chords()
        self.chord_key = key
        merged: list[dict] = []
        for c in chords or []:
            label = str(c.get("label", ""))
            if label in ("N", "X", ""):
                continue
            start, end = float(c["start"]), float(c["end"])
            if merged and merged[-1]["label"] == label and start - merged[-1]["end"] < 0.05:
                merged[-1]["end"] = end
            else:
                merged.append({"start": start, "end": end, "label": label})
        self.chords = merged
        self.set_key_changes(key_timeline)
        if not merged:
            return
        palette = ["#2d5a80", "#4a4680", "#2f6b5c", "#6b5138"]
        starts = np.array([c["start"] for c in merged])
        widths = np.maximum(np.array([c["end"] for c in merged]) - starts, 1e-3)
        self._chord_bars = pg.BarGraphItem(
            x0=starts, width=widths, y0=0.08, height=0.84,
            brushes=[palette[i % len(palette)] for i in range(len(merged))],
            pen=pg.mkPen("#111316"))
        self._chord_bars.setZValue(-1)  # under the labels
        self.chord_plot.addItem(self._chord_bars)
        labels = []
        for c in merged:
            full = chord_display(c["label"], self.chord_key_at(c["start"]))
            # too narrow for "D#m/F#": "D#m" (never the root alone, which reads as D# major)
            short = full.split("/")[0]
            labels.append((c["start"], c["end"], [full] + ([short] if short != full else [])))
        self.chord_label_item.set_labels(labels)
        self._layout_chord_labels()

    def set_key_changes(self, key_timeline) -> None:
        """Mark the key changes of ``key_timeline`` (the analysis' local keys, see
        :func:`musicapp.gui.harmony.key_changes`) in the chord lane: the first key at the start
        ("A major") and a line at each change with the new key ("→ C major"); a mark that would
        run into the next one at the current zoom is hidden (see :meth:`_layout_key_marks`). A
        track in one key gets no mark (its key is in the summary line)."""
        from musicapp.gui.harmony import entry_name, key_changes, time_text

        for item in self._key_marks:
            self.chord_plot.removeItem(item)
        self._key_marks = []
        self.key_timeline = list(key_timeline or [])
        changes = key_changes(self.key_timeline)
        if not changes:
            self.ci.layout.setRowFixedHeight(4, CHORD_LANE_HEIGHT)
            self._fit_key_row()
            return
        first = entry_name(self.key_timeline[0])
        marks = [(float(self.key_timeline[0].get("start") or 0.0), first,
                  f"Key at the start: {first}")]
        marks += [(t, f"→ {after}", f"Key change: {before} → {after} at {time_text(t)}")
                  for t, before, after in changes]
        # the marks get a row of their own above the chord blocks ("→ C major" hid "C#m7")
        self.ci.layout.setRowFixedHeight(4, CHORD_LANE_HEIGHT + self._key_row_px())
        for i, (t, label, tip) in enumerate(marks):
            text = pg.TextItem(label, color="#ffffff", anchor=(0.0, 0.5),
                               fill=pg.mkBrush("#1b1e23e0"), border=pg.mkPen(ACCENT))
            text.setFont(self.lane_font)
            text.setPos(t, self._key_row_y())
            text.setToolTip(tip)
            items = [text]
            if i:
                items.insert(0, pg.InfiniteLine(t, angle=90, pen=pg.mkPen(ACCENT, width=2),
                                                movable=False))
            for item in items:  # over the chord blocks and their labels
                item.setZValue(10 if isinstance(item, pg.TextItem) else 5)
                self.chord_plot.addItem(item, ignoreBounds=True)
                self._key_marks.append(item)
        self._layout_key_marks()

    def chord_key_at(self, seconds: float):
        """The key a chord starting at ``seconds`` is spelled in: its key-timeline section's
        key in a modulating track (G#m in an E major section of a C major song, as the analysis
        spells it), else the track's key."""
        return self.key_at(seconds) if len(self.key_timeline) > 1 else self.chord_key

    def _key_row_px(self) -> int:
        """Height in pixels of the key marks' row over the chord blocks (one lane line)."""
        return QFontMetrics(self.lane_font).height() + 10  # a mark: text, margins, border

    def _key_row_y(self) -> float:
        """The y (lane coordinates) of the key row's middle: the chord blocks and their labels
        keep 0..1, the row is the part of the lane above 1 (see :meth:`_fit_key_row`)."""
        height = self.chord_plot.getViewBox().height()
        row = self._key_row_px() if self._key_marks else 0
        return 1.0 + row / 2 / max(height - row, 1.0)

    def _fit_key_row(self) -> None:
        """Keep the chord blocks and labels at y 0..1 under the key row: the lane's y range
        reaches above 1 by the row's height when the track has key marks."""
        height = self.chord_plot.getViewBox().height()
        row = self._key_row_px() if self._key_marks else 0
        top = 1.0 + row / max(height - row, 1.0)
        if abs(self.chord_plot.getViewBox().viewRange()[1][1] - top) > 1e-6:
            self.chord_plot.setYRange(0, top, padding=0)
        y = self._key_row_y()
        for item in self._key_marks:
            if isinstance(item, pg.TextItem) and abs(item.pos().y() - y) > 1e-6:
                item.setPos(item.pos().x(), y)

    def _layout_key_marks(self) -> None:
        """Hide a key mark's text where it would run into the next shown one at this zoom."""
        self._fit_key_row()
        texts = [item for item in self._key_marks if isinstance(item, pg.TextItem)]
        if not texts:
            return
        x0, x1 = self.plot.viewRange()[0]
        px_per_s = max(self.chord_plot.getViewBox().width(), 1.0) / max(x1 - x0, 1e-6)
        metrics = QFontMetrics(self.lane_font)
        last_end = -math.inf
        for item in texts:
            left = (item.pos().x() - x0) * px_per_s
            shown = left >= last_end + LABEL_GAP
            item.setVisible(shown)
            if shown:
                last_end = left + metrics.horizontalAdvance(item.textItem.toPlainText()) + 8

    def key_change_texts(self, shown_only: bool = False) -> list[str]:
        """The texts of the key marks in the chord lane (``shown_only``: those not hidden at
        the current zoom; for checks)."""
        return [item.textItem.toPlainText() for item in self._key_marks
                if isinstance(item, pg.TextItem) and (item.isVisible() or not shown_only)]

    def key_at(self, seconds: float) -> str:
        """The analysis' key at ``seconds`` by its key timeline ("" without one)."""
        from musicapp.gui.harmony import entry_name

        for e in self.key_timeline:
            if float(e.get("start") or 0.0) <= seconds < float(e.get("end") or 0.0):
                return entry_name(e)
        return entry_name(self.key_timeline[-1]) if self.key_timeline else ""

    def _layout_chord_labels(self) -> None:
        """Show the chord labels that fit at the current zoom (see
        :func:`musicapp.gui.chord_labels.place_labels`) and the key marks that do."""
        self._layout_key_marks()
        if not self.chord_label_item.labels:
            return
        x0, x1 = self.plot.viewRange()[0]  # the master range (the lane follows it)
        self.chord_label_item.layout(x0, x1, self.chord_plot.getViewBox().width())

    def visible_chord_labels(self) -> list[tuple[str, float, float]]:
        """(text, left, right) in pixels of every chord label shown now (for checks)."""
        item = self.chord_label_item
        return [(text, left, left + item.width(text)) for text, _x, left in item.shown]

    def chord_at(self, seconds: float) -> dict | None:
        """The chord block under ``seconds``, or None."""
        for c in self.chords:
            if c["start"] <= seconds < c["end"]:
                return c
        return None

    def set_feel_curves(self, curves, status: str = "ok", duration_s: float | None = None
                        ) -> None:
        """Draw the tagger's energy/valence ``curves`` in the feel lane (see
        :mod:`musicapp.gui.feel_lane`); silence or a too-short ``status`` hides them with the
        reason."""
        self.feel.set_data(curves, status, duration_s)
        self.feel.show_cursor(float(self.cursor.value()))

    def mood_at(self, seconds: float, y: float) -> str:
        """"name strength" of the mood row at lane height ``y`` (0..1) and ``seconds``."""
        grid = self._mood_grid
        if not self.mood_names or grid.size == 0 or not 0.0 <= y <= 1.0:
            return ""
        row = min(int(y * len(self.mood_names)), len(self.mood_names) - 1)  # from the bottom
        name = self.mood_names[len(self.mood_names) - 1 - row]
        col = int(seconds / self._mood_step)
        if not 0 <= col < grid.shape[0]:
            return name
        return f"{name} {grid[col, row]:.2f}"

    def _show_hover(self, pos, text: str) -> None:
        if text != self.hover_chord:
            self.hover_chord = text
            if text:
                QToolTip.showText(self.mapToGlobal(self.mapFromScene(pos)), text, self)
            else:
                QToolTip.hideText()

    def _on_hover(self, pos) -> None:
        if self.mood_plot.sceneBoundingRect().contains(pos):
            p = self.mood_plot.getViewBox().mapSceneToView(pos)
            self._show_hover(pos, self.mood_at(float(p.x()), float(p.y())))
            return
        if self.feel_plot.sceneBoundingRect().contains(pos):
            t = self.feel_plot.getViewBox().mapSceneToView(pos).x()
            point = self.feel.point_at(float(t)) if self.feel.points else None
            self._show_hover(pos, describe(point) if point else self.feel.message)
            return
        if not self.chords or not self.chord_plot.sceneBoundingRect().contains(pos):
            if self.hover_chord:
                self.hover_chord = ""
                QToolTip.hideText()
            return
        t = self.chord_plot.getViewBox().mapSceneToView(pos).x()
        chord = self.chord_at(float(t))
        text = ""
        if chord is not None:
            text = (f"{chord_display(chord['label'], self.chord_key_at(chord['start']))}  "
                    f"({chord['label']}), "
                    f"{chord['start']:.1f}–{chord['end']:.1f} s")
            if len(self.key_timeline) > 1:  # a modulating track: say which key it is in
                text += f" · key {self.key_at(float(chord['start']))}"
        if text != self.hover_chord:
            self.hover_chord = text
            if text:
                view_pos = self.mapFromScene(pos)
                QToolTip.showText(self.mapToGlobal(view_pos), text, self)
            else:
                QToolTip.hideText()

    def set_mood_timeline(self, segments, top: int = 5, names: list[str] | None = None) -> None:
        """Draw a (time x mood) heat map of the segments' moods: the rows are ``names`` (the
        track's top moods as the analysis panel lists them, so both show the same five in the
        same order), or without them the ``top`` moods summed over the segments."""
        segs = [s for s in (segments or []) if "start" in s and "end" in s]
        if not segs:
            self.mood_image.clear()
            self.mood_names = []
            self._mood_grid = np.zeros((0, 0), np.float32)
            return
        maps = [_norm_moods(s.get("moods")) for s in segs]
        totals: dict[str, float] = {}
        for m in maps:
            for k, v in m.items():
                totals[k] = totals.get(k, 0.0) + v
        names = list(names)[:top] if names else sorted(totals, key=lambda k: -totals[k])[:top]
        self.mood_names = names
        if not names:
            self.mood_image.clear()
            return
        end = max(float(s["end"]) for s in segs)
        step = max(min(float(s["end"]) - float(s["start"]) for s in segs) / 2, 0.1)
        n_cols = max(1, math.ceil(end / step))
        # image rows go up from the bottom; the first name (the strongest) is the top row
        img = np.zeros((n_cols, len(names)), np.float32)
        for s, m in zip(segs, maps, strict=True):
            a, b = int(float(s["start"]) / step), max(math.ceil(float(s["end"]) / step), 1)
            for j, name in enumerate(names):
                row = len(names) - 1 - j
                img[a:b, row] = np.maximum(img[a:b, row], m.get(name, 0.0))
        self.mood_image.setImage(img, autoLevels=False, levels=(0.0, 1.0))
        self.mood_image.setRect(QRectF(0.0, 0.0, n_cols * step, 1.0))
        self._mood_grid, self._mood_step = img, step
        h = 1.0 / len(names)
        self._mood_ticks = [(1.0 - (j + 0.5) * h, n) for j, n in enumerate(names)]
        self._apply_mood_ticks()
