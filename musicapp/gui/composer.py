"""Composer panel: chord progressions that fit an emotion, with lock/regenerate, preview, MIDI.

The emotion comes from the analysed track, a named mood, a point on a valence/arousal pad, or a
picture. Key and mode default to the track's. Each chord is a block that can be locked (kept
when generating again) or regenerated alone. The MIDI can be exported, or dragged out of the app
into a DAW or file manager (a QDrag carrying a file URL).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDrag, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from musicapp.gui.composer_backend import (
    MODES,
    TONICS,
    ComposeSession,
    EmotionChoice,
    mood_names,
    resolve_emotion,
    track_key,
)
from musicapp.gui.theme import ACCENT

SOURCES = (("track", "This track"), ("mood", "A mood"), ("pad", "Valence/arousal pad"),
           ("picture", "A picture"))


class VAPad(pg.PlotWidget):
    """Click to choose a point on the valence/arousal plane."""

    changed = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFixedSize(170, 150)
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setXRange(-1, 1, padding=0.02)
        self.setYRange(-1, 1, padding=0.02)
        self.getPlotItem().getAxis("bottom").setStyle(showValues=False)
        self.getPlotItem().getAxis("left").setStyle(showValues=False)
        self.setLabel("bottom", "valence")
        self.setLabel("left", "arousal")
        self.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen((255, 255, 255, 40))))
        self.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((255, 255, 255, 40))))
        self.dot = pg.ScatterPlotItem([0.5], [0.3], size=12, brush=pg.mkBrush(ACCENT))
        self.addItem(self.dot)
        self.value = (0.5, 0.3)
        self.setToolTip("Click to choose how positive (right) and energetic (up) the chords feel")
        self.scene().sigMouseClicked.connect(self._clicked)

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


class ChordBlock(QFrame):
    """One chord: name, Roman numeral, lock and regenerate buttons."""

    lock_toggled = Signal(int, bool)
    regenerate = Signal(int)

    def __init__(self, index: int, name: str, roman: str, beats: float, locked: bool,
                 parent=None) -> None:
        super().__init__(parent)
        self.index = index
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(104)
        self.setMaximumHeight(130)
        self.name = QLabel(name)
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.name.setFont(font)
        self.roman = QLabel(f"{roman}  ·  {beats:g} beats")
        self.roman.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lock = QPushButton("Locked" if locked else "Lock")
        self.lock.setCheckable(True)
        self.lock.setChecked(locked)
        self.lock.setToolTip("Keep this chord when generating again")
        self.lock.setMinimumWidth(58)
        self.lock.toggled.connect(self._toggled)
        self.regen = QPushButton("↻")
        self.regen.setToolTip("Regenerate only this chord")
        self.regen.setFixedWidth(30)
        self.regen.setEnabled(not locked)
        self.regen.clicked.connect(lambda: self.regenerate.emit(self.index))
        buttons = QHBoxLayout()
        buttons.addWidget(self.lock)
        buttons.addWidget(self.regen)
        lay = QVBoxLayout(self)
        lay.addWidget(self.name)
        lay.addWidget(self.roman)
        lay.addLayout(buttons)
        self.set_locked_look(locked)

    def set_locked_look(self, locked: bool) -> None:
        """Amber border and a disabled regenerate button while locked."""
        border = ACCENT if locked else "#3b4250"
        self.setStyleSheet(f"ChordBlock {{ border: 2px solid {border}; border-radius: 6px; "
                           f"background: #252a33; }}")
        self.lock.setText("Locked" if locked else "Lock")
        self.regen.setEnabled(not locked)

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

    def __init__(self, runner, context: Callable[[], dict] | None = None, settings=None,
                 parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.context = context or (lambda: {})
        self.settings = settings
        self.session = ComposeSession()
        self.busy = False
        self.player = None
        self.picture: str | None = None
        self.blocks: list[ChordBlock] = []
        self._build()
        self._set_enabled()

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
        self.pad = VAPad()
        pic = QWidget()
        pic_lay = QVBoxLayout(pic)
        pic_lay.setContentsMargins(0, 0, 0, 0)
        self.pick_picture = QPushButton("Choose picture…")
        self.pick_picture.setToolTip("The colours of a picture set the mood "
                                     "(brightness and saturation)")
        self.pick_picture.clicked.connect(self._choose_picture)
        self.picture_label = QLabel("no picture")
        self.picture_label.setWordWrap(True)
        pic_lay.addWidget(self.pick_picture)
        pic_lay.addWidget(self.picture_label)
        for w in (self.track_info, self.mood, self.pad, pic):
            self.stack.addWidget(w)
        self.stack.setMaximumHeight(160)
        self.source.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.source.setCurrentIndex(1)

        self.tonic = QComboBox()
        self.tonic.addItems(list(TONICS))
        self.tonic.setToolTip("Key of the progression (defaults to the analysed track's key)")
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.length = QSpinBox()
        self.length.setRange(2, 16)
        self.length.setValue(8)
        self.length.setToolTip("Number of chords in the loop")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(1.0)
        self.temperature.setToolTip("Low: safe, common progressions. High: more surprising.")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate a progression (Ctrl+G); locked chords stay")
        self.generate_button.clicked.connect(self.generate)
        QShortcut(QKeySequence("Ctrl+G"), self, activated=self.generate,
                  context=Qt.ShortcutContext.WindowShortcut)

        form = QGridLayout()
        form.addWidget(QLabel("Emotion from"), 0, 0)
        form.addWidget(self.source, 0, 1, 1, 3)
        form.addWidget(self.stack, 1, 0, 1, 4)
        form.addWidget(QLabel("Key"), 2, 0)
        form.addWidget(self.tonic, 2, 1)
        form.addWidget(self.mode, 2, 2, 1, 2)
        form.addWidget(QLabel("Chords"), 3, 0)
        form.addWidget(self.length, 3, 1)
        form.addWidget(QLabel("Temperature"), 3, 2)
        form.addWidget(self.temperature, 3, 3)
        form.addWidget(self.generate_button, 4, 0, 1, 4)
        left = QWidget()
        left.setLayout(form)
        left.setMaximumWidth(340)

        self.row = QWidget()
        self.row_layout = QHBoxLayout(self.row)
        self.row_layout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.row)
        scroll.setMinimumHeight(130)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.play_button = QPushButton("▶ Preview")
        self.play_button.setToolTip("Render the arrangement with the GM soundfont and play it")
        self.play_button.clicked.connect(self.toggle_preview)
        self.export_button = QPushButton("Export MIDI…")
        self.export_button.setToolTip("Save chords, bass and melody as a MIDI file")
        self.export_button.clicked.connect(self.export_dialog)
        self.drag = MidiDragLabel(self._drag_file)
        actions = QHBoxLayout()
        actions.addWidget(self.play_button)
        actions.addWidget(self.export_button)
        actions.addWidget(self.drag)
        actions.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(scroll, 1)
        right.addWidget(self.info)
        right.addLayout(actions)

        lay = QHBoxLayout(self)
        lay.addWidget(left)
        lay.addLayout(right, 1)

    def _set_enabled(self) -> None:
        has = self.session.progression is not None
        for w in (self.generate_button, self.source, self.tonic, self.mode, self.length,
                  self.temperature):
            w.setEnabled(not self.busy)
        for w in (self.play_button, self.export_button, self.drag):
            w.setEnabled(has and not self.busy)
        for b in self.blocks:
            b.regen.setEnabled(not self.busy and not b.lock.isChecked())

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
            self.track_info.setText(f"This track: valence {emo.valence:+.2f}, arousal "
                                    f"{emo.arousal:+.2f}{key_txt}")
            self.source.setCurrentIndex(0)

    def _choose_picture(self) -> None:
        start = self.settings.last_dir("picture") if self.settings else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a picture", start,
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp)")
        if path:
            self.set_picture(path)

    def set_picture(self, path: str) -> None:
        """Use ``path`` as the picture emotion source."""
        self.picture = path
        self.picture_label.setText(Path(path).name)
        if self.settings:
            self.settings.set_last_dir("picture", path)

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
        self.info.setText(label)
        self.runner.start(fn, *args, name="compose", on_finished=on_finished,
                          on_failed=self._failed)

    def _failed(self, msg: str) -> None:
        self.busy = False
        self._set_enabled()
        self.info.setText(f"Composer: {msg}")
        self.message.emit(f"Composer: {msg}")

    def generate(self) -> None:
        """Generate a progression in a worker."""
        if self.busy:
            return
        choice = self.emotion_choice()
        tonic, mode = self.tonic.currentText(), self.mode.currentText()
        length, temp = self.length.value(), self.temperature.value()
        session = self.session

        def work(ctx):
            ctx.progress(0.1, "loading the chord model")
            emo = resolve_emotion(choice)
            return session.generate(emo, tonic, mode, length, temp), emo

        self._start(work, on_finished=self._generated, label="Generating…")

    def _generated(self, out) -> None:
        prog, emo = out
        self.busy = False
        self.info.setText(f"{prog.key.name} · from {emo.source} (valence {emo.valence:+.2f}, "
                          f"arousal {emo.arousal:+.2f})")
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
        self.info.setText(f"{prog.key.name}")
        self._show(prog)

    def set_locked(self, index: int, on: bool) -> None:
        """Lock or unlock chord ``index``."""
        if on:
            self.session.locked.add(index)
        else:
            self.session.locked.discard(index)

    def _show(self, prog) -> None:
        for b in self.blocks:
            self.row_layout.removeWidget(b)
            b.hide()
            b.deleteLater()
        self.blocks = []
        for i, (name, roman, beats) in enumerate(zip(prog.names, prog.romans, prog.beats,
                                                     strict=True)):
            block = ChordBlock(i, name, roman, beats, i in self.session.locked)
            block.lock_toggled.connect(self.set_locked)
            block.regenerate.connect(self.regenerate)
            self.row_layout.addWidget(block)
            self.blocks.append(block)
        self._set_enabled()
        self.progression_changed.emit(list(prog.names))

    @property
    def chord_names(self) -> list[str]:
        """Names of the chords shown."""
        return [b.name.text() for b in self.blocks]

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
        self.info.setText(f"Saved {out}")
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
        self.info.setText(f"Preview: {samples.shape[-1] / rate:.1f} s")
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
        """Release the output device."""
        self.stop_preview()
