"""The "Harmony & tuner" tab: views a musician reads, next to the model's feature maps.

- a chromagram (how strongly each pitch class sounds over time), with the play cursor;
- the key strength over time: how well the analysis' key (following its key timeline, so a
  modulation moves the amber curve to the new key) and its first alternative fit the 8 s around
  each moment; the summary under it is the analysis' own key, alternatives and key changes
  ("A major → C major at 4:59.6"), never a key of this view's own;
- the spectrum at the cursor (or of the live input) on a note-name axis, and a tuner that names
  a sustained note and how many cents it is off.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from musicapp.gui.harmony import (
    chromagram,
    entry_name,
    estimate_pitch,
    key_changes,
    key_index,
    key_strength,
    key_timeline_summary,
    midi_of,
    note_and_cents,
    spectrum_db,
    time_text,
    timeline_key_rows,
)
from musicapp.gui.labels import ElideLabel
from musicapp.gui.theme import ACCENT, ACCENT2
from musicapp.pitch import CHROMATIC_NAMES as PITCH_CLASSES
from musicapp.wording import confidence_text, signed

CHROMA_HOP = 2048
CHROMA_FFT = 4096
BLOCK = 4096  # samples for the spectrum and the tuner


def harmony_task(_ctx, y: np.ndarray, sr: int) -> dict:
    """Chromagram and key-strength curve of a whole track (runs in a worker thread)."""
    chroma = chromagram(y, sr, hop=CHROMA_HOP, n_fft=CHROMA_FFT)
    frame_s = CHROMA_HOP / sr
    times, strength = key_strength(chroma, frame_s)
    return {"chroma": chroma, "frame_s": frame_s, "times": times, "strength": strength}


def _note_axis_ticks(lo_midi: float, hi_midi: float) -> list[tuple[float, str]]:
    return [(float(m), f"C{m // 12 - 1}") for m in range(int(lo_midi), int(hi_midi) + 1)
            if m % 12 == 0]


class MusicianViews(QWidget):
    """Chromagram, key strength, spectrum and tuner (see the module documentation)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.updates = 0
        self.result: dict | None = None
        self.track_key: int | None = None
        #: the analysis' key fields: ``key``, ``key_candidates``, ``key_timeline`` (None: none yet)
        self.key_fields: dict | None = None
        self._change_lines: list = []
        self.tuner_note: str = ""
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.layout.setSpacing(2)
        self.chroma_plot = self.graphics.addPlot(row=0, col=0)
        self.chroma_plot.setMenuEnabled(False)
        self.chroma_plot.setMouseEnabled(x=True, y=False)
        self.chroma_plot.hideButtons()
        # natural notes first; the others are labelled only when there is room for them
        levels = (("C", "E", "G"), ("D", "F", "A", "B"))
        self.chroma_plot.getAxis("left").setTicks([
            [(i + 0.5, n) for i, n in enumerate(PITCH_CLASSES) if n in levels[0]],
            [(i + 0.5, n) for i, n in enumerate(PITCH_CLASSES) if n in levels[1]],
            [(i + 0.5, n) for i, n in enumerate(PITCH_CLASSES) if len(n) > 1]])
        self.chroma_plot.getAxis("left").setWidth(44)
        # the outer names (C at the bottom, B at the top) may run a few pixels past the axis:
        # drawn whole instead of cut in half in a short window
        self.chroma_plot.getAxis("left").setStyle(hideOverlappingLabels=False)
        self.chroma_plot.setContentsMargins(0, 4, 0, 6)  # room for that overflow in the plot
        self.chroma_plot.setYRange(0, 12, padding=0)  # the twelve rows before a track, too
        self.chroma_plot.hideAxis("bottom")
        self.chroma_image = pg.ImageItem(axisOrder="row-major")
        self.chroma_image.setColorMap(pg.colormap.get("viridis"))
        self.chroma_plot.addItem(self.chroma_image)
        self.chroma_cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(ACCENT, width=2))
        self.chroma_plot.addItem(self.chroma_cursor)
        self.key_plot = self.graphics.addPlot(row=1, col=0)
        self.key_plot.setMenuEnabled(False)
        self.key_plot.setMouseEnabled(x=True, y=False)
        self.key_plot.hideButtons()
        self.key_plot.setXLink(self.chroma_plot)
        self.key_plot.setYRange(-0.2, 1.0, padding=0)
        self.key_plot.getAxis("left").setWidth(44)
        self.key_plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, ".5"), (1.0, "1")]])
        self.key_curve = self.key_plot.plot(pen=pg.mkPen(ACCENT, width=2))
        self.best_curve = self.key_plot.plot(pen=pg.mkPen(ACCENT2, width=1,
                                                          style=Qt.PenStyle.DashLine))
        self.key_cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(ACCENT, width=1))
        self.key_plot.addItem(self.key_cursor)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)

        self.spectrum = pg.PlotWidget()
        self.spectrum.setMenuEnabled(False)
        self.spectrum.setMouseEnabled(x=False, y=False)
        self.spectrum.hideButtons()
        self.spectrum.setXRange(midi_of(40), midi_of(4200), padding=0)
        self.spectrum.setYRange(-90, 3, padding=0)  # headroom: the "0" label is not cut
        self.spectrum.getAxis("left").setStyle(hideOverlappingLabels=False)
        self.spectrum.getAxis("bottom").setTicks([_note_axis_ticks(midi_of(40), midi_of(4200))])
        self.spectrum.setLabel("left", "dBFS")
        self.spectrum_curve = self.spectrum.plot(pen=pg.mkPen(ACCENT2, width=1))
        self.spectrum.setMinimumWidth(220)

        self.tuner_label = QLabel("–")
        font = QFont(self.tuner_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.tuner_label.setFont(font)
        self.tuner_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tuner_label.setMinimumWidth(self.tuner_label.fontMetrics().horizontalAdvance(
            "C#8 +50 ¢") + 12)
        self.tuner_bar = QProgressBar()
        self.tuner_bar.setRange(-50, 50)
        self.tuner_bar.setValue(0)
        self.tuner_bar.setTextVisible(False)
        self.tuner_bar.setFixedHeight(10)
        self.tuner_bar.setToolTip("Cents off the nearest note (-50 … +50)")
        self.tuner_hz = QLabel("")
        self.tuner_hz.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tuner_hz.setMinimumWidth(self.tuner_hz.fontMetrics().horizontalAdvance(
            "no steady note") + 8)
        tuner = QHBoxLayout()
        tuner.addWidget(QLabel("Tuner"))
        tuner.addWidget(self.tuner_label)
        tuner.addWidget(self.tuner_bar, 1)
        tuner.addWidget(self.tuner_hz)

        self.explain = ElideLabel("Chromagram: pitch classes over time · key strength over time: "
                              "amber = the analysed key, dashed = its first alternative · "
                              "spectrum and tuner at the cursor")
        self.explain.full_tip = (
            "Chromagram: how strongly each pitch class sounds (bright = strong), octaves "
            "folded together.\nKey strength over time: how well a key's profile fits the "
            "chroma of the 8 s around each moment (1 = perfectly). Amber: the analysis' key, "
            "following its key timeline (a vertical line marks each key change); dashed: the "
            "analysis' first alternative key. The curves are a picture of the evidence, not a "
            "second key finder: a note profile alone cannot tell a minor key from its relative "
            "major (A minor and C major share their notes), so the dashed curve may run above "
            "the amber one; the analysis also weighs the bass and the tonic chords. The key and "
            "its changes are the analysis' (the line under the curves).\nSpectrum: the sound "
            "at the cursor (or the live input) "
            "on a note axis; the tuner names a sustained note and how many cents it is off.")
        self.setToolTip(self.explain.full_tip)
        self.key_label = ElideLabel("")
        self.source = ElideLabel("Open a file to see its harmony; record to use the tuner live.")

        left = QVBoxLayout()
        left.setSpacing(1)
        left.addWidget(self.graphics, 1)
        left.addWidget(self.key_label)
        right = QVBoxLayout()
        right.setSpacing(1)
        right.addWidget(self.spectrum, 1)
        right.addLayout(tuner)
        right.addWidget(self.source)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        lay.addWidget(self.explain)
        lay.addLayout(body, 1)
        self.graphics.setMinimumHeight(90)
        self.spectrum.setMinimumHeight(70)

    # ---- whole track -----------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the track."""
        self.result = None
        self.chroma_image.clear()
        self.key_curve.setData([], [])
        self.best_curve.setData([], [])
        self.key_label.set_full_text("")
        self._set_change_lines([])

    def set_harmony(self, result: dict) -> None:
        """Show :func:`harmony_task`'s result."""
        self.result = result
        chroma = result["chroma"]
        dur = chroma.shape[1] * result["frame_s"]
        self.chroma_image.setImage(chroma, autoLevels=False, levels=(0.0, 1.0))
        self.chroma_image.setRect(QRectF(0.0, 0.0, max(dur, 1e-3), 12.0))
        self.chroma_plot.setXRange(0, max(dur, 1e-3), padding=0)
        self.chroma_plot.setYRange(0, 12, padding=0)
        self._draw_keys()
        self.updates += 1

    def set_track_key(self, tonic: str | None, mode: str | None) -> None:
        """The analysed key alone (no alternatives, no key changes): see
        :meth:`set_key_analysis`."""
        key = {"tonic": tonic, "mode": mode or "major"} if tonic else None
        self.set_key_analysis(key, [], [])

    def set_key_analysis(self, key: dict | None, candidates: list[dict] | None = None,
                         timeline: list[dict] | None = None) -> None:
        """The analysis' key (its ``key`` field), its alternatives (``key_candidates``, the
        key first) and its ``key_timeline``: the curves and the summary line follow them."""
        if not key or not key.get("tonic"):
            self.key_fields = None
            self.track_key = None
        else:
            self.key_fields = {"key": dict(key), "key_candidates": list(candidates or []),
                               "key_timeline": list(timeline or [])}
            self.track_key = key_index(str(key["tonic"]), str(key.get("mode") or "major"))
        self._draw_keys()

    def _alternative(self) -> dict | None:
        """The analysis' first alternative to its key (the next of ``key_candidates``)."""
        if self.key_fields is None:
            return None
        main = entry_name(self.key_fields["key"])
        return next((c for c in self.key_fields["key_candidates"] if entry_name(c) != main), None)

    def summary_text(self) -> str:
        """The line under the curves: the analysis' key (headline and confidence), its
        alternatives and its key changes; what the curves show without an analysed key."""
        if self.key_fields is None:
            return ("Key strength over time: shown with the analysis' key (no key analysed "
                    "yet, or no key found)")
        from musicapp.analysis.key_report import key_headline

        key = self.key_fields["key"]
        text = f"Key: {key_headline(key)}"
        if key.get("confidence") is not None:
            text += f" {confidence_text(float(key['confidence']))}"
        timeline = self.key_fields["key_timeline"]
        if key_changes(timeline):  # before the alternatives: cut last in a narrow window
            text += f" · {key_timeline_summary(timeline)}"
        main = entry_name(key)
        others = [c for c in self.key_fields["key_candidates"] if entry_name(c) != main][:3]
        if others:
            text += " · or " + ", ".join(
                entry_name(c) + (f" {confidence_text(float(c['probability']))}"
                                 if c.get("probability") is not None else "") for c in others)
        return text

    def _set_change_lines(self, changes: list[tuple[float, str, str]]) -> None:
        for line in self._change_lines:
            self.key_plot.removeItem(line)
        self._change_lines = []
        for t, before, after in changes:
            # no text on the small curve plot (it covered the curves): the line under the
            # curves and the chord lane name the keys
            line = pg.InfiniteLine(t, angle=90, pen=pg.mkPen(ACCENT2, width=1,
                                                             style=Qt.PenStyle.DotLine))
            line.setToolTip(f"{before} → {after} at {time_text(t)}")
            self.key_plot.addItem(line, ignoreBounds=True)
            self._change_lines.append(line)

    def _draw_keys(self) -> None:
        self.key_label.set_full_text(self.summary_text())
        if self.result is None:
            return
        times, r = self.result["times"], self.result["strength"]
        if r.shape[1] == 0 or self.key_fields is None:
            self.key_curve.setData([], [])
            self.best_curve.setData([], [])
            self._set_change_lines([])
            return
        timeline = self.key_fields["key_timeline"]
        rows = timeline_key_rows(timeline, times)
        if self.track_key is not None:
            rows[rows < 0] = self.track_key
        ok = rows >= 0
        self.key_curve.setData(times[ok], r[rows[ok], np.arange(r.shape[1])[ok]])
        alt = self._alternative()
        alt_row = key_index(str(alt.get("tonic", "")), str(alt.get("mode", "major"))) if alt else None
        if alt_row is None:
            self.best_curve.setData([], [])
        else:
            self.best_curve.setData(times, r[alt_row])
        self._set_change_lines(key_changes(timeline))
        legend = (f"Key strength over time · amber: {entry_name(self.key_fields['key'])}"
                  + (" (following the key changes)" if key_changes(timeline) else "")
                  + (f" · dashed: {entry_name(alt)} (first alternative)" if alt_row is not None
                     else ""))
        self.key_plot.setToolTip(legend)

    def set_cursor(self, seconds: float) -> None:
        """Move the cursor lines."""
        self.chroma_cursor.setValue(float(seconds))
        self.key_cursor.setValue(float(seconds))

    # ---- spectrum and tuner ----------------------------------------------------------------
    def show_block(self, block: np.ndarray, sr: int, where: str = "") -> None:
        """Spectrum and tuner of one block of mono audio."""
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        if block.size < 256:
            return
        freqs, db = spectrum_db(block, sr)
        keep = freqs > 30
        self.spectrum_curve.setData(np.array([midi_of(f) for f in freqs[keep]]), db[keep])
        hz = estimate_pitch(block, sr)
        if hz is None:
            self.tuner_note = ""
            self.tuner_label.setText("–")
            self.tuner_bar.setValue(0)
            self.tuner_hz.setText("no steady note")
        else:
            note, cents = note_and_cents(hz)
            self.tuner_note = note
            self.tuner_label.setText(f"{note} {signed(cents, 0)} ¢")
            self.tuner_bar.setValue(int(round(cents)))
            self.tuner_hz.setText(f"{hz:.1f} Hz")
        if where:
            self.source.set_full_text(where)
        self.updates += 1
