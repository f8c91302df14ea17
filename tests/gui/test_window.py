"""Drive the real main window offscreen: open, spectrogram, analysis, export, bad input."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from musicapp.gui.analysis_view import export_csv, export_json, flatten_result
from musicapp.gui.spectrogram import band_of_frequency
from musicapp.track_analysis import TrackAnalysis
from tests.gui.conftest import load


def test_load_file_fills_spectrogram_and_overview(qtbot, window, track_file):
    from musicapp.audio import load_audio
    from musicapp.features import log_mel

    load(qtbot, window, track_file)
    assert window.track is not None, window.message.text()
    expected = log_mel(load_audio(track_file, sr=16000).samples)
    shown = window.spectrogram.frames
    assert shown.shape == expected.shape
    np.testing.assert_allclose(shown, expected, atol=1e-4)
    image = window.spectrogram.image.image
    assert image is not None and image.shape == expected.shape
    # the A minor chord (220/262/330 Hz) is louder in its bands than at 4 kHz
    first = shown[: int(1.4 / window.spectrogram.frame_s)]
    assert first[:, band_of_frequency(220)].mean() > first[:, band_of_frequency(4000)].mean() + 1
    assert window.spectrogram.duration_s == pytest.approx(12.0, abs=0.05)
    assert window.overview.duration_s == pytest.approx(12.0, abs=0.01)
    assert window.act_play.isEnabled() and window.act_analyze.isEnabled()
    assert str(track_file.resolve()) in window.settings.recent_files


def test_seek_moves_cursor_and_zoom(qtbot, window, track_file):
    load(qtbot, window, track_file)
    window.seek(5.0)
    assert window.spectrogram.cursor.value() == pytest.approx(5.0)
    assert window.overview.cursor.value() == pytest.approx(5.0)
    window.zoom_fit()
    x0, x1 = window.spectrogram.plot.viewRange()[0]
    window.zoom(0.5)
    y0, y1 = window.spectrogram.plot.viewRange()[0]
    assert (y1 - y0) == pytest.approx((x1 - x0) / 2, rel=0.05)
    # the overview's window follows the spectrogram's view
    r0, r1 = window.overview.region.getRegion()
    assert (r0, r1) == pytest.approx((y0, y1), abs=0.05)


def test_corrupt_file_dropped_shows_message_and_app_stays_usable(qtbot, window, corrupt_file,
                                                                 track_file):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(corrupt_file))])
    event = QDropEvent(QPoint(400, 300).toPointF(), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.load_task is None, timeout=30_000)
    assert window.message.isVisible()
    assert "broken.wav" in window.message.text()
    assert window.track is None
    load(qtbot, window, track_file)
    assert window.track is not None
    assert not window.message.isVisible()


def test_full_analysis_runs_to_completion_and_exports(qtbot, window, track_file, tmp_path):
    load(qtbot, window, track_file)
    with qtbot.waitSignal(window.analysis_finished, timeout=180_000) as blocker:
        window.start_analysis()
        assert window.progress.isVisible() or window.analysis_task is not None
    result = blocker.args[0]
    assert isinstance(result, TrackAnalysis)
    flat = flatten_result(result)
    assert result.duration_s == pytest.approx(12.0, abs=0.05)
    assert not result.errors, result.errors
    assert flat["moods"] and window.analysis_panel.mood_bars.rows
    assert result.tempo_bpm is not None
    assert window.analysis_panel.tempo_label.text().split("\n")[0].endswith("BPM")
    assert window.act_export_json.isEnabled()
    out_json = export_json(window.analysis, tmp_path / "a.json")
    assert json.loads(out_json.read_text())["duration_s"] == result.duration_s
    out_csv = export_csv(window.analysis, tmp_path / "a.csv")
    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["kind", "start", "end", "label", "value"]
    if flat["chords"]:
        assert any(r[0] == "chord" for r in rows)


def test_analysis_failing_half_way_keeps_partial_results(qtbot, settings, track_file,
                                                         monkeypatch):
    """One part raising must not lose the others or the window."""
    import musicapp.analysis
    from musicapp.gui.main_window import MainWindow

    def broken(samples, sample_rate, progress=None):
        raise RuntimeError("chord model crashed")

    monkeypatch.setattr(musicapp.analysis, "analyze_music", broken)
    w = MainWindow(settings=settings, isolate_analysis=False, auto_analyze=False)
    qtbot.addWidget(w)
    w.show()
    load(qtbot, w, track_file)
    with qtbot.waitSignal(w.analysis_finished, timeout=180_000) as blocker:
        w.start_analysis()
    result = blocker.args[0]
    assert "chord model crashed" in result.errors["music"]
    assert "chord model crashed" in w.message.text()
    assert w.act_analyze.isEnabled() and w.act_play.isEnabled()
    assert flatten_result(result)["moods"]
    w.close()


def test_analysis_can_be_cancelled(qtbot, window, track_file):
    load(qtbot, window, track_file)
    window.start_analysis()
    assert not window.act_analyze.isEnabled()
    task = window.analysis_task
    assert task is not None
    with qtbot.waitSignal(task.signals.cancelled, timeout=30_000):
        window.cancel_work()
    assert window.analysis_task is None
    assert window.act_analyze.isEnabled()


def test_analysis_lanes_and_views_show_a_result(qtbot, window, track_file):
    load(qtbot, window, track_file)
    segs = [{"start": 3.0 * i, "end": 3.0 * i + 3, "valence": -0.4 + 0.2 * i, "arousal": 0.1 * i,
             "moods": [{"tag": "sad", "score": 0.01, "percentile": 90 - 20 * i},
                       {"tag": "happy", "score": 0.02, "percentile": 20 + 20 * i}]}
            for i in range(4)]
    result = {"tags": {"moods": [{"tag": "sad", "score": 0.012, "percentile": 83.0},
                                 {"tag": "happy", "score": 0.02, "percentile": 44.0}],
                       "valence": -0.2, "arousal": 0.15, "segments": segs,
                       "genres": [{"tag": "rock", "score": 0.3}], "device": "cpu"},
              "music": {"key": {"tonic": "A", "mode": "minor", "confidence": 0.8},
                        "tempo_bpm": 120.0, "meter": "4/4",
                        "beats": [0.5 * i for i in range(24)], "downbeats": [2.0 * i for i in
                                                                             range(6)],
                        "chords": [{"start": 0, "end": 1.5, "label": "A:min"},
                                   {"start": 1.5, "end": 3.0, "label": "F:maj"}]}}
    result = {**result["tags"], **result["music"]}  # the pipeline's flat TrackAnalysis form
    window.set_analysis(result)
    panel = window.analysis_panel
    assert panel.key_label.text().startswith("A minor")
    assert panel.tempo_label.text() == "120.0 BPM"
    assert [r[0] for r in panel.mood_bars.rows] == ["sad", "happy"]
    assert panel.mood_bars.rows[0][1] == pytest.approx(0.83)
    assert panel.va_plane.n_points == 4
    assert window.spectrogram.mood_names == ["sad", "happy"]
    assert len(window.spectrogram.beat_curve.getData()[0]) == 48
    labels = [t for t, _l, _r in window.spectrogram.visible_chord_labels()]
    assert labels == ["Am", "F"]  # lead-sheet symbols in the track's key
    assert window.device_label.text() == "Models: CPU"


def test_mood_lanes_show_the_panel_s_top_five_in_its_order(qtbot, window):
    """The lanes summed segment percentiles and could name other moods than the panel's five."""
    tags = ["calm", "dark", "epic", "sad", "tense", "happy"]
    moods = [{"tag": t, "score": 0.5, "percentile": 90.0 - 10 * i} for i, t in enumerate(tags)]
    # every segment puts "happy" (the panel's sixth) first: summed, it would take a lane
    segs = [{"start": 3.0 * i, "end": 3.0 * (i + 1),
             "moods": [{"tag": "happy", "score": 0.9, "percentile": 99.0},
                       {"tag": "calm", "score": 0.5, "percentile": 60.0}]} for i in range(4)]
    window.set_analysis({"duration_s": 12.0, "moods": moods, "segments": segs, "genres": [],
                         "valence": 0.1, "arousal": -0.2})
    panel_top = [r[0] for r in window.analysis_panel.mood_bars.rows[:5]]
    assert panel_top == tags[:5]
    assert window.spectrogram.mood_names == panel_top
    ticks = sorted(window.spectrogram._mood_ticks, reverse=True)  # highest lane first
    assert [name for _y, name in ticks] == panel_top  # read top to bottom like the panel


