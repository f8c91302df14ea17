"""The waveform overview: envelope, navigation window and seeking by click."""

from __future__ import annotations

import numpy as np
import pytest


def _shown_overview(qtbot, samples: np.ndarray, sr: int):
    """A :class:`WaveformOverview`, 800x70 on screen, showing ``samples``."""
    from musicapp.gui.waveform import WaveformOverview

    view = WaveformOverview()
    qtbot.addWidget(view)
    view.resize(800, 70)
    view.show()
    qtbot.waitExposed(view)
    view.set_audio(samples, sr)
    return view


def test_a_click_on_the_overview_seeks_to_that_time_and_the_window_follows(qtbot):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    sr = 8000
    t = np.arange(10 * sr) / sr
    view = _shown_overview(qtbot, (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    assert view.duration_s == pytest.approx(10.0)
    assert view.lane.viewRange()[0] == pytest.approx([0.0, 10.0])
    assert float(np.max(view.upper.yData)) == pytest.approx(0.5, abs=0.01)
    vb = view.lane.getViewBox()
    seeks: list[float] = []
    view.seek_requested.connect(seeks.append)
    point = view.mapFromScene(vb.sceneBoundingRect().center())  # the middle: 5 s
    view.set_region(2.0, 4.0)  # the spectrogram shows 2-4 s: the click lands outside it
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(point.x(), point.y()))
    qtbot.waitUntil(lambda: bool(seeks), timeout=3000)
    assert seeks[-1] == pytest.approx(5.0, abs=0.2)
    assert view.region.getRegion() == pytest.approx((2.0, 4.0))
    # the time axis sits below the whole width of the envelope
    axis = view.lane.getAxis("bottom")
    assert axis.isVisible()
    assert axis.sceneBoundingRect().width() == pytest.approx(vb.sceneBoundingRect().width(), abs=1)


def _drag(view, start, end, steps: int = 6) -> None:
    """A real left-button drag on the view's viewport (press, moves with the button held,
    release), as pyqtgraph's own UI tests send it."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    def send(kind, pos, buttons):
        pos = QPointF(pos)
        glob = QPointF(view.viewport().mapToGlobal(pos.toPoint()))
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        ev = QMouseEvent(kind, pos, glob, button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), ev)

    left = Qt.MouseButton.LeftButton
    send(QEvent.Type.MouseButtonPress, start, left)
    for i in range(1, steps + 1):
        send(QEvent.Type.MouseMove, start + (end - start) * (i / steps), left)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


@pytest.mark.parametrize("towards", ["end", "start"])
def test_the_view_window_dragged_past_an_end_stops_there_with_its_width(qtbot, towards):
    """Dragged past the track's end (or start) the window stopped nowhere: it left the track
    while the spectrogram stayed clamped, so the two disagreed."""
    from PySide6.QtCore import QPointF

    view = _shown_overview(qtbot, np.zeros(20 * 8000, np.float32), 8000)  # 20 s
    view.set_region(8.0, 12.0)
    shown: list[tuple[float, float]] = []
    view.region_changed.connect(lambda a, b: shown.append((a, b)))
    vb = view.lane.getViewBox()

    def at(seconds: float) -> QPointF:
        scene = vb.mapViewToScene(QPointF(seconds, 0.0))
        return QPointF(view.mapFromScene(scene))

    target = 40.0 if towards == "end" else -20.0  # far past the end
    _drag(view, at(10.0), at(target))
    lo, hi = view.region.getRegion()
    assert hi - lo == pytest.approx(4.0, abs=0.05)  # the width is kept
    expected = (16.0, 20.0) if towards == "end" else (0.0, 4.0)
    assert (lo, hi) == pytest.approx(expected, abs=0.05)
    assert shown and shown[-1] == pytest.approx(expected, abs=0.05)  # the spectrogram follows
