"""Composer panel: chord progressions that fit an emotion, with lock/regenerate, preview, MIDI.

The emotion comes from the analysed track, a named mood, a point on a valence/arousal pad, or a
picture. Key and mode default to the track's. Each chord is a block that can be locked (kept
when generating again) or regenerated alone. The MIDI can be exported, or dragged out of the app
into a DAW or file manager (a QDrag carrying a file URL).

The current idea (progression, locks, settings, arrangement) is saved to the user data folder
whenever it changes and on close, and restored on the next start
(:mod:`musicapp.compose.saved_idea`); "New" starts over, keeping the old idea in
``composer/previous/``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QMimeData, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDrag, QFontMetrics, QImageReader, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from musicapp.compose.conditioning import STYLE_NAMES
from musicapp.compose.saved_idea import (
    IdeaFile,
    SavedIdea,
    SavedIdeaError,
    arrangement_to_dict,
    progression_from_dict,
    progression_to_dict,
    saved_time_text,
)
from musicapp.errors import MusicappError
from musicapp.gui.composer_backend import (
    INSTRUMENTS,
    MODES,
    PATTERN_NAMES,
    TONICS,
    ComposeSession,
    EmotionChoice,
    mood_names,
    resolve_emotion,
    track_key,
)
from musicapp.gui.labels import WrapLabel
from musicapp.gui.pianoroll import PianoRoll
from musicapp.gui.theme import ACCENT
from musicapp.wording import signed

log = logging.getLogger(__name__)

SOURCES = (("track", "This track"), ("mood", "A mood"), ("pad", "Valence/arousal pad"),
           ("picture", "A picture"))


#: widest a chord card grows before its text is elided (with the full text as tooltip)
CARD_MAX_WIDTH = 240


def percent_text(p: float) -> str:
    """"23%", "<1%" (never a misleading "0%")."""
    return "<1%" if p < 0.01 else f"{p:.0%}"


def alternative_text(alt) -> str:
    """Menu text of an alternative: "F (VI)" and, right-aligned after the tab, "9%"."""
    return f"{alt.name}  ({alt.roman})\t{percent_text(alt.probability)}"


def beats_text(beats: float, meter=None) -> str:
    """A chord's length as musicians count it in ``meter`` (:func:`musicapp.compose.rhythm.
    length_text`: "1 bar", "2 beats"; in 6/8 half a bar is "1 beat", a dotted quarter); without
    a meter, quarter-note beats ("1 beat", "1.5 beats")."""
    if meter is not None:
        from musicapp.compose.rhythm import length_text

        return length_text(beats, meter)
    return f"{float(beats):g} beat" + ("" if float(beats) == 1 else "s")


class FitLabel(QLabel):
    """A label whose characters are never cut: it asks for the width its text needs; only
    beyond ``max_width`` is the text elided ("…"), and then the full text is its tooltip."""

    def __init__(self, text: str = "", max_width: int = CARD_MAX_WIDTH - 20,
                 parent=None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.max_width = int(max_width)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        """Show ``text`` whole when it fits in ``max_width``, elided with a tooltip otherwise."""
        self.full_text = str(text)
        fm = QFontMetrics(self.font())
        need = fm.horizontalAdvance(self.full_text) + 2 * self.margin() + 4
        if need <= self.max_width:
            self.setText(self.full_text)
            self.setToolTip("")
            self.setMinimumWidth(need)
        else:
            self.setText(fm.elidedText(self.full_text, Qt.TextElideMode.ElideRight,
                                       self.max_width - 4))
            self.setToolTip(self.full_text)
            self.setMinimumWidth(self.max_width)

    def changeEvent(self, ev) -> None:  # noqa: N802
        super().changeEvent(ev)
        if ev.type() == QEvent.Type.FontChange:
            self.set_full_text(self.full_text)


class VAPad(pg.PlotWidget):
    """Click to choose a point on the valence/arousal plane (labelled quadrants, values)."""

    changed = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFixedSize(200, 140)
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setXRange(-1, 1, padding=0.02)
        self.setYRange(-1, 1, padding=0.02)
        self.getPlotItem().getAxis("bottom").setStyle(showValues=False)
        self.getPlotItem().getAxis("left").setStyle(showValues=False)
        self.setLabel("bottom", "valence →")
        self.setLabel("left", "arousal →")
        self.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen((255, 255, 255, 40))))
        self.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((255, 255, 255, 40))))
        self.quadrants = {}
        for text, x, y, anchor in (("tense", -1, 1, (0, 0)), ("happy", 1, 1, (1, 0)),
                                   ("sad", -1, -1, (0, 1)), ("calm", 1, -1, (1, 1))):
            item = pg.TextItem(text, color=(175, 180, 190), anchor=anchor)
            item.setPos(x, y)
            self.addItem(item)
            self.quadrants[text] = item
        self.dot = pg.ScatterPlotItem([0.5], [0.3], size=12, brush=pg.mkBrush(ACCENT))
        self.addItem(self.dot)
        self.value = (0.5, 0.3)
        self.setToolTip("Click to choose how positive (right) and energetic (up) the chords feel")
        self.scene().sigMouseClicked.connect(self._clicked)

    def value_text(self) -> str:
        """"valence +0.50 · arousal +0.30"."""
        return f"valence {signed(self.value[0])} · arousal {signed(self.value[1])}"

    def set_value(self, valence: float, arousal: float) -> None:
        """Move the point."""
        self.value = (max(-1.0, min(1.0, valence)), max(-1.0, min(1.0, arousal)))
        self.dot.setData([self.value[0]], [self.value[1]])
        self.changed.emit(*self.value)

    def _clicked(self, ev) -> None:
        vb = self.getPlotItem().getViewBox()
        if vb.sceneBoundingRect().contains(ev.scenePos()):
            p = vb.mapSceneToView(ev.scenePos())
            self.set_value(float(p.x()), float(p.y()))


#: the tempo's unit, as the CLI's --tempo and the MIDI file count it
TEMPO_TIP = ("Tempo of the preview and the MIDI file in quarter notes a minute, as a DAW's "
             "tempo field counts it (in 6/8 the felt dotted-quarter beat is 2/3 of it)")


class ChordBlock(QFrame):
    """One chord: name, Roman numeral and length, lock, regenerate and alternatives buttons.
    Every text is shown whole (the card is as wide as its texts need); click the card to select
    it; right-click it (or press the menu key on it) for its alternatives."""

    lock_toggled = Signal(int, bool)
    regenerate = Signal(int)
    selected = Signal(int)
    #: the user asked for the ranked alternatives of this chord
    alternatives_requested = Signal(int)

    def __init__(self, index: int, name: str, roman: str, beats: float, locked: bool,
                 parent=None, meter=None) -> None:
        super().__init__(parent)
        self.index = index
        self.is_selected = False
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMaximumWidth(CARD_MAX_WIDTH)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.name = FitLabel(name)
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.name.setFont(font)
        length = beats_text(beats, meter)
        self.roman = FitLabel(f"{roman}  ·  {length}")
        unit = ""
        if meter is not None:
            from musicapp.compose.rhythm import beat_unit_text

            unit = f" (beat = {beat_unit_text(meter)})"
        self.roman.setToolTip(self.roman.toolTip() or f"{roman}: {length}{unit}")
        self.lock = QPushButton("Locked")
        self.lock.setMinimumWidth(self.lock.sizeHint().width())  # room for the longer text
        self.lock.setText("Locked" if locked else "Lock")
        self.lock.setCheckable(True)
        self.lock.setChecked(locked)
        self.lock.setToolTip("Keep this chord when generating again")
        self.lock.toggled.connect(self._toggled)
        self.regen = QPushButton("↻")
        self.regen.setToolTip("Regenerate only this chord")
        self.regen.setFixedWidth(max(30, self.regen.sizeHint().height()))
        self.regen.setEnabled(not locked)
        self.regen.clicked.connect(lambda: self.regenerate.emit(self.index))
        self.alts = QPushButton("▾")
        self.alts.setToolTip("Alternatives: the five most likely other chords here, with their "
                             "probabilities (also: right-click the card, or the menu key, "
                             "Shift+F10 or Alt+Down on it)")
        self.alts.setAccessibleName("Alternatives for this chord")
        self.alts.setFixedWidth(self.regen.minimumWidth())
        self.alts.setEnabled(not locked)
        self.alts.clicked.connect(lambda: self.alternatives_requested.emit(self.index))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(lambda _pos: self.request_alternatives())
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.lock)
        buttons.addWidget(self.regen)
        buttons.addWidget(self.alts)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(2)
        lay.addWidget(self.name)
        lay.addWidget(self.roman)
        lay.addLayout(buttons)
        self.set_locked_look(locked)

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        """The menu key, Shift+F10 or Alt+Down on the card (or any of its buttons, which pass
        these keys on) asks for the alternatives."""
        mods = ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if (ev.key() == Qt.Key.Key_Menu
                or (ev.key() == Qt.Key.Key_F10 and mods == Qt.KeyboardModifier.ShiftModifier)
                or (ev.key() == Qt.Key.Key_Down and mods == Qt.KeyboardModifier.AltModifier)):
            self.request_alternatives()
            ev.accept()
            return
        super().keyPressEvent(ev)

    def request_alternatives(self) -> None:
        """Ask for this chord's alternatives (not while it is locked or the panel is busy)."""
        if self.alts.isEnabled():
            self.alternatives_requested.emit(self.index)

    def set_locked_look(self, locked: bool) -> None:
        """Amber border and disabled regenerate/alternatives buttons while locked."""
        self.lock.setText("Locked" if locked else "Lock")
        self.regen.setEnabled(not locked)
        self.alts.setEnabled(not locked)
        self._restyle()

    def set_selected(self, on: bool) -> None:
        """Mark this card as the one shown on the keyboard."""
        self.is_selected = bool(on)
        self._restyle()

    def _restyle(self) -> None:
        border = ACCENT if self.lock.isChecked() else "#3b4250"
        background = "#323a48" if self.is_selected else "#252a33"
        self.setStyleSheet(f"ChordBlock {{ border: 2px solid {border}; border-radius: 6px; "
                           f"background: {background}; }}")

    def mousePressEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            self.selected.emit(self.index)
        super().mousePressEvent(ev)

    def _toggled(self, on: bool) -> None:
        self.set_locked_look(on)
        self.lock_toggled.emit(self.index, on)


class MidiDragLabel(QLabel):
    """Drag this to a DAW or file manager to drop the progression's MIDI file there."""

    def __init__(self, make_file: Callable[[], Path | None], parent=None) -> None:
        super().__init__("⇲ Drag MIDI", parent)
        self.make_file = make_file
        self.setToolTip("Drag into your DAW or a folder to drop the MIDI file there")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"QLabel {{ border: 1px dashed {ACCENT}; padding: 4px 10px; "
                           f"border-radius: 3px; }}")
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self._press: QPoint | None = None
        self.last_mime: QMimeData | None = None

    def mime_data(self) -> QMimeData | None:
        """The drag payload: the MIDI file as a URL (written on demand)."""
        path = self.make_file()
        if path is None:
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        mime.setText(str(path))
        self.last_mime = mime
        return mime

    def mousePressEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            self._press = ev.position().toPoint()

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        if self._press is None or not (ev.buttons() & Qt.MouseButton.LeftButton):
            return
        if (ev.position().toPoint() - self._press).manhattanLength() < 6:
            return
        self._press = None
        mime = self.mime_data()
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction)


class ComposerPanel(QWidget):
    """The composer tab."""

    message = Signal(str)
    #: the progression shown changed (list of chord names)
    progression_changed = Signal(object)
    #: a MIDI file was written (path)
    midi_exported = Signal(str)
    #: the preview was rendered and started (samples, rate)
    preview_ready = Signal(object, int)
    #: the ranked alternatives of a chord are shown in a menu (position, [Alternative])
    alternatives_ready = Signal(int, object)

    #: how long a settings change waits before the idea is saved (a spin box held down writes
    #: once); a new progression or lock is saved at once, and close saves what is pending
    SAVE_DELAY_MS = 400

    def __init__(self, runner, context: Callable[[], dict] | None = None, settings=None,
                 parent=None, idea_file: IdeaFile | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.context = context or (lambda: {})
        self.settings = settings
        self.session = ComposeSession()
        self.busy = False
        self.player = None
        self.picture: str | None = None
        self.blocks: list[ChordBlock] = []
        self.arrangement = None
        #: the alternatives menu last shown (None before the first) and what it offered
        self.alt_menu: QMenu | None = None
        self.alternatives_shown: tuple[int, list] | None = None
        #: the saved idea (see musicapp.compose.saved_idea); nothing is saved while restoring
        self.idea_file = idea_file if idea_file is not None else IdeaFile()
        self._restoring = False
        self._dirty = False
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(self.SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_idea)
        self._build()
        self._set_enabled()
        for sig in (self.source.currentIndexChanged, self.mood.currentIndexChanged,
                    self.pad.changed, self.tonic.currentIndexChanged,
                    self.mode.currentIndexChanged, self.style_choice.currentIndexChanged,
                    self.length.valueChanged,
                    self.temperature.valueChanged, self.tempo.valueChanged,
                    self.pattern.currentIndexChanged, self.instrument.currentIndexChanged):
            sig.connect(lambda *_: self._idea_changed())
        self.restore_idea()

    # ------------------------------------------------------------------ UI
    def _build(self) -> None:
        self.source = QComboBox()
        for key, text in SOURCES:
            self.source.addItem(text, key)
        self.source.setToolTip("Where the emotion of the progression comes from")
        self.stack = QStackedWidget()
        self.track_info = QLabel("Analyse a track to use its mood.")
        self.track_info.setWordWrap(True)
        self.mood = QComboBox()
        self.mood.addItems(mood_names())
        self.mood.setToolTip("A named mood")
        self.mood.setMaxVisibleItems(12)
        self.pad = VAPad()
        self.pad_values = QLabel(self.pad.value_text())
        self.pad.changed.connect(lambda *_: self.pad_values.setText(self.pad.value_text()))
        self.pick_picture = QPushButton("Choose picture…")
        self.pick_picture.setToolTip("The colours of a picture set the mood "
                                     "(brightness and saturation)")
        self.pick_picture.clicked.connect(self._choose_picture)
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(120, 80)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("QLabel { border: 1px solid #3b4250; }")
        self.picture_label = FitLabel("no picture", max_width=200)
        # each page keeps its widgets at their natural height (no stretched drop-down)
        for widgets in ((self.track_info,), (self.mood,), (self.pad, self.pad_values),
                        (self.pick_picture, self.thumbnail, self.picture_label)):
            page = QWidget()
            page_lay = QVBoxLayout(page)
            page_lay.setContentsMargins(0, 0, 0, 0)
            page_lay.setSpacing(2)
            for w in widgets:
                page_lay.addWidget(w)
            page_lay.addStretch(1)
            self.stack.addWidget(page)
        self.source.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.source.setCurrentIndex(1)

        self.tonic = QComboBox()
        self.tonic.addItems(list(TONICS))
        self.tonic.setToolTip("Key of the progression (defaults to the analysed track's key)")
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.style_choice = QComboBox()
        self.style_choice.addItem("Any style", None)
        for key, text in STYLE_NAMES.items():
            self.style_choice.addItem(text[0].upper() + text[1:], key)
        self.style_choice.setToolTip("The style the chord model leans towards (Any: a mix of "
                                     "all it learned); Jazz reads chords as sevenths")
        self.length = QSpinBox()
        self.length.setRange(2, 16)
        self.length.setValue(8)
        self.length.setToolTip("Number of chords in the loop")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(1.0)
        self.temperature.setToolTip("Low: safe, common progressions. High: more surprising.")
        self.tempo = QSpinBox()
        self.tempo.setRange(39, 220)
        self.tempo.setSpecialValueText("auto")
        self.tempo.setValue(39)
        self.tempo.setSuffix(" BPM")
        self.tempo.setToolTip(TEMPO_TIP + " (auto: from the arousal)")
        self.pattern = QComboBox()
        self.pattern.addItem("auto", None)
        for key, text in PATTERN_NAMES.items():
            self.pattern.addItem(text, key)
        self.pattern.setToolTip("Rhythm of the chord track (auto: from the arousal)")
        self.instrument = QComboBox()
        for name, program in INSTRUMENTS:
            self.instrument.addItem(name, program)
        self.instrument.setToolTip("Instrument of the chord track (General MIDI); Auto: a "
                                   "steel guitar for Strum, else the electric piano")
        for w in (self.tempo, self.pattern, self.instrument):
            (w.valueChanged if isinstance(w, QSpinBox) else w.currentIndexChanged).connect(
                self._arrangement_changed)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate a progression (Ctrl+G); locked chords stay")
        self.generate_button.clicked.connect(self.generate)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Start a new idea: clear the chords and locks (the last idea "
                                   "is kept in the data folder's composer/previous)")
        self.new_button.clicked.connect(self.clear_idea)
        QShortcut(QKeySequence("Ctrl+G"), self, activated=self.generate,
                  context=Qt.ShortcutContext.WindowShortcut)

        emotion = QVBoxLayout()
        emotion.setSpacing(3)
        emotion.addWidget(QLabel("Emotion from"))
        emotion.addWidget(self.source)
        emotion.addWidget(self.stack, 1)
        form = QGridLayout()
        form.setVerticalSpacing(3)
        rows = (("Key", self.tonic, self.mode), ("Style", self.style_choice, None),
                ("Chords", self.length, None),
                ("Surprise", self.temperature, None), ("Tempo", self.tempo, None),
                ("Pattern", self.pattern, None), ("Sound", self.instrument, None))
        for r, (label, a, b) in enumerate(rows):
            form.addWidget(QLabel(label), r, 0)
            if b is None:
                form.addWidget(a, r, 1, 1, 2)
            else:
                form.addWidget(a, r, 1)
                form.addWidget(b, r, 2)
        form.addWidget(self.generate_button, len(rows), 0, 1, 2)
        form.addWidget(self.new_button, len(rows), 2)
        form.setRowStretch(len(rows) + 1, 1)
        controls = QWidget()
        controls_lay = QHBoxLayout(controls)
        controls_lay.setContentsMargins(0, 0, 0, 0)
        controls_lay.addLayout(emotion)
        controls_lay.addLayout(form)
        left = QScrollArea()  # never clipped: scrolls when the panel is very short
        left.setWidget(controls)
        left.setWidgetResizable(True)
        left.setFrameShape(QFrame.Shape.NoFrame)
        left.setMinimumWidth(controls.sizeHint().width() + 16)
        left.setMaximumWidth(controls.sizeHint().width() + 24)
        left.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.row = QWidget()
        self.row_layout = QHBoxLayout(self.row)
        self.row_layout.setContentsMargins(2, 2, 2, 2)
        self.row_layout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.cards = QScrollArea()
        self.cards.setWidgetResizable(True)
        self.cards.setWidget(self.row)
        self.cards.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        probe = ChordBlock(0, "C", "I", 4, False)
        self.cards.setFixedHeight(probe.sizeHint().height() + 8
                                  + self.cards.horizontalScrollBar().sizeHint().height())
        probe.deleteLater()
        self.roll = PianoRoll()
        # whole texts, wrapped in a small window (1024 px: about 300 px for them), never "…"
        self.roll_info = WrapLabel("")
        self.info = WrapLabel("")
        self.play_button = QPushButton("▶ Preview")
        self.play_button.setToolTip("Render the arrangement with the GM soundfont and play it")
        self.play_button.clicked.connect(self.toggle_preview)
        self.export_button = QPushButton("Export MIDI…")
        self.export_button.setToolTip("Save chords, bass and melody as a MIDI file")
        self.export_button.clicked.connect(self.export_dialog)
        self.drag = MidiDragLabel(self._drag_file)
        # the two text lines and the buttons share one row under the roll: in a 640-px-high
        # window the cards, the roll and this row all fit without overlapping
        texts = QVBoxLayout()
        texts.setSpacing(1)
        texts.addWidget(self.roll_info)
        texts.addWidget(self.info)
        bottom = QHBoxLayout()
        bottom.setSpacing(4)
        bottom.addLayout(texts, 1)
        for w in (self.play_button, self.export_button, self.drag):
            bottom.addWidget(w, 0, Qt.AlignmentFlag.AlignVCenter)
        right = QVBoxLayout()
        right.setSpacing(3)
        right.addWidget(self.cards)
        right.addWidget(self.roll, 1)
        right.addLayout(bottom)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(left)
        lay.addLayout(right, 1)
        self.selected_index = -1

    def _set_enabled(self) -> None:
        has = self.session.progression is not None
        for w in (self.generate_button, self.source, self.tonic, self.mode, self.style_choice,
                  self.length, self.temperature, self.tempo, self.pattern, self.instrument):
            w.setEnabled(not self.busy)
        self.new_button.setEnabled(has and not self.busy)
        for w in (self.play_button, self.export_button, self.drag):
            w.setEnabled(has and not self.busy)
        for b in self.blocks:
            b.regen.setEnabled(not self.busy and not b.lock.isChecked())
            b.alts.setEnabled(not self.busy and not b.lock.isChecked())

    # ------------------------------------------------------------------ context from the window
    def track_changed(self) -> None:
        """A new track was opened: its analysis is not known yet."""
        self.track_info.setText("Analyse this track to use its mood.")

    def analysis_changed(self, flat: dict) -> None:
        """An analysis arrived: offer its emotion and default the key to the track's."""
        key = track_key(flat)
        if key is not None:
            self.tonic.setCurrentText(key[0])
            self.mode.setCurrentText(key[1])
        try:
            emo = resolve_emotion(EmotionChoice("track", analysis=flat))
        except Exception as exc:
            self.track_info.setText(f"This track's mood is unknown: {exc}")
            return
        if emo is not None:
            key_txt = f", key {key[0]} {key[1]}" if key else ""
            self.track_info.setText(f"This track: valence {signed(emo.valence)}, arousal "
                                    f"{signed(emo.arousal)}{key_txt}")
            self.source.setCurrentIndex(0)

    def _choose_picture(self) -> None:
        start = self.settings.last_dir("picture") if self.settings else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a picture", start,
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp)")
        if path:
            self.set_picture(path)

    def set_picture(self, path: str) -> bool:
        """Use ``path`` as the picture emotion source (a thumbnail shows it). A picture that is
        not readable or larger than the composer's limit (the same check as ``musicapp chords
        --from-image``, read from the header only) is refused with a message; False then."""
        from musicapp.compose.emotion import check_image_size

        try:
            check_image_size(path)
        except MusicappError as exc:
            self.picture = None
            self.picture_label.set_full_text("no picture")
            self.thumbnail.clear()
            self.info.set_full_text(f"Picture refused: {exc}")
            self.message.emit(f"Composer: {exc}")
            return False
        self.picture = path
        self.picture_label.set_full_text(Path(path).name)
        reader = QImageReader(path)
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid():  # decode only at thumbnail size (JPEG decodes scaled)
            reader.setScaledSize(size.scaled(self.thumbnail.size(),
                                             Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if image.isNull():
            self.thumbnail.setText("(no preview)")
        else:
            self.thumbnail.setPixmap(QPixmap.fromImage(image))
        if self.settings:
            self.settings.set_last_dir("picture", path)
        self._idea_changed()
        return True

    def emotion_choice(self) -> EmotionChoice:
        """The current emotion-source settings."""
        ctx = self.context() or {}
        v, a = self.pad.value
        return EmotionChoice(self.source.currentData(), mood=self.mood.currentText(),
                             valence=v, arousal=a, picture=self.picture,
                             analysis=ctx.get("analysis"))

    # ------------------------------------------------------------------ actions
    def _start(self, fn, *args, on_finished, label: str) -> None:
        self.busy = True
        self._set_enabled()
        self.info.set_full_text(label)
        self.runner.start(fn, *args, name="compose", on_finished=on_finished,
                          on_failed=self._failed)

    def _failed(self, msg: str) -> None:
        self.busy = False
        self._set_enabled()
        self.info.set_full_text(f"Composer: {msg}")
        self.message.emit(f"Composer: {msg}")

    def generate(self) -> None:
        """Generate a progression in a worker."""
        if self.busy:
            return
        choice = self.emotion_choice()
        tonic, mode = self.tonic.currentText(), self.mode.currentText()
        length, temp = self.length.value(), self.temperature.value()
        style = self.style_choice.currentData()
        session = self.session

        def work(ctx):
            ctx.progress(0.1, "loading the chord model")
            emo = resolve_emotion(choice)
            return session.generate(emo, tonic, mode, length, temp, style=style), emo

        self._start(work, on_finished=self._generated, label="Generating…")

    def _generated(self, out) -> None:
        prog, emo = out
        self.busy = False
        self.info.set_full_text(
            # no-break spaces keep "valence -0.69" whole when the line wraps
            f"{prog.key.name} · from {emo.source} · valence\u00a0{signed(emo.valence)}, "
            f"arousal\u00a0{signed(emo.arousal)}",
            tip=f"Key {prog.key.name}; the emotion comes from {emo.source}: valence "
                f"{signed(emo.valence)} (-1 unpleasant … +1 pleasant), arousal {signed(emo.arousal)} "
                "(-1 calm … +1 excited)")
        self._show(prog)

    def regenerate(self, index: int) -> None:
        """Regenerate one chord in a worker."""
        if self.busy or self.session.progression is None:
            return
        session = self.session
        self._start(lambda ctx: session.regenerate(index), on_finished=self._regenerated,
                    label=f"Regenerating chord {index + 1}…")

    def _regenerated(self, prog) -> None:
        self.busy = False
        self.info.set_full_text(f"{prog.key.name}")
        self._show(prog)

    def show_alternatives(self, index: int) -> None:
        """Rank the other chords for position ``index`` (in a worker) and offer them in a menu
        under the card; choosing one replaces the chord and keeps every duration."""
        if self.busy or self.session.progression is None:
            return
        session = self.session
        self._start(lambda ctx: (index, session.alternatives(index)),
                    on_finished=self._alternatives_found,
                    label=f"Finding alternatives for chord {index + 1}…")

    def _alternatives_found(self, out) -> None:
        index, (alts, current_p) = out
        self.busy = False
        self._set_enabled()
        prog = self.session.progression
        if not 0 <= index < len(self.blocks) or prog is None:
            return
        current = f"{prog.names[index]} ({prog.romans[index]})"
        self.info.set_full_text(f"Chord {index + 1}: {len(alts)} alternatives to {current}")
        if self.alt_menu is not None:
            self.alt_menu.close()
            self.alt_menu.deleteLater()
        menu = self.alt_menu = QMenu(self)
        menu.setToolTipsVisible(True)
        # the chord that is there was sampled: its own probability says how it compares
        own = f", itself {percent_text(current_p)}" if current_p is not None else ""
        head = menu.addAction(f"Instead of {current}{own}:")
        head.setEnabled(False)
        for alt in alts:
            action = menu.addAction(alternative_text(alt))
            action.setToolTip(f"{alt.name} ({alt.roman}): probability {alt.probability:.1%} "
                              "given the rest of the loop; the durations stay")
            action.triggered.connect(lambda _c=False, a=alt: self.choose_alternative(index, a))
        if not alts:
            menu.addAction("No other chord fits here").setEnabled(False)
        menu.addSeparator()
        regen = menu.addAction("↻ Regenerate this chord")
        regen.triggered.connect(lambda _c=False: self.regenerate(index))
        self.alternatives_shown = (index, list(alts))
        block = self.blocks[index]
        menu.popup(block.mapToGlobal(QPoint(0, block.height())))
        if alts:
            menu.setActiveAction(menu.actions()[1])  # arrows and Enter work at once
        self.alternatives_ready.emit(index, list(alts))

    def choose_alternative(self, index: int, alternative) -> None:
        """Put ``alternative`` (an :class:`musicapp.compose.generate.Alternative`) at
        ``index``; every chord keeps its duration."""
        if self.busy or self.session.progression is None:
            return
        prog = self.session.progression
        before = f"{prog.names[index]} ({prog.romans[index]})"
        try:
            prog = self.session.replace_chord(index, alternative.token)
        except Exception as exc:
            from musicapp.gui.workers import describe_error

            self._failed(describe_error(exc))
            return
        self._show(prog)
        self.info.set_full_text(f"Chord {index + 1}: {before} → {prog.names[index]} "
                                f"({prog.romans[index]}, {percent_text(alternative.probability)})")

    def set_locked(self, index: int, on: bool) -> None:
        """Lock or unlock chord ``index``."""
        if on:
            self.session.locked.add(index)
        else:
            self.session.locked.discard(index)
        self._idea_changed(now=True)

    def _clear_blocks(self) -> None:
        """Remove the chord blocks shown (and the alternatives menu, which was for them)."""
        if self.alt_menu is not None:
            self.alt_menu.close()
        for b in self.blocks:
            self.row_layout.removeWidget(b)
            b.hide()
            b.deleteLater()
        self.blocks = []

    def _show(self, prog) -> None:
        self._clear_blocks()
        for i, (name, roman, beats) in enumerate(zip(prog.names, prog.romans, prog.beats,
                                                     strict=True)):
            block = ChordBlock(i, name, roman, beats, i in self.session.locked,
                               meter=prog.meter)
            block.lock_toggled.connect(self.set_locked)
            block.regenerate.connect(self.regenerate)
            block.alternatives_requested.connect(self.show_alternatives)
            block.selected.connect(self.select)
            self.row_layout.addWidget(block)
            self.blocks.append(block)
        self._set_enabled()
        self._arrangement_changed()
        self._idea_changed(now=True)
        self.progression_changed.emit(list(prog.names))

    def _arrangement_changed(self, *_args) -> None:
        """Tempo, pattern or instrument changed, or a new progression: redraw the roll."""
        s = self.session
        s.tempo_bpm = None if self.tempo.value() == self.tempo.minimum() else \
            float(self.tempo.value())
        s.pattern = self.pattern.currentData()
        s.chord_program = self.instrument.currentData()
        arr = None
        if s.progression is not None:
            try:
                arr = s.arrangement()
            except Exception as exc:  # shown, not fatal: the chords are still there
                from musicapp.gui.workers import describe_error

                self.info.set_full_text(f"Cannot arrange: {describe_error(exc)}")
        self.arrangement = arr
        self.roll.set_arrangement(arr)
        if arr is not None and self.tempo.value() == self.tempo.minimum():
            self.tempo.setToolTip(f"{TEMPO_TIP} (auto: {arr.tempo_bpm:.0f} BPM from the arousal)")
        self.select(self.selected_index if 0 <= self.selected_index < len(self.blocks) else -1)

    def select(self, index: int) -> None:
        """Show chord ``index`` on the keyboard (-1: the whole loop)."""
        self.selected_index = int(index)
        for b in self.blocks:
            b.set_selected(b.index == index)
        self.roll.select(index)
        tip = ""
        if 0 <= index < len(self.blocks):
            text = f"{self.blocks[index].name.full_text}: {self.roll.describe(index)}"
        elif self.blocks:
            text = "Whole loop · click a chord for its notes"
            tip = "Whole loop: click a chord to see its voicing, bass and melody on the keyboard"
        else:
            text = ""
        self.roll_info.set_full_text(text, tip=tip)

    @property
    def chord_names(self) -> list[str]:
        """Names of the chords shown."""
        return [b.name.full_text for b in self.blocks]

    def export_dialog(self) -> None:
        """Ask where to save the MIDI file."""
        if self.session.progression is None:
            return
        start = self.settings.last_dir("midi") if self.settings else str(Path.home())
        p = self.session.progression
        name = f"{p.key.tonic}{'m' if p.key.mode == 'minor' else ''}-progression.mid"
        path, _ = QFileDialog.getSaveFileName(self, "Export MIDI", str(Path(start) / name),
                                              "MIDI (*.mid)")
        if path:
            self.export_midi(path)

    def export_midi(self, path: str) -> Path | None:
        """Write the MIDI file now (small: done in the GUI thread); errors go to the banner."""
        try:
            out = self.session.export_midi(path)
        except Exception as exc:
            from musicapp.gui.workers import describe_error

            self._failed(describe_error(exc))
            return None
        if self.settings:
            self.settings.set_last_dir("midi", str(out))
        self.info.set_full_text(f"Saved {out}")
        self.midi_exported.emit(str(out))
        return out

    def _drag_file(self) -> Path | None:
        if self.session.progression is None:
            return None
        try:
            return self.session.drag_file()
        except Exception as exc:
            from musicapp.gui.workers import describe_error

            self._failed(describe_error(exc))
            return None

    def toggle_preview(self) -> None:
        """Render (worker) and play the arrangement, or stop playing."""
        if self.player is not None and self.player.playing:
            self.stop_preview()
            return
        if self.session.progression is None or self.busy:
            return
        session = self.session
        self._start(lambda ctx: session.render_preview(), on_finished=self._play,
                    label="Rendering the preview…")

    def _play(self, out) -> None:
        samples, rate = out
        self.busy = False
        self._set_enabled()
        self.info.set_full_text(f"Preview: {samples.shape[-1] / rate:.1f} s")
        self.preview_ready.emit(samples, rate)
        try:
            from musicapp.audio.player import Player

            self.stop_preview()
            self.player = Player(samples, rate)
            self.player.play()
            self.play_button.setText("■ Stop preview")
        except Exception as exc:
            from musicapp.gui.workers import describe_error

            self.player = None
            self.message.emit(f"Cannot play the preview: {describe_error(exc)}")

    def stop_preview(self) -> None:
        """Stop the preview."""
        if self.player is not None:
            try:
                self.player.stop()
            finally:
                self.player = None
        self.play_button.setText("▶ Preview")

    def shutdown(self) -> None:
        """Release the output device and save the idea (the window's close, also when a signal
        closed it)."""
        self.stop_preview()
        if self._dirty or self._save_timer.isActive() or self.session.progression is not None:
            self.save_idea(durable=True)

    # ------------------------------------------------------------------ the saved idea
    def current_idea(self) -> SavedIdea:
        """What the composer holds now, as plain data."""
        s, prog = self.session, self.session.progression
        v, a = self.pad.value
        settings = {
            "source": self.source.currentData(), "mood": self.mood.currentText(),
            "pad": [float(v), float(a)], "picture": self.picture,
            "tonic": self.tonic.currentText(), "mode": self.mode.currentText(),
            "length": int(self.length.value()), "temperature": float(self.temperature.value()),
            "tempo_bpm": None if self.tempo.value() == self.tempo.minimum()
            else float(self.tempo.value()),
            "pattern": self.pattern.currentData(), "chord_program": self.instrument.currentData(),
            "style": self.style_choice.currentData(), "seed": int(s.seed),
        }
        return SavedIdea(
            progression=progression_to_dict(prog) if prog is not None else None,
            locked=sorted(i for i in s.locked if prog is not None and i < len(prog.tokens)),
            settings=settings,
            arrangement=arrangement_to_dict(self.arrangement) if self.arrangement else None,
            clip=s.clip)

    def _idea_changed(self, now: bool = False) -> None:
        if self._restoring:
            return
        self._dirty = True
        if now:
            self.save_idea()
        else:
            self._save_timer.start()

    def save_idea(self, durable: bool = False) -> bool:
        """Write the idea now (a few kB, atomic); a failure is logged and shown, never raised."""
        self._save_timer.stop()
        try:
            self.idea_file.save(self.current_idea(), durable=durable)
        except (OSError, ValueError, MusicappError) as exc:
            log.warning("cannot save the composer's idea to %s", self.idea_file.path,
                        exc_info=True)
            self.info.set_full_text(f"Cannot save this idea: {exc}")
            return False
        self._dirty = False
        return True

    def restore_idea(self) -> bool:
        """Bring back the saved idea (settings, progression, locks) with a note saying when it
        was saved; an unreadable file is left alone with a logged warning and a note."""
        try:
            idea = self.idea_file.load()
            prog = progression_from_dict(idea.progression) \
                if idea is not None and idea.progression is not None else None
        except SavedIdeaError as exc:
            log.warning("composer: last idea in %s not restored: %s", self.idea_file.path, exc)
            self.info.set_full_text(f"Your last idea could not be restored ({exc}); its file "
                                    "is kept.", tip=str(self.idea_file.path))
            return False
        if idea is None:
            return False
        self._restoring = True
        try:
            self._apply_settings(idea.settings)
            self.session.clip = idea.clip
            if prog is not None:
                self.session.progression = prog
                self.session.locked = set(idea.locked)
                self._show(prog)
        except Exception as exc:  # a value the widgets refuse: never a crash at start
            log.warning("composer: last idea in %s only partly restored", self.idea_file.path,
                        exc_info=True)
            self.info.set_full_text(f"Your last idea could not be restored ({exc}).")
            return False
        finally:
            self._restoring = False
        if prog is not None:
            again = ""
            if idea.arrangement and self.arrangement is not None \
                    and arrangement_to_dict(self.arrangement) != idea.arrangement:
                # another version's arranger: the chords are the same, the notes may not be
                log.info("composer: the restored idea was arranged again by this version "
                         "(the notes saved in %s differ)", self.idea_file.path)
                again = " (arranged again: the voicing or melody may differ)"
            when = saved_time_text(idea.saved_at)
            self.info.set_full_text(f"Restored your last idea from {when}{again}",
                                    tip=f"Saved in {self.idea_file.path}; New starts over")
        return True

    def _apply_settings(self, st: dict) -> None:
        """Put saved settings back into the widgets (unknown or bad values are skipped)."""
        def pick(combo, value, by_data: bool = True) -> None:
            i = combo.findData(value) if by_data else combo.findText(str(value))
            if i >= 0:
                combo.setCurrentIndex(i)

        def num(key: str):
            v = st.get(key)
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) \
                and v == v else None

        if "source" in st:
            pick(self.source, st["source"])
        if "mood" in st:
            pick(self.mood, st["mood"], by_data=False)
        pad = st.get("pad")
        if isinstance(pad, list) and len(pad) == 2 and all(
                isinstance(x, (int, float)) and x == x for x in pad):
            self.pad.set_value(float(pad[0]), float(pad[1]))
        picture = st.get("picture")
        if isinstance(picture, str) and Path(picture).is_file():
            self.set_picture(picture)
        for key, combo in (("tonic", self.tonic), ("mode", self.mode)):
            if key in st:
                pick(combo, st[key], by_data=False)
        if "style" in st:
            pick(self.style_choice, st["style"])
        if num("length") is not None:
            self.length.setValue(int(num("length")))
        if num("temperature") is not None:
            self.temperature.setValue(num("temperature"))
            self.session.temperature = float(self.temperature.value())
        if "tempo_bpm" in st:
            t = num("tempo_bpm")
            self.tempo.setValue(self.tempo.minimum() if t is None else round(t))
        if "pattern" in st:
            pick(self.pattern, st["pattern"])
        if "chord_program" in st:
            pick(self.instrument, st["chord_program"])
        if num("seed") is not None:
            self.session.seed = int(num("seed"))

    def clear_idea(self) -> None:
        """Start a new idea: no chords, no locks; the saved one moves to ``previous/``."""
        if self.busy:
            return
        self._save_timer.stop()
        try:
            kept = self.idea_file.clear()
        except OSError as exc:
            log.warning("cannot clear the composer's idea", exc_info=True)
            self.info.set_full_text(f"Cannot clear the saved idea: {exc}")
            return
        self.session.progression = None
        self.session.locked = set()
        self.session.clip = None
        self._clear_blocks()
        self.arrangement = None
        self.roll.set_arrangement(None)
        self.select(-1)
        self._dirty = False
        self._set_enabled()
        self.info.set_full_text("New idea" + (" (the last one is kept)" if kept else ""),
                                tip=f"The last idea is kept as {kept}" if kept else "")
        self.progression_changed.emit([])