def test_feature_maps_for_cursor(qtbot, window, track_file):
    load(qtbot, window, track_file)
    window.tabs.setCurrentWidget(window.feature_view)
    if window.feature_view.updates == 0:  # while the first maps are computed, it says so
        assert window.feature_view.source.full_text.startswith("Computing the feature maps of ")
    qtbot.waitUntil(lambda: window.feature_view.updates > 0, timeout=60_000)
    maps = window.feature_view.maps
    assert maps["frontend"].shape == (561, 187)
    assert maps["mid3"].shape[0] == 64
    window.feature_view.layer.setCurrentText("mid2")
    window.feature_view.channel.setValue(10)
    assert window.feature_view.channel.maximum() == 63
    _x, y = window.feature_view.curve.getData()
    np.testing.assert_allclose(y, maps["mid2"][10])
    assert window.device_label.text().startswith("Models:")


def test_settings_persist(qtbot, settings, track_file):
    from musicapp.gui.main_window import MainWindow

    w = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w)
    w.show()
    w.tabs.setCurrentIndex(1)
    w.resize(701, 555)  # the offscreen screen is 800x600
    w.settings.add_recent(str(track_file))
    w.close()
    w2 = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w2)
    assert w2.tabs.currentIndex() == 1
    assert w2.size().width() == 701
    assert w2.recent_menu.actions()[0].toolTip() == str(track_file.resolve())
    w2.close()


