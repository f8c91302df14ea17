"""The main window: transport, overview, spectrogram with lanes, and the panels below it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from musicapp.errors import MusicappError
from musicapp.filetypes import dialog_filter, is_audio_name
from musicapp.gui.analysis_runner import FROM_CACHE, analyze_task
from musicapp.gui.analysis_view import (
    AnalysisPanel,
    device_name,
    export_csv,
    export_json,
    flatten_result,
    mood_rows,
    summary_line,
)
from musicapp.gui.analysis_worker import AnalysisWorker
from musicapp.gui.labels import ElideLabel
from musicapp.gui.lane import clock_label
from musicapp.gui.settings import Settings
from musicapp.gui.spectrogram import SpectrogramView
from musicapp.gui.waveform import WaveformOverview
from musicapp.gui.workers import TaskContext, TaskRunner
from musicapp.params import MEL, RECORDING
from musicapp.track_analysis import TrackAnalysis

if TYPE_CHECKING:  # the panels' and the live take's modules load when first used
    from musicapp.gui.featuremaps import FeatureMapsView
    from musicapp.gui.live import FeatureMapEngine, LiveCapture
    from musicapp.gui.musician_views import MusicianViews

AUDIO_FILTER = dialog_filter()
#: below this window height the panels under the plots start collapsed to a one-line summary
#: (until the user chooses with the Details button)
COMPACT_BELOW = 720
#: height the spectrogram itself keeps (above its lanes) when a tall window opens, whatever
#: position an older, bigger window saved
USEFUL_PLOT_HEIGHT = 160
#: the waveform overview's height in a tall and in a short window
OVERVIEW_MAX_HEIGHT = 80
OVERVIEW_SHORT_HEIGHT = 50
#: smallest height of the expanded panels (tab bar included)
PANEL_MIN_HEIGHT = 200
#: largest height Qt allows a widget (QWIDGETSIZE_MAX)
_MAX_SIZE = 16777215


class LoadedTrack:
    """A decoded file: audio for playback, 16-kHz mono for the models, and its log-Mel."""

    def __init__(self, path: str, play: np.ndarray, play_sr: int, mono16k: np.ndarray,
                 logmel: np.ndarray, info=None, warnings: tuple[str, ...] = ()) -> None:
        self.path = path
        self.play = play
        self.play_sr = play_sr
        self.mono16k = mono16k
        self.logmel = logmel
        self.info = info
        #: what the decoder repaired or could not read (a truncated file, NaN samples ...)
        self.warnings = tuple(warnings)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.mono16k) / float(MEL.sample_rate)


def load_track_task(ctx: TaskContext, path: str) -> LoadedTrack:
    """Decode ``path`` and compute its log-Mel spectrogram (runs in a worker thread)."""
    from musicapp.audio import load_audio
    from musicapp.audio.blockwise import resample_to_mono
    from musicapp.features import log_mel

    ctx.progress(0.05, f"decoding {Path(path).name}")
    audio = load_audio(path, sr=None, mono=False)
    samples = np.asarray(audio.samples, np.float32)
    ctx.progress(0.45, "resampling")
    # mixed and resampled block by block: the same samples as resampling the channel mean,
    # without a whole-track mono copy at the file's rate (a 3-hour 44.1 kHz file: 1.9 GB)
    mono16k = resample_to_mono(samples, int(audio.sample_rate), MEL.sample_rate)
    ctx.progress(0.6, "computing the spectrogram")
    logmel = log_mel(mono16k)
    ctx.progress(1.0, "loaded")
    return LoadedTrack(path, samples, int(audio.sample_rate), mono16k, logmel, audio.info,
                       tuple(str(w) for w in audio.warnings))


def use_spawn_for_processes() -> None:
    """Child processes of the GUI (the library indexer's pool) must be spawned, not forked:
    forking a process that runs Qt and audio threads can deadlock the child."""
    import multiprocessing

    if multiprocessing.get_start_method(allow_none=True) != "spawn":
        multiprocessing.set_start_method("spawn", force=True)


def _musician_views() -> MusicianViews:
    from musicapp.gui.musician_views import MusicianViews

    return MusicianViews()


def _feature_maps_view() -> FeatureMapsView:
    from musicapp.gui.featuremaps import FeatureMapsView

    return FeatureMapsView()


class MainWindow(QMainWindow):
    """The whole application window."""

    #: emitted when a file finished loading (path)
    track_loaded = Signal(str)
    #: emitted when an analysis finished (the TrackAnalysis)
    analysis_finished = Signal(object)
    #: emitted when an analysis failed (message)
    analysis_failed = Signal(str)
    #: emitted when a recording ended (path, seconds)
    take_finished = Signal(str, float)

    def __init__(self, settings: QSettings | None = None, isolate_analysis: bool = True,
                 auto_analyze: bool | None = None) -> None:
        super().__init__()
        use_spawn_for_processes()
        self.setWindowTitle("musicapp")
        self.setAcceptDrops(True)
        self.settings = Settings(settings)
        self.isolate_analysis = isolate_analysis
        self.auto_analyze = (self.settings.get("analysis/auto", True, bool)
                             if auto_analyze is None else auto_analyze)
        self.runner = TaskRunner(self, max_threads=3)
        self.track: LoadedTrack | None = None
        self.analysis: TrackAnalysis | None = None
        self._shown_generation = 0  # bumped by each shown result or cleared track (set_analysis)
        # the warm analysis process (started when first needed); None: analyse in a thread
        self.analysis_worker = AnalysisWorker() if isolate_analysis else None
        self.input_devices: list | None = None  # None until the first scan finished
        self._take_opened = False  # the input of the current take is open
        self.analysis_from_cache = False  # the last analysis came from the analysis cache
        self._device_scan_started = False
        self.record_unavailable = ""
        self.message_source: str | None = None
        self.last_analysis_s = 0.0
        self._take_live = False
        self._take_rate = RECORDING.sample_rate
        self.capture: LiveCapture | None = None
        self.player = None
        self.feature_engine: FeatureMapEngine | None = None
        self.load_task = None
        self.analysis_task = None
        self.last_error = ""
        self.take_path: str | None = None
        self.record_level = float("-inf")
        self.record_overflows = 0
        self._last_map_submit = 0.0
        self._map_position = -1.0

        self._build_views()
        self._build_actions()
        self._build_toolbar()
        self._build_statusbar()

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.redraw_timer.setInterval(16)
        self.redraw_timer.timeout.connect(self._redraw_live)
        self.cursor_timer = QTimer(self)
        self.cursor_timer.setInterval(33)
        self.cursor_timer.timeout.connect(self._update_cursor)
        self.map_timer = QTimer(self)
        self.map_timer.setSingleShot(True)
        self.map_timer.setInterval(150)
        self.map_timer.timeout.connect(self._maps_for_cursor)
        self._restore_state()
        self._show_saved_device()
        self._update_enabled()
        # The panels below, the device scan and the warm-up imports wait until the window is
        # on screen: the scan imports sounddevice and PortAudio in a worker thread, which held
        # the interpreter lock long enough to delay the first paint by about 0.1 s.
        self.spectrogram.paints.first_paint.connect(
            lambda: QTimer.singleShot(30, self._after_first_paint),
            Qt.ConnectionType.QueuedConnection)
        QTimer.singleShot(2000, self, self._after_first_paint)  # if nothing paints (hidden)
        QTimer.singleShot(400, self._warm_up)

    def _warm_up(self) -> None:
        """Import the audio and feature modules in a worker once the window is up, so that
        the first recording or file opens at once (torch is not imported here)."""

        def work(_ctx):
            import musicapp.audio.player
            import musicapp.audio.recorder  # noqa: F401
            from musicapp.features import StreamingLogMel

            StreamingLogMel(input_rate=RECORDING.sample_rate)  # Mel filters (librosa, numba)
            return True

        self.runner.start(work, name="warm-up")

    # ------------------------------------------------------------------ construction
    def _build_views(self) -> None:
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.overview = WaveformOverview()
        self.spectrogram = SpectrogramView()
        # The panels below the spectrogram are built just after the window first shows (or
        # when first used), which keeps the cold start short.
        self.tabs = QTabWidget()
        self._panels: dict[str, QWidget] = {}
        self._panel_factories = {
            "analysis": (self._make_analysis_panel, "Analysis"),
            "harmony": (_musician_views, "Harmony && tuner"),
            "features": (_feature_maps_view, "Feature maps"),
            "composer": (self._make_composer, "Composer"),
            "library": (self._make_library, "Library"),
        }
        for _factory, title in self._panel_factories.values():
            self.tabs.addTab(QWidget(), title)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tabs.tabBarClicked.connect(lambda _i: self.set_panels_compact(False, remember=False))
        # the tab bar's right end: the one-line summary and the Details toggle
        self.summary = ElideLabel("")
        self.summary.setObjectName("summary")
        self.summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.details_button = QToolButton()
        self.details_button.setCheckable(True)
        self.details_button.setAutoRaise(True)
        self.details_button.toggled.connect(lambda on: self.set_panels_compact(not on))
        corner = QWidget()
        corner_lay = QHBoxLayout(corner)
        corner_lay.setContentsMargins(8, 0, 2, 0)
        corner_lay.setSpacing(6)
        corner_lay.addWidget(self.summary, 1)
        corner_lay.addWidget(self.details_button)
        self.tabs.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        self.panels_compact = False
        self._short: bool | None = None  # the window's last "short" state (auto compact)
        self._expanded_sizes: list[int] | None = None

        top = QWidget()
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.setSpacing(2)
        top_lay.addWidget(self.message)
        top_lay.addWidget(self.overview)
        top_lay.addLayout(self._build_display_controls())
        top_lay.addWidget(self.spectrogram, 1)
        self.tabs.setMinimumHeight(PANEL_MIN_HEIGHT)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("main-splitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.tabs)
        self.splitter.setChildrenCollapsible(False)  # neither part can vanish
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.splitterMoved.connect(lambda *_: self._splitter_moved())
        self.setCentralWidget(self.splitter)

        self.spectrogram.seek_requested.connect(self.seek)
        self.overview.seek_requested.connect(self.seek)
        self.spectrogram.range_changed.connect(self.overview.set_region)
        self.overview.region_changed.connect(self.spectrogram.set_view_range)

    def _build_display_controls(self) -> QHBoxLayout:
        """Gain, contrast and frequency-axis controls of the spectrogram (kept in settings)."""
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(6)
        self.gain_slider = QSlider(Qt.Orientation.Horizontal)
        self.gain_slider.setRange(-30, 30)
        self.gain_slider.setValue(int(self.settings.get("view/gain_db", 0, int)))
        self.gain_slider.setToolTip("Spectrogram gain in dB: raise it to see quiet parts, lower "
                                    "it for loud masters (double-click the label to reset)")
        self.contrast_slider = QSlider(Qt.Orientation.Horizontal)
        self.contrast_slider.setRange(5, 40)  # tenths: 0.5 ... 4.0
        self.contrast_slider.setValue(int(self.settings.get("view/contrast10", 10, int)))
        self.contrast_slider.setToolTip("Spectrogram contrast: higher shows only the strongest "
                                        "partials, lower shows more of the quiet detail")
        for slider in (self.gain_slider, self.contrast_slider):
            slider.setMaximumWidth(140)
            slider.setMinimumWidth(70)
            slider.valueChanged.connect(self._display_changed)
        self.axis_combo = QComboBox()
        self.axis_combo.addItem("Hz", "hz")
        self.axis_combo.addItem("Notes (C2–C7)", "notes")
        self.axis_combo.setToolTip("Label the frequency axis in Hz or with note names")
        self.axis_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        mode = str(self.settings.get("view/axis", "hz"))
        self.axis_combo.setCurrentIndex(max(0, self.axis_combo.findData(mode)))
        self.axis_combo.currentIndexChanged.connect(self._display_changed)
        row.addWidget(QLabel("Gain"))
        row.addWidget(self.gain_slider)
        row.addWidget(QLabel("Contrast"))
        row.addWidget(self.contrast_slider)
        row.addWidget(QLabel("Axis"))
        row.addWidget(self.axis_combo)
        row.addStretch(1)
        self._display_changed()
        return row

    def _display_changed(self, *_args) -> None:
        gain, contrast = self.gain_slider.value(), self.contrast_slider.value()
        self.spectrogram.set_display(float(gain), contrast / 10.0)
        self.spectrogram.set_axis_mode(str(self.axis_combo.currentData()))
        self.settings.set("view/gain_db", gain)
        self.settings.set("view/contrast10", contrast)
        self.settings.set("view/axis", str(self.axis_combo.currentData()))

    def _make_analysis_panel(self) -> AnalysisPanel:
        panel = AnalysisPanel()
        panel.tempo_level.connect(self.set_tempo_level)
        return panel

    def set_tempo_level(self, level: str) -> None:
        """Count the analysed tempo at half or double speed (beats thinned or filled in),
        with ``musicapp.analysis.tempo_choice``; exports follow the choice."""
        if self.analysis is None:
            return
        from musicapp.analysis.tempo_choice import choose_tempo

        try:
            chosen = choose_tempo(self.analysis.to_dict(), level=level)
        except MusicappError as exc:
            self.show_message(str(exc), "info")
            return
        self.set_analysis(chosen)
        self.show_info(f"Tempo counted at {chosen['tempo_bpm']:g} BPM")

    def _make_composer(self) -> QWidget:
        from musicapp.gui.composer import ComposerPanel

        panel = ComposerPanel(self.runner, context=self.composer_context,
                              settings=self.settings)
        panel.message.connect(lambda text: self._panel_message("composer", text))
        return panel

    def _panel_message(self, source: str, text: str) -> None:
        """A panel's error (shown in the banner, tagged with the panel); "" clears the banner
        when it still shows that panel's message."""
        if text:
            self.show_message(text)
            self.message_source = source
        elif self.message_source == source:
            self.clear_message()

    # lazily built panels ----------------------------------------------------------------------
    def _panel(self, name: str) -> QWidget:
        widget = self._panels.get(name)
        if widget is None:
            factory, title = self._panel_factories[name]
            widget = factory()
            self._panels[name] = widget
            index = list(self._panel_factories).index(name)
            current = self.tabs.currentIndex()
            self.tabs.blockSignals(True)
            old = self.tabs.widget(index)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, widget, title)
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            old.deleteLater()
        return widget

    def _after_first_paint(self) -> None:
        """What waits for the window to be on screen: the panels and the first device scan
        (once, whichever of the first paint and the fallback timer comes first)."""
        if self.input_devices is None and not self._device_scan_started:
            self.refresh_devices()
        self.build_panels()

    def build_panels(self) -> None:
        """Build every panel now (called once the window is on screen)."""
        if len(self._panels) == len(self._panel_factories):
            return
        for name in self._panel_factories:
            self._panel(name)

    def _tab_changed(self, index: int) -> None:
        names = list(self._panel_factories)
        if self.message_source is not None and (
                not 0 <= index < len(names) or names[index] != self.message_source):
            self.clear_message()  # a panel's banner does not follow you to other tabs
        if 0 <= index < len(names):
            self._panel(names[index])
            if names[index] != "analysis":  # the summary line stands only for the Analysis tab
                self.set_panels_compact(False, remember=False)
        self._maps_for_cursor()
        self._harmony_for_track()
        self._spectrum_at_cursor()

    def _harmony_visible(self) -> bool:
        return self.tabs.currentIndex() == list(self._panel_factories).index("harmony")

    def _harmony_for_track(self) -> None:
        """Compute the chromagram and key curve once per track, when the tab is first shown."""
        track = self.track
        if track is None or not self._harmony_visible() or self.capture is not None:
            return
        if getattr(self, "_harmony_for", None) == track.path:
            return
        self._harmony_for = track.path
        from musicapp.gui.musician_views import harmony_task

        self.runner.start(harmony_task, track.mono16k, MEL.sample_rate, name="harmony",
                          on_finished=lambda r, t=track: self._on_harmony(t, r))

    def _on_harmony(self, track, result: dict) -> None:
        if track is not self.track:
            return
        self.musician_view.set_harmony(result)

    def _spectrum_at_cursor(self) -> None:
        if self.track is None or not self._harmony_visible() or self.capture is not None:
            return
        from musicapp.gui.musician_views import BLOCK

        t = float(self.spectrogram.cursor.value())
        i = int(t * MEL.sample_rate)
        block = self.track.mono16k[i:i + BLOCK]
        self.musician_view.set_cursor(t)
        self.musician_view.show_block(block, MEL.sample_rate,
                                      f"Spectrum and tuner at {_fmt(t)}")

    @property
    def analysis_panel(self) -> AnalysisPanel:
        """The analysis tab."""
        return self._panel("analysis")

    @property
    def musician_view(self) -> MusicianViews:
        """The harmony and tuner tab."""
        return self._panel("harmony")

    @property
    def feature_view(self) -> FeatureMapsView:
        """The feature-maps tab."""
        return self._panel("features")

    @property
    def composer(self) -> QWidget:
        """The composer tab."""
        return self._panel("composer")

    @property
    def library(self) -> QWidget:
        """The library tab."""
        return self._panel("library")

    def composer_context(self) -> dict:
        """What the composer may use: the track, its 16-kHz audio and its analysis."""
        return {
            "path": self.track.path if self.track else None,
            "mono16k": self.track.mono16k if self.track else None,
            "analysis": flatten_result(self.analysis) if self.analysis else None,
            "raw_analysis": self.analysis.to_dict() if self.analysis else None,
        }

    def _make_library(self) -> QWidget:
        from musicapp.gui.library_panel import LibraryPanel

        panel = LibraryPanel(self.runner, settings=self.settings,
                             current_file=lambda: self.track.path if self.track else None)
        panel.message.connect(lambda text: self._panel_message("library", text))
        panel.open_requested.connect(self.open_file)
        return panel

    def _act(self, text: str, slot, shortcut=None, tip: str = "", checkable=False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        tip = tip or text
        if shortcut is not None:
            tip += f"  ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
        act.setToolTip(tip)
        act.setStatusTip(tip)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        self.act_open = self._act("&Open…", self.open_dialog, QKeySequence.StandardKey.Open,
                                  "Open an audio file")
        self.act_record = self._act("● Record", self.toggle_record, "Ctrl+R",
                                    "Record from the chosen input (press again to stop)",
                                    checkable=True)
        self.act_play = self._act("▶ Play", self.toggle_play, Qt.Key.Key_Space,
                                  "Play or pause from the cursor")
        self.act_analyze = self._act("Analyse", self.start_analysis, "Ctrl+Return",
                                     "Analyse moods, key, tempo, beats and chords")
        self.act_cancel = self._act("Cancel", self.cancel_work, Qt.Key.Key_Escape,
                                    "Cancel loading or analysis")
        self.act_export_json = self._act("Export analysis as JSON…", self.export_json_dialog,
                                         "Ctrl+E")
        self.act_export_csv = self._act("Export analysis as CSV…", self.export_csv_dialog,
                                        "Ctrl+Shift+E")
        self.act_export_midi = self._act(
            "Export analysis as MIDI…", self.export_midi_dialog, None,
            "Tempo map from the beats, time and key signature, chord track and markers: drop it "
            "into a DAW to line the project up with the recording")
        self.act_export_jams = self._act("Export analysis as JAMS…", self.export_jams_dialog,
                                         None, "Beats, chords, key and tempo as a JAMS file")
        self.act_zoom_in = self._act("Zoom in", lambda: self.zoom(0.5), "Ctrl+=",
                                     "Zoom the spectrogram in")
        self.act_zoom_out = self._act("Zoom out", lambda: self.zoom(2.0), "Ctrl+-",
                                      "Zoom the spectrogram out")
        self.act_zoom_fit = self._act("Whole track", self.zoom_fit, "Ctrl+0",
                                      "Show the whole track")
        self.act_about = self._act("About musicapp", self.show_about, "F1")
        self.act_quit = self._act("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_devices = self._act("Rescan audio devices", lambda: self.refresh_devices(True))

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._fill_recent()
        file_menu.addSeparator()
        file_menu.addAction(self.act_export_json)
        file_menu.addAction(self.act_export_csv)
        file_menu.addAction(self.act_export_midi)
        file_menu.addAction(self.act_export_jams)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        trans = menu.addMenu("&Transport")
        for a in (self.act_play, self.act_record, self.act_devices):
            trans.addAction(a)
        ana = menu.addMenu("&Analysis")
        ana.addAction(self.act_analyze)
        ana.addAction(self.act_cancel)
        self.act_auto = QAction("Analyse files when opened", self, checkable=True)
        self.act_auto.setChecked(self.auto_analyze)
        self.act_auto.toggled.connect(self._set_auto)
        ana.addAction(self.act_auto)
        view = menu.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_zoom_fit):
            view.addAction(a)
        view.addSeparator()
        self.act_details = QAction("Panels under the spectrogram", self, checkable=True)
        self.act_details.setShortcut(QKeySequence("Ctrl+Shift+D"))
        self.act_details.setToolTip("Show the panels, or collapse them to a one-line summary")
        self.act_details.setChecked(not self.panels_compact)
        self.act_details.toggled.connect(lambda on: self.set_panels_compact(not on))
        view.addAction(self.act_details)
        view.addSeparator()
        group = QActionGroup(self)
        self.theme_actions = {}
        for theme in ("dark", "light"):
            a = QAction(f"{theme.title()} theme", self, checkable=True)
            a.triggered.connect(lambda _c=False, t=theme: self.set_theme(t))
            group.addAction(a)
            view.addAction(a)
            self.theme_actions[theme] = a
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Transport")
        tb.setObjectName("transport")
        tb.setMovable(False)
        self.addToolBar(tb)
        tb.addAction(self.act_open)
        tb.addSeparator()
        tb.addAction(self.act_play)
        tb.addAction(self.act_record)
        self.device_combo = QComboBox()
        self.device_combo.setMinimumWidth(200)
        self.device_combo.setToolTip("Input device used for recording")
        self.device_combo.currentIndexChanged.connect(self._device_changed)
        tb.addWidget(self.device_combo)
        self.level_meter = QProgressBar()
        self.level_meter.setRange(-60, 0)
        self.level_meter.setValue(-60)
        self.level_meter.setTextVisible(False)
        self.level_meter.setFixedWidth(120)
        self.level_meter.setFixedHeight(12)
        self.level_meter.setToolTip("Input level (peak, dBFS)")
        tb.addWidget(self.level_meter)
        self.time_label = QLabel("0:00.0")
        self.time_label.setMinimumWidth(110)
        self.time_label.setToolTip("Cursor position / length")
        tb.addWidget(self.time_label)
        tb.addSeparator()
        tb.addAction(self.act_analyze)
        tb.addSeparator()
        tb.addAction(self.act_zoom_in)
        tb.addAction(self.act_zoom_out)
        tb.addAction(self.act_zoom_fit)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.status_label = QLabel(self.START_STATUS)
        sb.addWidget(self.status_label, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(180)
        self.progress.setFixedHeight(14)
        self.progress.hide()
        sb.addPermanentWidget(self.progress)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel loading or analysis (Esc)")
        self.cancel_button.clicked.connect(self.cancel_work)
        self.cancel_button.hide()
        sb.addPermanentWidget(self.cancel_button)
        self.device_label = QLabel("Models: not loaded")
        self.device_label.setToolTip("Compute device used by the models (GPU when available)")
        sb.addPermanentWidget(self.device_label)

    # ------------------------------------------------------------------ compact panels
    def _set_summary(self, result: TrackAnalysis | None) -> None:
        text = summary_line(result) if result is not None else ""
        if not text and result is not None and result.status != "ok":
            text = str(result.status).capitalize()  # "Silence", "Too short": the analysis ran
        if not text:
            text = "No analysis yet" if self.track is not None else ""
        # wide enough for the whole line (elided, with a tooltip, only past 360 px)
        width = self.summary.fontMetrics().horizontalAdvance(text) + 8
        self.summary.setMinimumWidth(min(max(width, 60), 360))
        self.summary.set_full_text(text)

    def _collapsed_height(self) -> int:
        """Height of the collapsed panels: the tab bar (with the summary) only."""
        return max(self.tabs.tabBar().sizeHint().height(),
                   self.tabs.cornerWidget().sizeHint().height()) + 2

    def set_panels_compact(self, on: bool, remember: bool = True) -> None:
        """Collapse the panels under the plots to their tab bar and a one-line summary (key ·
        BPM · meter · energy), giving the height to the spectrogram and its lanes; or expand
        them again. ``remember`` keeps the choice in the settings (otherwise the window
        collapses them by itself below :data:`COMPACT_BELOW`); clicking a tab expands them."""
        on = bool(on)
        if remember:
            self.settings.set("ui/panels_compact", on)
        for control in (self.details_button, getattr(self, "act_details", None)):
            if control is not None:  # the button and the menu show the state, no echo
                control.blockSignals(True)
                control.setChecked(not on)
                control.blockSignals(False)
        self.details_button.setText("▴ Hide details" if not on else "▾ Show details")
        self.details_button.setToolTip(
            "Collapse the panels to a one-line summary: more room for the spectrogram"
            if not on else "Show the panels (analysis, harmony, feature maps, composer, "
                           "library) under the spectrogram")
        if on == self.panels_compact:
            return
        if on:
            if self.splitter.sizes()[1] > 0:
                self._expanded_sizes = self.splitter.sizes()
            height = self._collapsed_height()
            self.tabs.setMinimumHeight(height)
            self.tabs.setMaximumHeight(height)
        else:
            self.tabs.setMaximumHeight(_MAX_SIZE)
            self.tabs.setMinimumHeight(PANEL_MIN_HEIGHT)
        self.panels_compact = on
        self._update_overview()
        if not on:
            self._fit_splitter(self._expanded_sizes)

    def _update_overview(self) -> None:
        """The waveform overview gives way to an opened panel in a short window (the
        spectrogram still zooms and scrolls); it is back when the panels collapse or the window
        grows."""
        tall = self.height() >= COMPACT_BELOW
        self.overview.setVisible(self.panels_compact or tall)
        self.overview.setMaximumHeight(OVERVIEW_MAX_HEIGHT if tall else OVERVIEW_SHORT_HEIGHT)

    def _fit_splitter(self, sizes: list[int] | None = None) -> None:
        """Share the splitter between the plots and the expanded panels: ``sizes`` (a
        remembered position, scaled to the current height) or 56% / 44%. In a short window the
        panels get what the plots can spare (the plots keep their minimum: the spectrogram and
        every lane stay readable, whatever an old saved position from a bigger window said)."""
        total = sum(self.splitter.sizes()) or max(self.splitter.height(), 400)
        top_min = self.splitter.widget(0).minimumSizeHint().height()
        if sizes and sum(sizes) > 0:
            top = int(round(total * sizes[0] / sum(sizes)))
        else:
            top = int(total * 0.56)
        if self.height() < COMPACT_BELOW:  # short: the opened panel gets the room
            top = top_min
        else:  # tall: the spectrogram itself keeps a useful height
            spec, overview = self.spectrogram, self.overview
            grow = overview.maximumHeight() - overview.minimumHeight()  # it grows first
            top = max(top, top_min - spec.minimumHeight()
                      + spec.height_for_plot(USEFUL_PLOT_HEIGHT) + grow)
        top = min(max(top, top_min), max(total - PANEL_MIN_HEIGHT, top_min))
        self.splitter.setSizes([top, total - top])

    def _splitter_moved(self) -> None:
        if not self.panels_compact:
            self._remember_splitter()

    def _remember_splitter(self) -> None:
        """Keep the open panels' splitter position (as Qt's state and as the plots' share of
        the height, which a window of another size restores)."""
        sizes = self.splitter.sizes()
        if sum(sizes) <= 0 or self.panels_compact:
            return
        self._expanded_sizes = sizes
        self.settings.set("window/splitter", self.splitter.saveState())
        self.settings.set("window/splitter_top", round(sizes[0] / sum(sizes), 4))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._auto_compact()

    def _auto_compact(self) -> None:
        """Collapse the panels (on the Analysis tab) when the window becomes short, expand them
        when it becomes tall again, unless the user chose with the Details button."""
        short = self.height() < COMPACT_BELOW
        if short == self._short:
            return
        self._short = short
        if self.settings.get("ui/panels_compact") is None:
            # another panel in use (composer, library ...) stays open
            on_analysis = self.tabs.currentIndex() == list(self._panel_factories).index("analysis")
            self.set_panels_compact(short and on_analysis, remember=False)
        self._update_overview()
        if not self.panels_compact and self.isVisible():  # share the new height again
            self._fit_splitter(self._expanded_sizes)

    # ------------------------------------------------------------------ settings
    def _restore_state(self) -> None:
        geo = self.settings.get("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1280, 800)
        state = self.settings.get("window/state")
        if state is not None:
            self.restoreState(state)
        split = self.settings.get("window/splitter")
        self._splitter_restored = split is not None and self.splitter.restoreState(split)
        share = self.settings.get("window/splitter_top", None, float)
        if share is not None and 0.0 < share < 1.0:
            self._expanded_sizes = [round(share * 10000), round((1 - share) * 10000)]
        choice = self.settings.get("ui/panels_compact")
        if choice is not None:
            self.set_panels_compact(self.settings.get("ui/panels_compact", False, bool))
        else:
            self.set_panels_compact(False, remember=False)
            self._auto_compact()
        theme = str(self.settings.get("ui/theme", "dark"))
        if theme in self.theme_actions:
            self.theme_actions[theme].setChecked(True)
        tab = self.settings.get("ui/tab", 0, int)
        self.tabs.setCurrentIndex(tab if 0 <= tab < self.tabs.count() else 0)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._splitter_restored:  # first run: 56% views, 44% panels
            self._splitter_restored = True
            if not self.panels_compact:
                self._fit_splitter()
        elif not self.panels_compact:  # a position saved in a bigger window: plots kept
            self._fit_splitter(self._expanded_sizes or self.splitter.sizes())

    def save_state(self) -> None:
        """Write window state and choices to QSettings."""
        self.settings.set("window/geometry", self.saveGeometry())
        self.settings.set("window/state", self.saveState())
        self._remember_splitter()
        self.settings.set("ui/tab", self.tabs.currentIndex())
        self.settings.set("analysis/auto", self.auto_analyze)
        self.settings.sync()

    def _set_auto(self, on: bool) -> None:
        self.auto_analyze = bool(on)
        self.settings.set("analysis/auto", self.auto_analyze)

    def set_theme(self, theme: str) -> None:
        """Switch between the dark and the light theme (kept in QSettings)."""
        from musicapp.gui.theme import apply_theme

        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        self.settings.set("ui/theme", theme)
        self.show_info("Theme changes apply fully to plots after a restart")

    # ------------------------------------------------------------------ messages
    def show_message(self, text: str, level: str = "error") -> None:
        """Show a message in the banner above the views (errors stay until the next action)."""
        self.message_source = None  # the window's own message (a panel tags its own after)
        if level == "error":
            self.last_error = text
        self.message.setProperty("level", level)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.status_label.setText(text.splitlines()[0] if text else "")

    def show_info(self, text: str) -> None:
        """A short note in the status bar."""
        self.status_label.setText(text)

    def clear_message(self) -> None:
        """Hide the banner."""
        self.message.hide()
        self.message.setText("")
        self.message_source = None

    def _progress(self, fraction: float, text: str) -> None:
        self.progress.show()
        self.cancel_button.show()
        self.progress.setValue(int(fraction * 1000))
        if text:
            self.status_label.setText(text)

    def _progress_done(self) -> None:
        if not self.runner.busy or not any(
                t is not None for t in (self.load_task, self.analysis_task)):
            self.progress.hide()
            self.cancel_button.hide()

    # ------------------------------------------------------------------ opening files
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files
        for path in recent:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _c=False, p=path: self.open_file(p))
        self.recent_menu.setEnabled(bool(recent))

    def open_dialog(self) -> None:
        """Ask for a file and open it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open audio file",
                                              self.settings.last_dir("open"), AUDIO_FILTER)
        if path:
            self.settings.set_last_dir("open", path)
            self.open_file(path)

    def open_file(self, path: str, keep_message: bool = False) -> None:
        """Decode ``path`` in a worker and show it (errors appear in the banner)."""
        if self.capture is not None:
            self.show_message("Stop recording before opening another file.")
            return
        if not keep_message:
            self.clear_message()
        self.stop_playback()
        if self.load_task is not None:
            self.load_task.cancel()
        self.show_info(f"Opening {Path(path).name}…")
        if self.auto_analyze and self.analysis_worker is not None:
            self.analysis_worker.start()  # it loads the models while the file decodes
        self.load_task = self.runner.start(
            load_track_task, str(path), name="load",
            on_finished=self._on_loaded, on_failed=lambda m, p=path: self._on_load_failed(p, m),
            on_progress=self._progress, on_cancelled=self._on_load_cancelled)

    def _on_load_failed(self, path: str, message: str) -> None:
        self.load_task = None
        self._progress_done()
        self.show_message(f"Could not open {Path(path).name}: {message}")
        self._update_enabled()

    def _on_load_cancelled(self) -> None:
        self.load_task = None
        self._progress_done()
        self.show_info("Opening cancelled")

    def _on_loaded(self, track: LoadedTrack) -> None:
        self.load_task = None
        self._progress_done()
        self.set_track(track)
        if self.auto_analyze:
            self.start_analysis()

    def set_track(self, track: LoadedTrack) -> None:
        """Show a decoded track in every view."""
        self.track = track
        self.analysis = None
        self._shown_generation += 1  # an older result still being shown step by step stops
        self._drop_analysis()
        self.analysis_panel.clear()
        self._set_summary(None)
        self.spectrogram.clear_all()
        self.spectrogram.set_spectrogram(track.logmel)
        self.overview.set_audio(track.mono16k, MEL.sample_rate)
        self.overview.set_region(0, track.duration_s)
        self._set_cursor(0.0)
        self._panel("harmony").clear()
        self._harmony_for = None
        self.settings.add_recent(track.path)
        self._fill_recent()
        self.setWindowTitle(f"{Path(track.path).name} — musicapp")
        self.show_info(f"{Path(track.path).name}: {track.duration_s:.1f} s, "
                       f"{track.play_sr} Hz")
        if track.warnings:  # a damaged file opens, but the musician must know part is missing
            self.show_message(self._damage_note() + "; ".join(track.warnings), "info")
        if hasattr(self.composer, "track_changed"):
            self.composer.track_changed()
        self._update_enabled()
        self._maps_for_cursor()
        self._harmony_for_track()
        self._spectrum_at_cursor()
        self.track_loaded.emit(track.path)

    # drag and drop ----------------------------------------------------------------------
    def _damage_note(self) -> str:
        """The start of the banner that names the current file's decoding problems."""
        return f"{Path(self.track.path).name} is damaged: " if self.track else ""

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        audio = [f for f in files if is_audio_name(f)] or files
        if audio:
            event.acceptProposedAction()
            self.open_file(audio[0])
            if len(audio) > 1:
                self.show_info(f"Opened {Path(audio[0]).name}; drop one file at a time "
                               "(add folders in the Library tab)")

    # ------------------------------------------------------------------ analysis
    def start_analysis(self) -> None:
        """Analyse the current track in the background."""
        if self.track is None:
            self.show_message("Open or record something to analyse first.", "info")
            return
        if self.analysis_task is not None:
            return
        if not (self.track.warnings and self.message.text().startswith(self._damage_note())):
            self.clear_message()  # the note that the file is damaged stays while it analyses
        self.analysis_started_at = time.perf_counter()
        self.analysis_from_cache = False
        self.analysis_task = self.runner.start(
            analyze_task, self.track.path, self.analysis_worker, name="analysis",
            on_finished=self._on_analysis, on_failed=self._on_analysis_failed,
            on_progress=self._analysis_progress, on_cancelled=self._on_analysis_cancelled)
        self._update_enabled()

    def _analysis_progress(self, fraction: float, text: str) -> None:
        if text == FROM_CACHE:
            self.analysis_from_cache = True
        self._progress(fraction, text)

    def _drop_analysis(self) -> None:
        """Cancel a running analysis of the track being replaced and ignore what it still
        reports: its result belongs to another file (it was drawn over the new track's
        spectrogram), and the new track must be analysable at once."""
        if self.analysis_task is None:
            return
        self.analysis_task.abandon()
        self.analysis_task = None
        self._progress_done()

    def _on_analysis(self, result: TrackAnalysis) -> None:
        self.analysis_task = None
        self._progress_done()
        took = self.last_analysis_s = time.perf_counter() - self.analysis_started_at
        self.set_analysis(result, staged=True, then=lambda: self._analysis_shown(took))

    def _analysis_shown(self, took: float) -> None:
        """The last step of showing a finished analysis (after the buttons were updated by
        :meth:`set_analysis`): the message and the signal."""
        errors = [f"{part}: {msg}" for part, msg in self.analysis.errors.items()]
        if errors:
            self.show_message("Analysis finished with problems: " + "; ".join(errors))
        elif self.analysis.silent:
            self.show_message(f"Nothing to analyse: this track is {self.analysis.status}.",
                              "info")
        else:
            self.show_info("Analysis loaded from the cache: this file was analysed before"
                           if self.analysis_from_cache else f"Analysis finished in {took:.1f} s")
        self.analysis_finished.emit(self.analysis)

    def set_analysis(self, result: TrackAnalysis | dict, *, staged: bool = False,
                     then: Callable[[], None] | None = None) -> None:
        """Show an analysis result (a TrackAnalysis, or its flat JSON form) in the panels and
        lanes, then call ``then``.

        ``staged``: one step per turn of the event loop (panels; beats and chords; moods and the
        feel lane; the composer and harmony views), so the window repaints between steps and no
        single step blocks it for long (showing everything at once stalled the event loop for
        ~100 ms on a 2-core machine). A newer result, or a new track, abandons the rest of an
        older one's steps.
        """
        if not isinstance(result, TrackAnalysis):
            result = TrackAnalysis.from_dict(result)
        self.analysis = result
        self._shown_generation += 1
        generation = self._shown_generation
        flat = flatten_result(result)
        key = result.key or {}

        def panels() -> None:
            self.analysis_panel.set_result(result)
            self._set_summary(result)
            if flat["device"]:
                self.device_label.setText(f"Models: {device_name(flat['device'])}")

        def beats_and_chords() -> None:
            # no steady beat (the panel says so): no beat grid either, however the tracker placed it
            steady = bool(flat["tempo_bpm"])
            self.spectrogram.set_beats(flat["beats"] or [] if steady else [],
                                       flat["downbeats"] or [] if steady else [])
            self.spectrogram.set_chords(flat["chords"] or [],
                                        f"{key['tonic']} {key.get('mode', 'major')}"
                                        if key.get("tonic") else None,
                                        key_timeline=flat["key_timeline"] if key.get("tonic")
                                        else None)

        def moods_and_feel() -> None:
            top = [tag for tag, _pct, _score in mood_rows(flat["moods"])[:5]]  # the panel's first five
            self.spectrogram.set_mood_timeline(flat["segments"] or [], names=top)
            self.spectrogram.set_feel_curves(  # "too short for moods" hides the curves too
                flat["curves"], (result.tags or {}).get("moods_status") or result.status,
                result.duration_s)

        def other_views() -> None:
            self.musician_view.set_key_analysis(key, flat["key_candidates"], flat["key_timeline"])
            if hasattr(self.composer, "analysis_changed"):
                self.composer.analysis_changed(flat)
            self._update_enabled()
            if then is not None:
                then()

        steps = [panels, beats_and_chords, moods_and_feel, other_views]
        if not staged:
            for step in steps:
                step()
            return

        def run(i: int) -> None:
            if generation != self._shown_generation:
                return  # a newer result (or a new track) took over
            steps[i]()
            if i + 1 < len(steps):
                # 1 ms, not 0: a zero timer runs in the same pass of the event loop, before the
                # repaint and the other timers that are due
                QTimer.singleShot(1, lambda: run(i + 1))

        run(0)

    def _on_analysis_failed(self, message: str) -> None:
        self.analysis_task = None
        self._progress_done()
        self.show_message(f"Analysis failed: {message}")
        self._update_enabled()
        self.analysis_failed.emit(message)

    def _on_analysis_cancelled(self) -> None:
        self.analysis_task = None
        self._progress_done()
        self.show_info("Analysis cancelled")
        self._update_enabled()

    def cancel_work(self) -> None:
        """Cancel loading and analysis."""
        for task in (self.load_task, self.analysis_task):
            if task is not None:
                task.cancel()

    def export_json_dialog(self) -> None:
        """Save the analysis as JSON."""
        self._export("json", export_json)

    def export_csv_dialog(self) -> None:
        """Save the analysis as CSV."""
        self._export("csv", export_csv)

    def export_midi_dialog(self) -> None:
        """Save the analysis as a MIDI file with a tempo map (``musicapp.analysis.export``)."""
        from musicapp.analysis.export import write_midi

        self._export("mid", lambda a, path: write_midi(a.to_dict(), path, overwrite=True),
                     "MIDI")

    def export_jams_dialog(self) -> None:
        """Save beats, chords, key and tempo as JAMS (``musicapp.analysis.export``)."""
        from musicapp.analysis.export import write_jams

        self._export("jams", lambda a, path: write_jams(
            a.to_dict(), path, title=Path(a.path).stem if a.path else None, overwrite=True),
            "JAMS")

    def _export(self, ext: str, fn, kind: str = "") -> None:
        if not self.analysis:
            self.show_message("Nothing to export yet: run the analysis first.", "info")
            return
        stem = Path(self.track.path).stem if self.track else "analysis"
        start = str(Path(self.settings.last_dir("export")) / f"{stem}.{ext}")
        kind = kind or ext.upper()
        path, _ = QFileDialog.getSaveFileName(self, f"Export analysis ({kind})", start,
                                              f"{kind} (*.{ext})")
        if not path:
            return
        try:
            if self.track is not None:  # the dialog's "replace?" must never take the track itself
                from musicapp.outputs import check_outputs

                check_outputs([path], overwrite=True, inputs=[self.track.path])
            fn(self.analysis, path)
        except OSError as exc:
            self.show_message(f"Could not write {path}: {exc.strerror or exc}")
            return
        except MusicappError as exc:
            self.show_message(f"Could not write {path}: {exc}")
            return
        self.settings.set_last_dir("export", path)
        self.show_info(f"Exported {path}")

    # ------------------------------------------------------------------ recording
    def refresh_devices(self, rescan: bool = False) -> None:
        """Fill the input-device list in a worker (PortAudio's scan can take a second);
        the saved choice is kept when the device still exists."""
        self._device_scan_started = True
        self._show_saved_device()

        def work(_ctx):
            from musicapp.audio import devices

            if rescan:
                devices.refresh()
            return [(d.name + ("  (default)" if d.is_default_input else ""), d.name)
                    for d in devices.list_input_devices()]

        self.runner.start(work, name="devices", on_finished=self._fill_devices,
                          on_failed=self._devices_failed)

    def _show_saved_device(self) -> None:
        """Before the first scan: the device list holds the default input and the saved
        choice."""
        if self.device_combo.count() == 0:
            saved = self.settings.get("audio/input_device")
            self.device_combo.addItem("Default input", None)
            if saved:
                self.device_combo.addItem(str(saved), saved)
                self.device_combo.setCurrentIndex(1)

    def _devices_failed(self, message: str) -> None:
        self.input_devices = []
        self.device_combo.setToolTip(f"Input devices unavailable: {message}")
        self._update_record_action(f"Recording is not possible: {message}")

    def _fill_devices(self, items: list) -> None:
        saved = self.settings.get("audio/input_device")
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("Default input", None)
        for label, name in items:
            self.device_combo.addItem(label, name)
        idx = self.device_combo.findData(saved) if saved else 0
        self.device_combo.setCurrentIndex(max(idx, 0))
        self.device_combo.blockSignals(False)
        self.device_combo.setToolTip(f"Input device used for recording ({len(items)} found)")
        self.input_devices = list(items)
        self._update_record_action()

    START_STATUS = "Open a file (Ctrl+O), drop one here, or press Ctrl+R to record"
    START_STATUS_NO_INPUT = "Open a file (Ctrl+O) or drop one here (no audio input to record from)"
    START_HINT_NO_INPUT = "Drop an audio file here or open one (Ctrl+O)"
    NO_INPUT = ("No audio input device found: connect a microphone or an interface, then "
                "choose Transport > Rescan audio devices")

    def _update_record_action(self, reason: str = "") -> None:
        """Record is enabled only when there is an input to record from (the reason shows in
        its tooltip and the status bar otherwise)."""
        if self.capture is not None:
            self.act_record.setEnabled(True)
            return
        if self.input_devices == []:
            reason = reason or self.NO_INPUT
            self.act_record.setEnabled(False)
            self.act_record.setToolTip(reason)
            self.act_record.setStatusTip(reason)
            self.record_unavailable = reason
            # the start-up hints stop offering Ctrl+R
            self.spectrogram.set_hint(self.START_HINT_NO_INPUT)
            if self.status_label.text() == self.START_STATUS:
                self.status_label.setText(self.START_STATUS_NO_INPUT)
        else:
            tip = "Record from the chosen input (press again to stop)  (Ctrl+R)"
            self.act_record.setEnabled(True)
            self.act_record.setToolTip(tip)
            self.act_record.setStatusTip(tip)
            self.record_unavailable = ""

    def _device_changed(self, _i: int) -> None:
        self.settings.set("audio/input_device", self.device_combo.currentData())

    def take_folder(self) -> Path:
        """Folder where takes are saved (remembered in QSettings)."""
        default = Path.home() / "Music" / "musicapp-takes"
        return Path(self.settings.get("folders/takes", str(default)))

    def toggle_record(self) -> None:
        """Start or stop recording."""
        if self.capture is None:
            if not self.start_recording():
                self.act_record.setChecked(False)
        else:
            self.stop_recording()

    def start_recording(self, path: str | None = None, device=None) -> bool:
        """Record to ``path`` (default: a new file in the take folder); returns False when it
        cannot start. The loaded track stays until the take has audio; nothing is created on
        disk for a take that never started."""
        if self.capture is not None:
            return False
        if device is None and self.input_devices == []:
            self.show_message(self.record_unavailable or self.NO_INPUT, "info")
            self.act_record.setChecked(False)
            return False
        self.stop_playback()
        self.clear_message()
        if path is None:  # the folder is created by the capture thread once the input opens
            path = str(self.take_folder() / time.strftime("take-%Y%m%d-%H%M%S.wav"))
        device = device if device is not None else self.device_combo.currentData()
        self.take_path = path
        self._take_live = False
        self._take_opened = False  # set once the input is open
        self._take_rate = RECORDING.sample_rate
        from musicapp.gui.live import LiveCapture

        cap = LiveCapture(path, device=device, sample_rate=RECORDING.sample_rate, parent=self)
        cap.frames.connect(self._on_live_frames)
        cap.samples.connect(self._on_live_samples)
        cap.level.connect(self._on_level)
        cap.started_ok.connect(self._on_record_started)
        cap.failed.connect(self._on_record_failed)
        cap.finished_take.connect(self._on_take_finished)
        self.capture = cap
        self.record_overflows = 0
        cap.start()
        self.act_record.setChecked(True)
        self.act_record.setText("■ Stop")
        self._update_enabled()
        self.show_info(f"Opening the input for {path}…")
        return True

    def _begin_take_view(self) -> None:
        """The take has audio: it replaces the loaded track in the views."""
        if self._take_live:
            return
        self._take_live = True
        self.track = None
        self.analysis = None
        self._shown_generation += 1
        self.analysis_panel.clear()
        self._set_summary(None)
        self.spectrogram.begin_live()
        self.overview.begin_live(self._take_rate)
        self.overview.set_cursor(0.0)
        self.redraw_timer.start()
        self._update_enabled()
        self.show_info(f"Recording to {self.take_path}")

    def _on_live_samples(self, block) -> None:
        self._begin_take_view()
        self.overview.append_live(block)
        if self._harmony_visible():
            from musicapp.gui.musician_views import BLOCK

            live = self._live_tail = np.concatenate(
                [getattr(self, "_live_tail", np.zeros(0, np.float32)), block])[-2 * BLOCK:]
            now = time.perf_counter()
            if now - getattr(self, "_last_tuner", 0.0) > 0.1 and live.size >= BLOCK:
                self._last_tuner = now
                self.musician_view.show_block(live[-BLOCK:], self._take_rate,
                                              "Live input: spectrum and tuner")

    def _on_live_frames(self, frames) -> None:
        self._begin_take_view()
        self.spectrogram.append_frames(frames)

    def stop_recording(self) -> None:
        """Stop recording; the take is loaded when the capture thread has closed it."""
        if self.capture is not None:
            self.capture.request_stop()

    def _on_record_started(self, rate: int) -> None:
        self._take_rate = int(rate)
        self._take_opened = True

    def _on_level(self, dbfs: float, overflows: int, elapsed: float) -> None:
        self.record_level = dbfs
        self.record_overflows = overflows
        self.level_meter.setValue(int(max(-60.0, min(0.0, dbfs))) if np.isfinite(dbfs) else -60)
        self.time_label.setText(f"● {_fmt(elapsed)}")
        if overflows:
            self.level_meter.setToolTip(f"Input level; {overflows} input overflows")

    def _on_record_failed(self, message: str) -> None:
        kept = ""
        if self.take_path and Path(self.take_path).exists():
            kept = f" The take so far is kept in {self.take_path}."
        if kept and "kept" in message:
            kept = ""
        what = "Recording stopped" if self._take_opened else "Could not start recording"
        self.show_message(f"{what}: {message}.{kept}".replace("..", "."))

    def _on_take_finished(self, path: str, seconds: float, overflows: int) -> None:
        cap, self.capture = self.capture, None
        if cap is not None:
            cap.wait(2000)
        self.redraw_timer.stop()
        live, self._take_live = self._take_live, False
        if live:
            self.spectrogram.refresh_live()
            self.spectrogram.end_live()
            self.overview.refresh_live()
        self.act_record.setChecked(False)
        self.act_record.setText("● Record")
        self.level_meter.setValue(-60)
        self.time_label.setText(f"{_fmt(0.0)}" if self.track is None else
                                f"{_fmt(self.spectrogram.cursor.value())} / "
                                f"{_fmt(self.track.duration_s)}")
        self.record_overflows = overflows
        self._update_enabled()
        self._update_record_action()
        self.take_finished.emit(path, seconds)
        if Path(path).exists() and seconds > 0:
            note = f"Take saved: {path} ({seconds:.1f} s"
            note += f", {overflows} input overflows)" if overflows else ")"
            if not self.message.isVisible():
                self.show_info(note)
            self.open_file(path, keep_message=True)  # a recording error stays on screen

    def _redraw_live(self) -> None:
        if self.spectrogram.refresh_live():
            # the model loads once frames flow, so it never delays the start of a take
            self._ensure_feature_engine()
            self._submit_live_maps()
        now = time.perf_counter()
        if now - getattr(self, "_last_overview", 0.0) > 0.25:
            self._last_overview = now
            self.overview.refresh_live()

    # ------------------------------------------------------------------ feature maps
    def _ensure_feature_engine(self) -> bool:
        if self.feature_engine is not None:
            return True
        from musicapp.gui.live import FeatureMapEngine

        self.feature_engine = FeatureMapEngine(parent=self)
        self.feature_engine.maps_ready.connect(self._on_maps)
        self.feature_engine.failed.connect(self._on_maps_failed)
        self.feature_engine.device_ready.connect(
            lambda d: self.device_label.setText(f"Models: {device_name(d)}"))
        self.feature_engine.start()
        return True

    def _submit_live_maps(self) -> None:
        now = time.perf_counter()
        if now - self._last_map_submit < 0.4 or self.feature_engine is None:
            return
        frames = self.spectrogram.frames
        if len(frames) < 16:
            return
        self._last_map_submit = now
        shown = min(len(frames), MEL.patch_frames) * MEL.frame_seconds
        self._map_source = f"Live: the last {shown:.1f} s"
        self.feature_engine.submit(frames[-MEL.patch_frames:])

    def _maps_for_cursor(self) -> None:
        """Compute the maps of the 3-s patch at the cursor (when the tab is visible)."""
        if self.track is None or self.capture is not None:
            return
        if self.tabs.currentIndex() != list(self._panel_factories).index("features"):
            return
        if not self._ensure_feature_engine():
            return
        t = float(self.spectrogram.cursor.value())
        start = int(t / MEL.frame_seconds)
        frames = self.track.logmel[start:start + MEL.patch_frames]
        if len(frames) < MEL.patch_frames:
            frames = self.track.logmel[-MEL.patch_frames:]
            start = max(0, len(self.track.logmel) - MEL.patch_frames)
        self._map_position = t
        self._map_source = f"{Path(self.track.path).name}: {start * MEL.frame_seconds:.1f} s " \
                           f"to {(start + len(frames)) * MEL.frame_seconds:.1f} s"
        self.feature_engine.submit(frames)
        if self.feature_view.current_map() is None:  # the first maps take a few seconds
            self.feature_view.source.set_full_text(
                f"Computing the feature maps of {self._map_source}…")

    def _on_maps(self, maps: dict, tags) -> None:
        self.feature_view.set_maps(maps, tags, getattr(self, "_map_source", ""))

    def _on_maps_failed(self, message: str) -> None:
        self.feature_view.source.setText(message)
        if self.feature_engine is not None and not self.feature_engine.isRunning():
            self.feature_engine = None

    # ------------------------------------------------------------------ playback
    def toggle_play(self) -> None:
        """Play or pause the current track from the cursor."""
        if self.capture is not None or self.track is None:
            return
        if self.player is not None and self.player.playing:
            self.player.pause()
            self.cursor_timer.stop()
            self.act_play.setText("▶ Play")
            self._map_position = -1
            self._maps_for_cursor()
            return
        try:
            if self.player is None:
                from musicapp.audio.player import Player

                self.player = Player(self.track.play, self.track.play_sr)
                self.player.seek(float(self.spectrogram.cursor.value()))
            self.player.play()
        except Exception as exc:
            from musicapp.gui.workers import describe_error

            self.player = None
            self.show_message(f"Cannot play: {describe_error(exc)}")
            return
        self.act_play.setText("❚❚ Pause")
        self.cursor_timer.start()

    def stop_playback(self) -> None:
        """Stop and release the output device."""
        self.cursor_timer.stop()
        if self.player is not None:
            with contextlib.suppress(Exception):  # a vanished device must not block closing
                self.player.stop()
            self.player = None
        self.act_play.setText("▶ Play")

    def seek(self, seconds: float) -> None:
        """Move the cursor (and the player) to ``seconds``."""
        if self.capture is not None or self.track is None:
            return
        seconds = max(0.0, min(seconds, self.track.duration_s))
        if self.player is not None:
            self.player.seek(seconds)
        self._set_cursor(seconds)
        self._keep_in_view(seconds)
        self.map_timer.start()
        self._spectrum_at_cursor()

    def _keep_in_view(self, seconds: float) -> None:
        """A cursor moved outside the spectrogram's view (a click on the overview) brings the
        view to it, centred, at the same zoom."""
        x0, x1 = self.spectrogram.plot.viewRange()[0]
        if x0 <= seconds <= x1 or x1 <= x0:
            return
        w = x1 - x0
        start = max(0.0, min(seconds - w / 2, max(0.0, self.spectrogram.duration_s - w)))
        self.spectrogram.set_view_range(start, start + w)

    def _set_cursor(self, seconds: float) -> None:
        self.spectrogram.set_cursor(seconds)
        self.overview.set_cursor(seconds)
        if "harmony" in self._panels:
            self.musician_view.set_cursor(seconds)
        total = self.track.duration_s if self.track else 0.0
        self.time_label.setText(f"{_fmt(seconds)} / {_fmt(total)}")

    def _update_cursor(self) -> None:
        if self.player is None:
            return
        pos = float(self.player.position_s)
        self._set_cursor(pos)
        self._spectrum_at_cursor()
        x0, x1 = self.spectrogram.plot.viewRange()[0]
        if pos > x1 or pos < x0:  # page the view along with the cursor
            w = x1 - x0
            self.spectrogram.set_view_range(pos, pos + w)
        if not self.player.playing:
            self.cursor_timer.stop()
            self.act_play.setText("▶ Play")

    # ------------------------------------------------------------------ view
    def zoom(self, factor: float) -> None:
        """Zoom the spectrogram's time axis, keeping the play cursor in view: at the same place
        on screen when it is visible, in the middle otherwise."""
        x0, x1 = self.spectrogram.plot.viewRange()[0]
        w = max(0.5, (x1 - x0) * factor)
        if self.capture is not None:
            self.spectrogram.live_window_s = w
            self.spectrogram.set_view_range(max(0.0, x1 - w), max(0.0, x1 - w) + w)
            return
        cursor = float(self.spectrogram.cursor.value())
        if x0 <= cursor <= x1 and x1 > x0:
            start = cursor - (cursor - x0) * (w / (x1 - x0))
        else:
            start = cursor - w / 2
        dur = self.spectrogram.duration_s
        if dur > 0:
            start = min(start, max(0.0, dur - w))
        start = max(0.0, start)
        self.spectrogram.set_view_range(start, start + w)

    def zoom_fit(self) -> None:
        """Show the whole track."""
        dur = self.spectrogram.duration_s
        if dur > 0:
            self.spectrogram.set_view_range(0, dur)

    def show_about(self) -> None:
        """The About box with the model licences."""
        from musicapp.gui.about import AboutDialog

        AboutDialog(self).exec()

    def _update_enabled(self) -> None:
        has_track = self.track is not None
        recording = self.capture is not None
        self.act_play.setEnabled(has_track and not recording)
        self.act_analyze.setEnabled(has_track and not recording and self.analysis_task is None)
        self.act_open.setEnabled(not recording)
        self.act_export_json.setEnabled(self.analysis is not None)
        self.act_export_csv.setEnabled(self.analysis is not None)
        self.act_export_midi.setEnabled(self.analysis is not None)
        self.act_export_jams.setEnabled(self.analysis is not None)
        self.device_combo.setEnabled(not recording)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop every thread and device (called on close)."""
        self.redraw_timer.stop()
        self.cursor_timer.stop()
        self.stop_playback()
        if self.capture is not None:
            cap = self.capture
            cap.request_stop()
            cap.wait(5000)
        self.runner.cancel_all()
        for panel in self._panels.values():
            if hasattr(panel, "shutdown"):
                panel.shutdown()
        self.runner.wait(10000)
        if self.feature_engine is not None:
            self.feature_engine.shutdown()
            self.feature_engine = None
        if self.analysis_worker is not None:
            self.analysis_worker.stop()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_state()
        self.shutdown()
        super().closeEvent(event)


def _fmt(seconds: float) -> str:
    """The time display's m:ss.t (59.96 s read "0:60.0" before; the time axes' rule now)."""
    return clock_label(max(0.0, float(seconds)), 0.1)
