"""The waveform overview: envelope, navigation window and seeking by click."""

from __future__ import annotations

import numpy as np
import pytest


def test_a_click_on_the_overview_seeks_to_that_time_and_the_window_follows(qtbot):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from musicapp.gui.waveform import WaveformOverview

    view = WaveformOverview()
    qtbot.addWidget(view)
    view.resize(800, 70)
    view.show()
    qtbot.waitExposed(view)
    sr = 8000
    t = np.arange(10 * sr) / sr
    view.set_audio((0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
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
