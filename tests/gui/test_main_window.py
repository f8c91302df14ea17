"""The main window's layout from 1024x640 to 1920x1080: the spectrogram and its lanes keep
their room, the panels under them collapse to a one-line summary, splitter positions are kept
without ever squeezing the plots, and no text is cut."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from tests.gui.conftest import load

ANALYSIS = {"key": {"tonic": "A", "mode": "minor", "confidence": 0.55}, "tempo_bpm": 120.0,
            "meter": "4/4", "energy": 3, "duration_s": 12.0, "status": "ok"}


def _fits(widget, text: str | None = None) -> bool:
    """The widget's text is drawn whole within its width (QFontMetrics)."""
    text = widget.text() if text is None else text
    return QFontMetrics(widget.font()).horizontalAdvance(text) <= widget.width()


def _plot_height(window) -> float:
    """Height of the spectrogram itself (its view box, the lanes not counted)."""
    return window.spectrogram.plot.getViewBox().height()


def _lanes_readable(window) -> None:
    spec = window.spectrogram
    for lane in (spec.mood_plot, spec.feel_plot, spec.beat_plot, spec.chord_plot):
        assert lane.isVisible() and lane.getViewBox().height() >= 10
        assert spec.rect().contains(spec.mapFromScene(lane.sceneBoundingRect()).boundingRect())


def _show_analysis(qtbot, window, track_file) -> None:
    load(qtbot, window, track_file)
    window.set_analysis(ANALYSIS)
    window.tabs.setCurrentWidget(window.analysis_panel)


def test_small_window_collapses_the_panels_to_a_summary(qtbot, window, track_file):
    _show_analysis(qtbot, window, track_file)
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.panels_compact, timeout=5000)
    qtbot.wait(200)
    assert _plot_height(window) >= 200  # was about 90 with the panels open
    _lanes_readable(window)
    assert window.tabs.height() <= window.tabs.tabBar().height() + 8  # one line
    summary = window.summary
    assert summary.full_text == "A minor · 120.0 BPM · 4/4 · track energy 3/10"
    assert summary.text() == summary.full_text and _fits(summary)  # whole, not elided
    # the longest tempo text (unsure, a close half level) still fits at 1024 px
    window.set_analysis({**ANALYSIS, "tempo_bpm": 143.8, "tempo_confidence": 0.1,
                         "tempo_candidates": [{"bpm": 143.8, "relation": "tactus", "score": 0.5},
                                              {"bpm": 71.9, "relation": "half", "score": 0.45}]})
    qtbot.wait(50)
    assert summary.full_text == "A minor · ~143.8 BPM (or 71.9) · 4/4 · track energy 3/10"
    assert summary.text() == summary.full_text and _fits(summary)
    assert window.details_button.text() == "▾ Show details" and _fits(window.details_button)
    bar = window.tabs.tabBar()
    for i in range(bar.count()):  # every tab title whole
        assert QFontMetrics(bar.font()).horizontalAdvance(bar.tabText(i)) <= bar.tabRect(i).width()
    corner = window.tabs.cornerWidget()
    assert corner.geometry().left() >= bar.geometry().right()  # the summary beside the tabs


def test_large_window_keeps_the_panels_open(qtbot, window, track_file):
    from musicapp.gui.main_window import PANEL_MIN_HEIGHT

    _show_analysis(qtbot, window, track_file)
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: window.spectrogram.height() > 400, timeout=5000)
    qtbot.wait(200)
    assert not window.panels_compact
    assert _plot_height(window) >= 200
    _lanes_readable(window)
    assert window.tabs.height() >= PANEL_MIN_HEIGHT
    assert window.overview.isVisible()
    assert _fits(window.summary) and window.summary.text() == window.summary.full_text
    assert window.details_button.text() == "▴ Hide details" and _fits(window.details_button)
    panel = window.analysis_panel
    for label in (panel.key_label, panel.tempo_label, panel.meter_label, panel.energy_label):
        assert _fits(label), label.text()


