"""Fixtures for the GUI tests: an isolated main window and generated music."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.signals import chord, write_audio

SR = 22050
# A minor - F major - C major - G major, one chord per 1.5 s, with a click on every beat
PROGRESSION = [
    [220.0, 261.63, 329.63],
    [174.61, 220.0, 261.63],
    [130.81, 164.81, 196.0],
    [196.0, 246.94, 293.66],
]


def make_track(seconds_per_chord: float = 1.5, repeats: int = 2) -> np.ndarray:
    """A short chord progression with beat clicks (float32, mono, 22.05 kHz)."""
    parts = [chord(f, seconds_per_chord, SR, 0.5) for _ in range(repeats) for f in PROGRESSION]
    y = np.concatenate(parts)
    beat = int(0.5 * SR)
    click = (np.exp(-np.arange(400) / 60.0) * np.random.default_rng(0).standard_normal(400))
    for start in range(0, len(y) - 400, beat):
        y[start:start + 400] += 0.3 * click.astype(np.float32)
    return np.clip(y, -1, 1).astype(np.float32)


@pytest.fixture(scope="session")
def track_file(tmp_path_factory) -> Path:
    """A generated 12-s WAV of a chord progression."""
    path = tmp_path_factory.mktemp("gui-audio") / "progression.wav"
    return write_audio(path, make_track(), SR)


@pytest.fixture(scope="session")
def corrupt_file(tmp_path_factory) -> Path:
    """A file named .wav that holds no audio."""
    path = tmp_path_factory.mktemp("gui-bad") / "broken.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8)
    return path


@pytest.fixture
def settings(tmp_path):
    """A QSettings store in a temporary INI file (the user's settings stay untouched)."""
    from PySide6.QtCore import QSettings

    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    store.setValue("folders/takes", str(tmp_path / "takes"))
    return store


@pytest.fixture
def window(qtbot, settings):
    """The real main window, shown (offscreen), closed after the test."""
    from musicapp.gui.main_window import MainWindow

    w = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def load(qtbot, window, path, timeout=60_000) -> None:
    """Open ``path`` in ``window`` and wait until it is shown or failed."""
    window.open_file(str(path))
    qtbot.waitUntil(lambda: window.load_task is None, timeout=timeout)


@pytest.fixture(autouse=True)
def collect_qt_objects_between_tests():
    """Delete the previous test's widgets here, at a quiet moment: left to the garbage collector,
    a window's destructor can run inside the next test's signal handler while another thread
    holds a Qt connection lock (seen as a deadlock in the live-recording test)."""
    import gc

    yield
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        for widget in QApplication.topLevelWidgets():
            widget.close()
            widget.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()
    gc.collect()


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    """Each test gets its own data folder (log, analysis cache): no test reads another's
    cached analysis, and the user's folder stays untouched."""
    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def shown_spectrogram(qtbot, seconds: float, size: tuple[int, int] = (1000, 420)):
    """A :class:`SpectrogramView` on screen holding ``seconds`` of a silent spectrogram."""
    from musicapp.gui.spectrogram import SpectrogramView

    view = SpectrogramView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.set_spectrogram(np.zeros((int(seconds / view.frame_s), 96), np.float32))
    return view
