"""A small piano roll with a keyboard: the voicing, bass and melody of a chord loop.

The keyboard on the left names every C; chord notes, bass and melody are drawn in three colours
over the loop's beats, and the selected chord's span is highlighted with its notes lit on the
keyboard.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from musicapp.gui.theme import ACCENT, ACCENT2
from musicapp.pitch import note_name

BLACK = {1, 3, 6, 8, 10}
COLOURS = {"chords": QColor("#6f8fd8"), "bass": QColor(ACCENT2), "melody": QColor(ACCENT)}


def midi_name(pitch: int) -> str:
    """"C4" for 60."""
    return note_name(pitch)


@dataclass
class RollNote:
    """One note in beats."""

    start: float
    dur: float
    pitch: int
    part: str  # "chords" | "bass" | "melody"


class PianoRoll(QWidget):
    """Keyboard + piano roll of an arrangement (see the module documentation)."""

    KEYBOARD_W = 44

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.notes: list[RollNote] = []
        self.spans: list[tuple[float, float]] = []  # (start beat, beats) per chord
        self.total_beats = 0.0
        self.selected = -1
        self.low, self.high = 36, 84
        self.setMinimumSize(140, 40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Voicing (blue), bass (teal) and melody (amber) of the loop; the "
                        "selected chord is highlighted and its notes lit on the keyboard")

    def set_arrangement(self, arr) -> None:
        """Show a :class:`musicapp.compose.arrange.Arrangement` (None clears)."""
        self.notes = []
        self.spans = []
        self.total_beats = 0.0
        if arr is not None:
            for part, notes in (("chords", arr.chords), ("bass", arr.bass),
                                ("melody", arr.melody)):
                self.notes += [RollNote(float(n.start), float(n.dur), int(n.pitch), part)
                               for n in notes]
            self.spans = [(float(s), float(d)) for s, d, _tok in arr.spans]
            self.total_beats = float(arr.total_beats)
        if self.notes:
            lo = min(n.pitch for n in self.notes)
            hi = max(n.pitch for n in self.notes)
            self.low = (lo // 12) * 12  # from a C
            self.high = max(hi + 1, self.low + 24)
        self.update()

    def select(self, index: int) -> None:
        """Highlight chord ``index`` (-1: none)."""
        self.selected = int(index)
        self.update()

    def notes_of(self, index: int) -> dict[str, list[int]]:
        """Pitches sounding in chord ``index``'s span, per part."""
        out: dict[str, list[int]] = {"chords": [], "bass": [], "melody": []}
        if not 0 <= index < len(self.spans):
            return out
        s, d = self.spans[index]
        for n in self.notes:
            if n.start < s + d - 1e-6 and n.start + n.dur > s + 1e-6 and n.pitch not in out[n.part]:
                out[n.part].append(n.pitch)
        for v in out.values():
            v.sort()
        return out

    def describe(self, index: int) -> str:
        """"voicing A3 C4 E4 · bass A2 · melody E5" for chord ``index``."""
        parts = self.notes_of(index)
        words = []
        for part, label in (("chords", "voicing"), ("bass", "bass"), ("melody", "melody")):
            if parts[part]:
                words.append(f"{label} " + " ".join(midi_name(p) for p in parts[part]))
        return " · ".join(words)

    # ---- painting --------------------------------------------------------------------------
    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        rows = max(self.high - self.low, 1)
        kb = self.KEYBOARD_W
        h = self.height() / rows
        w = max(self.width() - kb, 1)
        lit = set()
        if self.selected >= 0:
            for v in self.notes_of(self.selected).values():
                lit.update(v)
        fm = QFontMetrics(self.font())
        # keyboard
        for i in range(rows):
            pitch = self.low + i
            y = self.height() - (i + 1) * h
            black = pitch % 12 in BLACK
            colour = QColor("#2a2d33") if black else QColor("#d8d8d8")
            if pitch in lit:
                colour = QColor(ACCENT)
            p.fillRect(QRectF(0, y, kb if not black else kb * 0.62, h), colour)
            if pitch % 12 == 0 and h * 12 >= fm.height():
                p.setPen(QColor("#222222") if pitch not in lit else QColor("#000000"))
                p.drawText(QRectF(2, y - fm.height() + h, kb - 4, fm.height()),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                           midi_name(pitch))
            if not black:
                p.setPen(QPen(QColor("#888888"), 0.5))
                p.drawLine(0, int(y), kb, int(y))
        if self.total_beats <= 0:
            p.setPen(pal.placeholderText().color())
            p.drawText(QRectF(kb, 0, w, self.height()), Qt.AlignmentFlag.AlignCenter,
                       "Generate a progression to see its notes")
            return
        bx = w / self.total_beats
        # chord spans
        for i, (s, d) in enumerate(self.spans):
            rect = QRectF(kb + s * bx, 0, d * bx, self.height())
            p.fillRect(rect, QColor(255, 255, 255, 34 if i == self.selected else
                                    (10 if i % 2 else 0)))
            p.setPen(QPen(QColor(255, 255, 255, 50), 1))
            p.drawLine(rect.topLeft(), rect.bottomLeft())
        # notes
        for n in self.notes:
            if not self.low <= n.pitch < self.high:
                continue
            y = self.height() - (n.pitch - self.low + 1) * h
            colour = QColor(COLOURS[n.part])
            p.fillRect(QRectF(kb + n.start * bx + 1, y + 0.5, max(n.dur * bx - 2, 2),
                              max(h - 1, 1)), colour)
        p.end()