def test_details_toggle_and_tabs_open_the_panels(qtbot, window, track_file, settings):
    from musicapp.gui.main_window import MainWindow

    _show_analysis(qtbot, window, track_file)
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.panels_compact, timeout=5000)
    bar = window.tabs.tabBar()
    # a click on the Analysis tab itself opens them
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(0).center())
    assert not window.panels_compact
    assert settings.value("ui/panels_compact") is None  # a tab click is not a lasting choice
    qtbot.wait(200)
    assert window.tabs.height() >= 200 and _plot_height(window) >= 80
    _lanes_readable(window)
    window.details_button.click()  # collapse: the user's choice, remembered
    assert window.panels_compact
    window.tabs.setCurrentWidget(window.composer)  # another panel: opened for it
    assert not window.panels_compact
    qtbot.wait(200)
    assert window.composer.roll.height() >= 100  # was about 45
    window.tabs.setCurrentWidget(window.analysis_panel)
    assert not window.panels_compact
    window.act_details.trigger()  # View menu, Ctrl+Shift+D
    assert window.panels_compact and not window.details_button.isChecked()
    window.details_button.click()
    assert not window.panels_compact and window.act_details.isChecked()
    window.details_button.click()
    assert window.panels_compact and settings.value("ui/panels_compact") in (True, "true")
    window.close()
    # the remembered choice wins over the window size: collapsed even in a tall window
    w2 = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w2)
    w2.resize(1280, 800)
    w2.show()
    qtbot.waitExposed(w2)
    assert w2.panels_compact and not w2.details_button.isChecked()
    w2.close()


def test_splitter_position_is_remembered(qtbot, settings):
    from musicapp.gui.main_window import MainWindow

    w = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w)
    w.resize(790, 760)  # fits the offscreen screen: the same size comes back
    w.show()
    qtbot.waitExposed(w)
    total = sum(w.splitter.sizes())
    w.splitter.setSizes([total - 210, 210])
    sizes = w.splitter.sizes()
    w.close()
    w2 = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w2)
    w2.show()
    qtbot.waitExposed(w2)
    assert w2.size() == w.size() and not w2.panels_compact
    assert all(abs(a - b) <= 1 for a, b in zip(w2.splitter.sizes(), sizes, strict=True))
    w2.close()


@pytest.mark.parametrize("size, plot_min", [((1280, 800), 160), ((1024, 640), 200)])
def test_an_old_splitter_state_cannot_squeeze_the_plots(qtbot, settings, track_file, size,
                                                        plot_min):
    from musicapp.gui.main_window import MainWindow

    big = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(big)
    big.resize(1920, 1080)
    big.show()
    qtbot.waitExposed(big)
    big.splitter.setSizes([0, 5000])  # everything to the panels
    big.splitter.splitterMoved.emit(0, 1)  # as a drag does: the position is saved
    assert big.splitter.sizes()[0] == big.splitter.widget(0).minimumSizeHint().height()
    big.close()
    w = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    load(qtbot, w, track_file)
    w.tabs.setCurrentWidget(w.analysis_panel)
    qtbot.wait(200)
    assert _plot_height(w) >= plot_min
    _lanes_readable(w)
    w.close()


def test_a_finished_analysis_is_shown_step_by_step_and_a_new_track_stops_it(qtbot, window,
                                                                            track_file):
    """Shown in steps with repaints between them (one big update stalled the event loop for
    ~100 ms); the signal comes once all is on screen; a track opened meanwhile stops the rest."""
    load(qtbot, window, track_file)
    chords = [{"start": 0.0, "end": 2.0, "label": "A:min"}, {"start": 2.0, "end": 4.0, "label": "F:maj"}]
    result = dict(ANALYSIS, chords=chords, beats=[0.5 * i for i in range(8)])
    done: list = []
    window.analysis_finished.connect(done.append)
    window.set_analysis(result, staged=True, then=lambda: window.analysis_finished.emit(
        window.analysis))
    assert window.summary.full_text.startswith("A minor")  # the first step at once
    assert not done and len(window.spectrogram._chord_labels) == 0  # the lanes come later
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert len(window.spectrogram._chord_labels) == 2
    window.set_analysis(result, staged=True, then=lambda: done.append("second"))
    window.set_track(window.track)  # a new track: the old result's remaining steps stop
    qtbot.wait(300)
    assert "second" not in done and window.analysis is None
    assert len(window.spectrogram._chord_labels) == 0


