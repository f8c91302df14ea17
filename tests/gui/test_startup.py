"""Start-up cost and the PySide6 signal leak regression."""

from __future__ import annotations

import subprocess
import sys


def test_gui_import_does_not_import_torch():
    code = (
        "import sys\n"
        "import musicapp.gui.app, musicapp.gui.main_window\n"
        "bad = [m for m in ('torch', 'librosa', 'numba') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"QT_QPA_PLATFORM": "offscreen", **_env()})
    assert out.stdout.strip() == "", f"imported at GUI start: {out.stdout}"


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}


def test_signal_emit_does_not_leak_true(qapp):
    """PySide6 6.12.0 leaked a reference to True on every emit and then aborted."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        flag = Signal(bool)
        data = Signal(object)

    received = [0]
    e = Emitter()

    def on_flag(v: bool) -> None:
        received[0] += 1  # count only: storing v would hold references to True

    e.flag.connect(on_flag)
    e.data.connect(lambda v: None)
    for _ in range(200):  # warm-up
        e.flag.emit(True)
    before = sys.getrefcount(True)
    for i in range(10_000):
        e.flag.emit(True)
        e.data.emit(i)
    after = sys.getrefcount(True)
    assert received[0] == 10_200
    assert abs(after - before) < 100, f"refcount of True grew by {after - before}"


def test_pyqtgraph_setimage_many_times(qtbot):
    """pyqtgraph emits a signal per setImage: the live spectrogram path must stay stable."""
    import numpy as np

    from musicapp.gui.spectrogram import SpectrogramView

    view = SpectrogramView()
    qtbot.addWidget(view)
    view.begin_live()
    before = sys.getrefcount(True)
    for _ in range(2000):
        view.append_frames(np.random.default_rng(0).random((2, 96), dtype=np.float32))
        view.refresh_live()
    assert abs(sys.getrefcount(True) - before) < 100
    assert len(view.frames) == 4000