def test_about_lists_model_licences():
    from musicapp.gui.about import about_markdown, licence_summary, model_cards

    text = about_markdown()
    if model_cards():
        assert "Licence" in text or "licence" in text
        assert "ISC" in text
    for card in model_cards():
        _title, paragraphs = licence_summary(card)
        assert paragraphs, card
        for p in paragraphs:  # whole sentences, not a line cut out of one
            assert not p[0].islower(), (card.name, p)


def test_export_actions_write_json_and_csv(qtbot, window, track_file, tmp_path, monkeypatch):
    from musicapp.gui import main_window

    load(qtbot, window, track_file)
    window.set_analysis({"tempo_bpm": 100.0, "chords": [
        {"start": 0.0, "end": 2.0, "label": "C:maj"}], "beats": [0.0, 0.6],
        "duration_s": 12.0})
    target = {"json": tmp_path / "out.json", "csv": tmp_path / "out.csv"}

    class Dialog:  # the real dialog would wait for a click
        @staticmethod
        def getSaveFileName(parent, caption, start, filters):
            return str(target["csv" if "CSV" in caption else "json"]), filters

    monkeypatch.setattr(main_window, "QFileDialog", Dialog)
    window.act_export_json.trigger()
    window.act_export_csv.trigger()
    assert json.loads(target["json"].read_text())["tempo_bpm"] == 100.0
    rows = list(csv.reader(target["csv"].open()))
    assert ["chord", "0.000", "2.000", "C:maj", ""] in rows
    assert window.settings.last_dir("export") == str(tmp_path)


def test_valence_arousal_pad_drives_the_composer(qtbot, window):
    from musicapp.gui.composer_backend import resolve_emotion

    composer = window.composer
    composer.source.setCurrentIndex(2)
    composer.pad.set_value(-0.6, 0.7)
    choice = composer.emotion_choice()
    assert choice.source == "pad"
    emo = resolve_emotion(choice)
    assert (emo.valence, emo.arousal) == pytest.approx((-0.6, 0.7))


def test_half_and_double_tempo_toggle(qtbot, window, track_file):
    load(qtbot, window, track_file)
    window.set_analysis({"duration_s": 12.0, "tempo_bpm": 120.0, "meter": "4/4",
                         "beats": [0.5 * i for i in range(24)],
                         "downbeats": [2.0 * i for i in range(6)]})
    panel = window.analysis_panel
    assert panel.double_button.isEnabled()
    panel.double_button.click()
    assert window.analysis.tempo_bpm == pytest.approx(240.0)
    assert len(window.analysis.beats) == 47  # the midpoints added
    assert panel.tempo_label.text() == "240.0 BPM"
    panel.half_button.click()
    panel.half_button.click()
    assert window.analysis.tempo_bpm == pytest.approx(60.0)
    assert window.analysis.get("tempo_choice")["analysed_bpm"] == pytest.approx(120.0)
    assert len(window.spectrogram.beat_curve.getData()[0]) == 2 * len(window.analysis.beats)


def test_no_steady_beat_draws_no_beat_grid_and_silence_is_named(qtbot, window):
    """The panel said "no steady beat" while the lane drew a full beat grid; a silent track's
    header said "No analysis yet" although the analysis had finished."""
    window.set_analysis({"duration_s": 12.0, "tempo_bpm": None,
                         "tempo_reason": "no steady beat (free time or rubato)",
                         "beats": [0.5 * i for i in range(24)], "downbeats": [0.0, 2.0]})
    xs = window.spectrogram.beat_curve.getData()[0]
    assert xs is None or len(xs) == 0
    window.set_analysis({"duration_s": 20.0, "status": "silence", "level_dbfs": -80.0})
    assert window.summary.full_text == "Silence"


def test_an_export_onto_the_loaded_track_is_refused(qtbot, window, track_file, tmp_path,
                                                    monkeypatch):
    """The save dialog's "replace?" must never take the track itself: choosing the loaded file
    as the CSV target says so and leaves the audio untouched."""
    import shutil
    from pathlib import Path

    from musicapp.gui import main_window

    mine = tmp_path / ("mine" + Path(track_file).suffix)
    shutil.copy(track_file, mine)
    before = mine.read_bytes()
    load(qtbot, window, mine)
    window.set_analysis({"tempo_bpm": 100.0, "chords": [
        {"start": 0.0, "end": 2.0, "label": "C:maj"}], "beats": [0.0, 0.6], "duration_s": 12.0})

    class Dialog:
        @staticmethod
        def getSaveFileName(parent, caption, start, filters):
            return str(mine), filters

    shown = []
    monkeypatch.setattr(main_window, "QFileDialog", Dialog)
    monkeypatch.setattr(window, "show_message", lambda text, *a, **k: shown.append(text))
    window.act_export_csv.trigger()
    assert mine.read_bytes() == before
    assert shown and "is the input file" in shown[-1]