def test_a_track_opened_while_another_is_analysed_gets_its_own_analysis(qtbot, window, tmp_path,
                                                                        track_file):
    """Opening B while A's analysis runs cancels A: A's result was drawn over B's spectrogram
    (chords, beats, moods of another file) and B could not be analysed until A finished."""
    from tests.gui.conftest import SR, make_track
    from tests.helpers.signals import write_audio

    long_a = write_audio(tmp_path / "long-a.wav", make_track(repeats=10), SR)  # 60 s
    load(qtbot, window, long_a)
    window.start_analysis()
    assert window.analysis_task is not None
    load(qtbot, window, track_file)  # B, 12 s, decoded while A is being analysed
    assert window.track is not None and window.track.duration_s == pytest.approx(12.0, abs=0.1)
    assert window.analysis_task is None  # A's analysis is gone with its track
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000) as blocker:
        window.start_analysis()
    assert blocker.args[0].path == window.track.path
    qtbot.wait(500)  # nothing of A's task arrives later
    assert window.analysis is not None and window.analysis.path == window.track.path
    assert window.analysis.duration_s == pytest.approx(window.track.duration_s, abs=0.1)
    assert window.status_label.text().startswith("Analysis finished in")
    with qtbot.waitSignal(window.analysis_finished, timeout=30_000):
        window.start_analysis()  # the same file again: its result comes from the cache ...
    assert window.analysis_from_cache  # ... and the status line says so (not "in 0.0 s")
    assert window.status_label.text() == ("Analysis loaded from the cache: this file was "
                                          "analysed before")


def test_a_damaged_file_opens_with_a_note_that_part_of_it_is_missing(qtbot, window, tmp_path,
                                                                     track_file):
    """The decoder's warnings (a truncated WAV, undecodable FLAC frames) were dropped: the
    window showed half a song as if it were the whole one."""
    data = track_file.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])  # the header still declares 12 s
    load(qtbot, window, cut)
    assert window.track is not None and window.track.duration_s < 7.0
    text = window.message.text()
    assert window.message.isVisible() and "cut.wav is damaged" in text and "truncated" in text
    window.start_analysis()  # the note stays while the damaged file is analysed
    assert "cut.wav is damaged" in window.message.text()
    window.cancel_work()
    qtbot.waitUntil(lambda: window.analysis_task is None, timeout=30_000)
    load(qtbot, window, track_file)  # a sound file: no note
    assert not window.message.isVisible()


def test_a_click_on_the_overview_outside_the_view_brings_the_spectrogram_there(qtbot, window,
                                                                               track_file):
    """The cursor moved to 9 s while the spectrogram showed 0-3 s: the feel read-out then
    described a place the musician could not see."""
    load(qtbot, window, track_file)  # 12 s
    window.spectrogram.set_view_range(0.0, 3.0)
    window.overview.seek_requested.emit(9.0)  # what a click on the overview at 9 s sends
    x0, x1 = window.spectrogram.plot.viewRange()[0]
    assert x0 <= 9.0 <= x1 and x1 - x0 == pytest.approx(3.0, abs=0.01)  # same zoom
    assert window.spectrogram.cursor.value() == pytest.approx(9.0)
    window.overview.seek_requested.emit(9.5)  # inside the view: the view stays
    assert window.spectrogram.plot.viewRange()[0] == pytest.approx([x0, x1])


def test_a_new_track_forgets_the_last_one_s_mood_names(qtbot, window, track_file):
    load(qtbot, window, track_file)
    window.set_analysis({"duration_s": 12.0, "moods": [{"name": "sad", "percentile": 0.9}],
                         "mood_curve": {"names": ["sad"], "seconds_per_step": 3.0,
                                        "values": [[0.9], [0.8], [0.7], [0.9]]}})
    window.spectrogram.clear_all()
    assert window.spectrogram.mood_names == []
    axis = window.spectrogram.mood_plot.getAxis("left")
    assert [name for _v, name in axis._tickLevels[0]] in (["mood"], ["moods"])


def test_the_time_display_never_reads_60_seconds():
    from musicapp.gui.main_window import _fmt

    assert _fmt(59.96) == "1:00.0"  # was "0:60.0"
    assert (_fmt(5.0), _fmt(80.0), _fmt(-1.0)) == ("0:05.0", "1:20.0", "0:00.0")
