"""Analysis views: ranked mood bars, valence/arousal plane, summary, JSON/CSV export."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from musicapp.gui.theme import ACCENT, ACCENT2
from musicapp.track_analysis import OK, TrackAnalysis
from musicapp.wording import confidence_text, percentile_ordinal, percentile_text, signed

KEYS = ("moods", "valence", "arousal", "energy", "curves", "genres", "segments", "key", "tempo_bpm", "meter",
        "beats", "downbeats", "chords", "key_timeline", "device", "hash", "key_reason",
        "tempo_reason", "key_candidates", "key_ambiguity")


def as_analysis(result: TrackAnalysis | dict | None) -> TrackAnalysis:
    """``result`` as a :class:`TrackAnalysis` (its flat JSON form is read back)."""
    if isinstance(result, TrackAnalysis):
        return result
    return TrackAnalysis.from_dict(result or {})


def flatten_result(result: TrackAnalysis | dict) -> dict:
    """The view's fields of a :class:`TrackAnalysis`: every field of :data:`KEYS` (None when
    absent), ``status``, ``errors`` as a list of "part: message" lines, ``file``."""
    analysis = as_analysis(result)
    fields = analysis.to_dict()
    flat = {k: fields.get(k) for k in KEYS}
    flat["status"] = analysis.status
    flat["errors"] = [f"{part}: {msg}" for part, msg in analysis.errors.items()]
    flat["file"] = analysis.path
    return flat


def mood_rows(moods: Any) -> list[tuple[str, float, float]]:
    """(tag, percentile as 0..1, raw score) sorted best first, from TrackAnalysis moods
    (``[{"tag", "score", "percentile" (0..100)}]``)."""
    rows = []
    for m in moods or []:
        score = float(m.get("score") or 0.0)
        pct = float(m.get("percentile") or 0.0) / 100.0
        rows.append((str(m.get("tag", "?")), pct, score))
    rows.sort(key=lambda r: -r[1])
    return rows


def genre_text(genres: Any, n: int = 3) -> str:
    """'rock (83rd percentile), pop (61st percentile)' from TrackAnalysis genres
    (``[{"tag", "score", "percentile"?}]``)."""
    parts = []
    for g in (genres or [])[:n]:
        name, pct = g.get("tag", "?"), g.get("percentile")
        if pct is not None:
            parts.append(f"{name} ({percentile_ordinal(float(pct))})")
        else:
            parts.append(f"{name} {float(g.get('score') or 0.0):.2f}")
    return ", ".join(parts) or "–"


def status_text(analysis: TrackAnalysis) -> str:
    """What to say instead of values for a silent or too-short track ("" when it is fine),
    or, for a clip long enough for key and tempo but shorter than the tagger's 3-s patch, why it
    has no moods."""
    if analysis.status == OK:
        if (analysis.tags or {}).get("moods_status"):
            return (f"Too short for moods: {analysis.duration_s:.1f} s. The mood tagger reads "
                    "3-s clips; key and tempo (when found) come from the music analysis.")
        return ""
    level = (f" (loudest part {analysis.level_dbfs:.0f} dBFS)"
             if analysis.level_dbfs is not None else "")
    if analysis.status == "too short":
        return (f"Too short to analyse: {analysis.duration_s:.1f} s{level}. Moods, key, tempo "
                "and chords need a few seconds of music.")
    if analysis.status == "damaged":  # musicapp.pipeline.DAMAGED; the warning gives the share
        return ("Damaged file: too many of its samples are not audio (NaN, infinite or absurd "
                "values, played as silence) to give moods, key, tempo or chords.")
    return f"Silence{level}: there is nothing to analyse in this track."


def percent_text(fraction: float) -> str:
    """A percentile given as a fraction, as the mood list prints it (99.6 % reads "99%"; one rule
    with the CLI: :func:`musicapp.wording.percentile_text`)."""
    return percentile_text(100.0 * float(fraction))


def key_alternatives(candidates: Any, n: int = 2, min_p: float = 0.05,
                     relations: bool = False) -> str:
    """'or C minor 0.21, E minor 0.07' from the analysis' ``key_candidates`` (the best key left
    out, and keys below ``min_p``); with ``relations`` each says how it relates ("(relative)").
    "" when there are none."""
    parts = []
    for c in (candidates or []):
        p = c.get("probability")
        if c.get("relation") == "best" or p is None or float(p) < min_p:
            continue  # the key itself, or one too unlikely to mention
        name = c.get("name") or f"{c.get('tonic', '?')} {c.get('mode', '')}".strip()
        rel = f" ({c['relation']})" if relations and c.get("relation") else ""
        parts.append(f"{name} {confidence_text(p)}{rel}")
    return ("or " + ", ".join(parts[:n])) if parts else ""


def key_text(key: Any, candidates: Any = None, ambiguity: Any = None) -> str:
    """'A minor · 0.82' from {tonic, mode, confidence} or a string (the probability that the key
    is right), with the likeliest other keys on a second line ('or C major 0.12') when
    ``candidates`` (the analysis' key_candidates) has any worth a mention, and the analysis'
    ``key_ambiguity`` ('ambiguous between A minor and C major') on a third."""
    if isinstance(key, dict):
        from musicapp.analysis.key_report import is_clear, key_headline

        conf = key.get("confidence")
        clear = conf is None or is_clear(conf)
        txt = (f"{key.get('tonic', '?')} {key.get('mode', '')}".strip() if clear
               else "N" + key_headline(key)[1:])  # "No clear key (best guess Ab major)"
        txt += f" · {confidence_text(conf)}" if conf is not None else ""
        alternatives = key_alternatives(candidates)
        txt += f"\n{alternatives}" if alternatives else ""
        # below the threshold the ambiguity ("no clear key: ...") only repeats the first line
        return txt + (f"\n{ambiguity}" if ambiguity and clear else "")
    return str(key) if key else "–"


def key_tooltip(key: Any, candidates: Any = None) -> str:
    """The key in full for the tooltip: its probability and every alternative with its
    relation ('also C minor 0.31 (relative), ...')."""
    if not isinstance(key, dict):
        return ""
    conf = key.get("confidence")
    head = f"{key.get('tonic', '?')} {key.get('mode', '')}".strip()
    if conf is not None:
        head += f", probability {confidence_text(conf)} that this is the key"
    others = key_alternatives(candidates, n=5, min_p=0.01, relations=True)
    return head + (f"\n{others}" if others else "")


def bpm_text(result: dict[str, Any]) -> str | None:
    """The tempo with its unit by the CLI's rule (:func:`musicapp.analysis.tempo_choice.tempo_label`):
    "121.2 BPM", "~60.6 BPM" (low confidence), "60.6 BPM (or 121.2)" (a close half/double
    level); None without a tempo."""
    from musicapp.analysis.tempo_choice import tempo_label

    label = tempo_label(result)
    if label is None:
        return None
    head, sep, tail = label.partition(" (or ")
    return f"{head} BPM{sep}{tail}"


def _clock(seconds: float) -> str:
    """4:59.6 (rounded to a tenth first, so 59.96 s reads 1:00.0, not 0:60.0)."""
    tenths = round(float(seconds) * 10)
    return f"{tenths // 600}:{(tenths % 600) / 10:04.1f}"


def key_change_text(result: dict[str, Any]) -> str:
    """"→ C major at 4:59.6" for each confident key change of the key timeline (the changes
    the CLI's ``analyze`` prints as "changes to C major at 4:59.6", from
    :func:`musicapp.analysis.export.key_changes`), joined by ", "; "" for a one-key track."""
    from musicapp.analysis.export import key_changes

    parts = []
    for c in key_changes(result):
        name = c.get("name") or f"{c.get('tonic')} {c.get('mode')}"
        start = float(c.get("start") or 0.0)
        parts.append(f"starts in {name}" if start <= 0
                     else f"→ {name} at {_clock(start)}")
    return ", ".join(parts)


def summary_line(result: TrackAnalysis | dict | None) -> str:
    """The one-line summary shown when the panels are collapsed: "A minor · 120 BPM · 4/4 ·
    track energy 3/10" (the parts the analysis has; "" when it has none of them). "track"
    tells the whole track's energy from the feel lane's value at the cursor ("energy here")."""
    f = flatten_result(result or {})
    parts = []
    key = f["key"]
    if isinstance(key, dict) and key.get("tonic"):
        from musicapp.analysis.key_report import is_clear

        clear = key.get("confidence") is None or is_clear(key["confidence"])
        parts.append(f"{key['tonic']} {key.get('mode', '')}".strip() if clear else "no clear key")
    elif key and not isinstance(key, dict):
        parts.append(str(key))
    tempo = bpm_text(as_analysis(result or {}).to_dict())
    if tempo:
        parts.append(tempo)
    if f["meter"]:
        parts.append(str(f["meter"]))
    if f["energy"] is not None:
        parts.append(f"track energy {int(f['energy'])}/10")  # the lane shows "energy here"
    return " · ".join(parts)


def device_name(device: str) -> str:
    """How the app names a torch device: "CPU", "CUDA", "CUDA:1", "MPS"."""
    return str(device).upper()

class MoodBars(QWidget):
    """Horizontal bars: each mood tag's percentile against the reference music collection."""

    def __init__(self, parent=None, max_rows: int = 10) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, float]] = []
        self.max_rows = max_rows
        self.rows_shown = 0
        self.empty_text = "No mood analysis yet"
        self.setMinimumHeight(3 * (QFontMetrics(self.font()).height() + 4))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Mood tags ranked by percentile: how strongly this track shows each mood\n"
                        "compared with a reference collection of music (raw model scores in "
                        "brackets)")

    def set_moods(self, moods: Any, empty_text: str = "No mood analysis yet") -> None:
        """Show the mood list (``[{tag, score, percentile}]``); ``empty_text`` when it is empty
        (why there are no moods, e.g. a silent track)."""
        self.rows = mood_rows(moods)[: self.max_rows]
        self.empty_text = empty_text
        self.update()

    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        if not self.rows:
            p.setPen(pal.placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            return
        font = QFont(self.font())
        fm = QFontMetrics(font)
        row_h = fm.height() + 4
        n = self.rows_shown = max(1, min(len(self.rows), self.height() // row_h))
        h = min(24.0, self.height() / n)
        label_w = max(fm.horizontalAdvance(t) for t, _p, _s in self.rows[:n]) + 12
        bar_w = max(10, self.width() - label_w - fm.horizontalAdvance("100%") - 10)
        p.setFont(font)
        for i, (tag, pct, _score) in enumerate(self.rows[:n]):
            y = i * h
            p.setPen(pal.text().color())
            p.drawText(QRectF(4, y, label_w - 8, h), Qt.AlignmentFlag.AlignVCenter
                       | Qt.AlignmentFlag.AlignRight, tag)
            p.fillRect(QRectF(label_w, y + h * 0.2, bar_w, h * 0.6), QColor(255, 255, 255, 18))
            color = QColor(ACCENT) if i < 3 else QColor(ACCENT2)
            p.fillRect(QRectF(label_w, y + h * 0.2, bar_w * max(0.0, min(1.0, pct)), h * 0.6),
                       color)
            p.setPen(pal.placeholderText().color())
            p.drawText(QRectF(label_w + bar_w + 4, y, self.width() - label_w - bar_w - 4, h),
                       Qt.AlignmentFlag.AlignVCenter, percent_text(pct))
        p.end()


class ValenceArousalPlane(pg.PlotWidget):
    """The track's path through its segments on the valence/arousal plane."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(x=False, y=False)
        self.setLabel("bottom", "valence")
        self.setLabel("left", "arousal")
        self.setAspectLocked(False)
        self.setToolTip("Valence (negative → positive) and arousal (calm → energetic) of each "
                        "segment;\nthe line follows the track in time, the large amber dot is "
                        "the whole track")
        self.setMinimumSize(160, 110)
        self.path = pg.PlotDataItem(pen=pg.mkPen((200, 200, 200, 90), width=1))
        self.points = pg.ScatterPlotItem(size=7, pen=None)
        self.track = pg.ScatterPlotItem(size=16, brush=pg.mkBrush(ACCENT), pen=pg.mkPen("w"))
        self.addItem(self.path)
        self.addItem(self.points)
        self.addItem(self.track)
        self.h_line = pg.InfiniteLine(0, angle=0, pen=pg.mkPen((255, 255, 255, 50)))
        self.v_line = pg.InfiniteLine(0, angle=90, pen=pg.mkPen((255, 255, 255, 50)))
        self.addItem(self.h_line)
        self.addItem(self.v_line)
        self._labels = [pg.TextItem(t, color=(170, 170, 170), anchor=a) for t, a in
                        (("tense", (0, 0)), ("happy", (1, 0)), ("sad", (0, 1)), ("calm", (1, 1)))]
        for lab in self._labels:
            self.addItem(lab)
        self.set_range(-1.0, 1.0)
        self.n_points = 0

    def set_range(self, lo: float, hi: float) -> None:
        """Axis range for both coordinates (-1..1 or 0..1 depending on the model's scale)."""
        mid = (lo + hi) / 2
        self.setXRange(lo, hi, padding=0.04)
        self.setYRange(lo, hi, padding=0.04)
        self.h_line.setValue(mid)
        self.v_line.setValue(mid)
        for lab, (x, y) in zip(self._labels, ((lo, hi), (hi, hi), (lo, lo), (hi, lo)),
                               strict=True):
            lab.setPos(x, y)

    def set_data(self, valence, arousal, segments) -> None:
        """Plot the segments' path and the track's overall point."""
        segs = [s for s in (segments or []) if s.get("valence") is not None
                and s.get("arousal") is not None]
        xs = np.array([float(s["valence"]) for s in segs])
        ys = np.array([float(s["arousal"]) for s in segs])
        self.set_range(-1.0, 1.0)  # the tagger's scale: -1..1, neutral at 0
        self.path.setData(xs, ys)
        cmap = pg.colormap.get("viridis")
        brushes = [pg.mkBrush(cmap.map(i / max(len(xs) - 1, 1), mode="qcolor"))
                   for i in range(len(xs))]
        self.points.setData(xs, ys, brush=brushes)
        self.n_points = len(xs)
        if valence is not None and arousal is not None:
            self.track.setData([float(valence)], [float(arousal)])
        else:
            self.track.setData([], [])


class AnalysisPanel(QWidget):
    """Summary (key, tempo, meter, genre, device), mood bars and the valence/arousal plane."""

    #: the user asked to count the tempo at another level ("half" or "double")
    tempo_level = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.result: dict | None = None
        self.flat: dict = {}
        summary = QGroupBox("Track")
        form = QFormLayout(summary)
        self.key_label = QLabel("–")
        self.tempo_label = QLabel("–")
        self.tempo_label.setWordWrap(True)  # a reason ("no steady beat (…)") instead of BPM
        self.key_label.setWordWrap(True)
        # a BPM or a key never breaks across lines ("240.0 / BPM" did at 1024x640)
        fm = self.tempo_label.fontMetrics()
        self.tempo_label.setMinimumWidth(fm.horizontalAdvance("~000.0 BPM") + 6)
        self.key_label.setMinimumWidth(fm.horizontalAdvance("G# minor · >0.99") + 6)
        self.meter_label = QLabel("–")
        self.genre_label = QLabel("–")  # names only; their percentiles in the tooltip
        self.genre_label.setWordWrap(True)
        self.energy_label = QLabel("–")
        self.energy_label.setToolTip("Energy 1-10, as DJs rate it (the track's arousal on a "
                                     "1-10 scale);\nits curve over time is the 'feel' lane "
                                     "under the spectrogram")
        self.device_label = QLabel("–")
        self.errors_label = QLabel("")
        self.errors_label.setObjectName("message")
        self.errors_label.setProperty("level", "error")
        self.errors_label.setWordWrap(True)
        self.errors_label.hide()
        self.status_label = QLabel("")
        self.status_label.setObjectName("message")
        self.status_label.setProperty("level", "info")
        self.status_label.setWordWrap(True)
        self.status_label.hide()
        form.addRow("Key", self.key_label)
        self.half_button = QPushButton("½×")
        self.half_button.setToolTip("Count the tempo at half speed (every other beat)")
        self.double_button = QPushButton("2×")
        self.double_button.setToolTip("Count the tempo at double speed (beats in between)")
        tempo_row = QHBoxLayout()
        tempo_row.setSpacing(4)
        tempo_row.addWidget(self.tempo_label, 1)
        for button, level in ((self.half_button, "half"), (self.double_button, "double")):
            button.setFixedWidth(button.fontMetrics().horizontalAdvance("½×") + 18)
            button.setEnabled(False)
            button.clicked.connect(lambda _c=False, lv=level: self.tempo_level.emit(lv))
            tempo_row.addWidget(button)
        form.addRow("Tempo", tempo_row)
        form.addRow("Meter", self.meter_label)
        form.addRow("Energy", self.energy_label)
        form.addRow("Genre", self.genre_label)
        form.addRow("Computed on", self.device_label)
        form.setVerticalSpacing(2)
        moods = QGroupBox("Moods (percentile)")
        self.mood_bars = MoodBars()
        QVBoxLayout(moods).addWidget(self.mood_bars)
        # the track's values are in the box's title: no line of its own to squeeze the plane
        va = self.va_box = QGroupBox("Valence / arousal")
        va.setToolTip("The whole track's valence and arousal (-1 … +1)")
        self.va_plane = ValenceArousalPlane()
        self.va_values = QLabel("–")  # the same text as the title's values (for reading back)
        va_lay = QVBoxLayout(va)
        va_lay.addWidget(self.va_plane, 1)
        lay = QHBoxLayout()
        lay.addWidget(summary, 2)
        lay.addWidget(moods, 3)
        lay.addWidget(va, 3)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.errors_label)
        outer.addWidget(self.status_label)
        outer.addLayout(lay, 1)

    def clear(self) -> None:
        """Forget the shown analysis."""
        self.set_result({})
        self.result = None

    def set_result(self, result: TrackAnalysis | dict | None) -> None:
        """Show an analysis result (a TrackAnalysis; an empty one clears the panel)."""
        analysis = as_analysis(result)
        self.result = analysis
        f = self.flat = flatten_result(analysis)
        status = status_text(analysis) if result else ""
        self.status_label.setText(status)
        self.status_label.setVisible(bool(status))
        none = "–"  # a silent or too-short track: the status line above says why, once
        # a part the analysis ran but found nothing in says why ("no steady beat (free time
        # or rubato)"), as `musicapp analyze` does: a bare dash under a beat lane full of
        # beats reads as a failure
        key_reason = "" if f["key"] or status else str(f["key_reason"] or "")
        # a key change, as the Harmony tab, the chord lane and `musicapp analyze` tell it
        change = key_change_text(analysis.to_dict()) if f["key"] else ""
        text = key_text(f["key"], f["key_candidates"], f["key_ambiguity"]) if f["key"] else ""
        if change:
            head, nl, rest = text.partition("\n")
            text = f"{head}\n{change}{nl}{rest}"
        self.key_label.setText(text or key_reason or none)
        tip = key_tooltip(f["key"], f["key_candidates"])
        self.key_label.setToolTip(f"No key: {key_reason}" if key_reason
                                  else tip + (f"\nKey change: {change}" if change else ""))
        tempo_reason = "" if f["tempo_bpm"] or status else str(f["tempo_reason"] or "")
        from musicapp.analysis.tempo_choice import LOW_TEMPO_CONFIDENCE, close_level

        music = analysis.music or {}
        close = close_level(music) if f["tempo_bpm"] else None
        conf = music.get("tempo_confidence")
        low = (bool(f["tempo_bpm"]) and isinstance(conf, int | float)
               and not isinstance(conf, bool) and conf < LOW_TEMPO_CONFIDENCE)
        # "~" as in the CLI's analyze and library list (tempo_choice.TEMPO_LEGEND)
        tempo = (f"{'~' if low else ''}{float(f['tempo_bpm']):.1f} BPM" if f["tempo_bpm"]
                 else tempo_reason or none)
        # a coin toss between two levels is shown, not only kept in the JSON; a BPM never
        # wraps ("~120.0 / BPM" did at 1024x640), only a reason ("no steady beat (…)") does
        self.tempo_label.setWordWrap(not f["tempo_bpm"])
        self.tempo_label.setText(tempo + (f"\nor {float(close['bpm']):.1f}?" if close else ""))
        tips = [f"Low tempo confidence ({float(conf):.2f}): the beat is not steady or not "
                "clear, so this figure is a rough one"] if low else []
        if close:
            tips.append(f"{float(close['bpm']):.1f} BPM ({close['relation']} time) fits almost "
                        "as well; the ½× / 2× buttons count it at that level")
        self.tempo_label.setToolTip(f"No tempo: {tempo_reason}" if tempo_reason
                                    else "\n".join(tips))
        for button in (self.half_button, self.double_button):
            button.setEnabled(bool(f["tempo_bpm"]))
            # without a tempo (no steady beat, silence) there is nothing to halve or double
            button.setVisible(bool(f["tempo_bpm"]))
        self.meter_label.setText(str(f["meter"]) if f["meter"] else none)
        self.meter_label.setToolTip("No meter without a steady beat"
                                    if tempo_reason and not f["meter"] else "")
        self.energy_label.setText(f"{int(f['energy'])} / 10" if f["energy"] is not None
                                  else none)
        names = [str(g.get("tag", "?")) for g in (f["genres"] or [])[:3]]
        self.genre_label.setText(", ".join(names) or "–")
        self.genre_label.setToolTip(genre_text(f["genres"]) if names else "")
        self.device_label.setText(device_name(f["device"]) if f["device"] else "–")
        why = (analysis.tags or {}).get("moods_status") or analysis.status
        self.mood_bars.set_moods(f["moods"], f"{str(why).capitalize()}: no moods"
                                 if status else "No moods in this analysis")
        self.va_plane.set_data(f["valence"], f["arousal"], f["segments"])
        self.va_values.setText(
            f"valence {signed(float(f['valence']))}, arousal {signed(float(f['arousal']))}"
            if f["valence"] is not None and f["arousal"] is not None else none)
        self.va_box.setTitle(f"Valence {signed(float(f['valence']))} · arousal "
                             f"{signed(float(f['arousal']))}"
                             if f["valence"] is not None and f["arousal"] is not None
                             else "Valence / arousal")
        if f["errors"]:
            self.errors_label.setText("\n".join(f["errors"]))
            self.errors_label.show()
        else:
            self.errors_label.hide()


def export_json(result: TrackAnalysis | dict, path: str | Path) -> Path:
    """Write the whole analysis as JSON (its flat form, as ``musicapp analyze --json``); the
    file gets the mode a plain ``open()`` gives (the user's umask)."""
    path = Path(path)
    path.write_text(json.dumps(as_analysis(result).to_dict(), indent=2, default=str),
                    encoding="utf-8")
    return path


def export_csv(result: TrackAnalysis | dict, path: str | Path) -> Path:
    """Write the time-based parts (chords, beats, segments) as rows kind,start,end,label,value."""
    f = flatten_result(result)
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "start", "end", "label", "value"])
        for k in ("key", "tempo_bpm", "meter", "valence", "arousal"):
            if f[k] is not None:
                w.writerow(["summary", "", "", k, key_text(f[k]) if k == "key" else f[k]])
        for tag, pct, _score in mood_rows(f["moods"]):
            w.writerow(["mood", "", "", tag, f"{pct:.4f}"])
        for ch in f["chords"] or []:
            w.writerow(["chord", f"{float(ch['start']):.3f}", f"{float(ch['end']):.3f}",
                        ch.get("label", ""), ""])
        downs = {round(float(d), 3) for d in (f["downbeats"] or [])}
        for b in f["beats"] or []:
            w.writerow(["beat", f"{float(b):.3f}", "", "downbeat" if round(float(b), 3) in downs
                        else "beat", ""])
        for s in f["segments"] or []:
            top = mood_rows(s.get("moods"))
            w.writerow(["segment", f"{float(s['start']):.3f}", f"{float(s['end']):.3f}",
                        top[0][0] if top else "",
                        f"valence={s.get('valence')};arousal={s.get('arousal')}"])
    return path
