"""The Harmony & tuner tab and the feature maps in the real window."""

from __future__ import annotations

import numpy as np

from musicapp.gui.harmony import key_index, time_text
from tests.analysis.conftest import needs_soundfont
from tests.gui.conftest import load
from tests.helpers.signals import sine, write_audio


def test_harmony_tab_shows_chroma_key_curve_and_tuner(qtbot, window, track_file, tmp_path):
    load(qtbot, window, track_file)
    views = window.musician_view
    window.tabs.setCurrentWidget(views)
    qtbot.waitUntil(lambda: views.result is not None, timeout=30_000)
    chroma = views.result["chroma"]
    assert chroma.shape[0] == 12 and chroma.shape[1] > 50
    # the first chord is A minor (A C E): those pitch classes dominate its 1.5 s
    first = chroma[:, : int(1.4 / views.result["frame_s"])].mean(axis=1)
    assert {int(i) for i in np.argsort(-first)[:3]} == {9, 0, 4}
    window.set_analysis({"duration_s": 12.0, "key": {"tonic": "A", "mode": "minor"}})
    x, y = views.key_curve.getData()
    assert len(x) == views.result["strength"].shape[1] and np.nanmax(y) > 0.3
    assert "A minor" in views.key_label.text()
    # a sustained A4 at the cursor: the tuner names it
    tone = write_audio(tmp_path / "a440.wav", sine(440.0, 3.0, 22050, amp=0.4), 22050)
    load(qtbot, window, tone)
    window.seek(1.0)
    assert views.tuner_note == "A4"
    assert views.tuner_label.text().startswith("A4")


def test_feature_maps_most_active_channel_on_top(qtbot, window):
    view = window.feature_view
    rng = np.random.default_rng(0)
    m = rng.random((8, 50)).astype(np.float32) * 0.01
    m[5] += np.sin(np.linspace(0, 6, 50)).astype(np.float32) * 3  # the busiest channel
    m[2] += 5.0  # loud but constant: not active
    view.set_maps({"frontend": m}, [("rock", 0.3), ("pop", 0.2)], "test")
    assert view.order[0] == 5
    assert view.channel.value() == 5
    top_row = view.image.image[-1]  # drawn at the top
    assert top_row.max() == 1.0 and top_row.min() == 0.0  # scaled on its own
    assert view.tag_label.text() == "Strongest tags here: rock, pop"
    assert view.explain.text()


def _label_rects_outside(axis, host) -> list[str]:
    """Tick labels of ``axis`` whose drawn rectangle is not inside ``host``'s scene rectangle
    (the part of the scene the plot draws; text past it is cut)."""
    from PySide6.QtGui import QPainter, QPixmap

    pix = QPixmap(10, 10)
    painter = QPainter(pix)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    outside = []
    inside = host.sceneBoundingRect().adjusted(-0.5, -0.5, 0.5, 0.5)
    for rect, _flags, text in specs[2]:
        if not inside.contains(axis.mapRectToScene(rect)):
            outside.append(text)
    return outside


def test_harmony_axis_names_are_not_cut_in_a_small_window(qtbot, window):
    """At 1024x640 the chromagram's C (bottom row) and the spectrum's 0 dBFS (top) were cut in
    half at the plot's edge."""
    views = window.musician_view
    window.resize(1024, 640)
    window.tabs.setCurrentWidget(views)
    qtbot.wait(100)
    chroma_axis = views.chroma_plot.getAxis("left")
    assert _label_rects_outside(chroma_axis, views.chroma_plot) == []
    spectrum = views.spectrum.getPlotItem()
    assert _label_rects_outside(spectrum.getAxis("left"), spectrum) == []


def test_feature_maps_draw_only_the_channels_that_respond(qtbot, window):
    """On a real track 500 of the frontend's 561 channels are constant over a patch (dead
    ReLUs after batch norm): drawn, they made the map one black block under a thin stripe.
    Only the channels that change get rows (most active on top), the count is said, and a
    constant channel's marker is hidden rather than pointing at another channel's row."""
    view = window.feature_view
    t = np.linspace(0, 6, 60, dtype=np.float32)
    m = np.empty((20, 60), np.float32)
    m[:] = np.linspace(-9.5, 3.0, 20, dtype=np.float32)[:, None]  # constants (BN offsets)
    m[7] = 50.0  # a large constant outranks a barely moving channel by its mean
    varying = {3: 4.0, 11: 1.0, 16: 0.5, 0: 0.2, 9: 0.02}  # channel: amplitude
    for ch, amp in varying.items():
        m[ch] = np.sin(t * (ch + 1)) * amp
    m[13] += np.sin(t) * 1e-4  # rounding-noise level: would be drawn as bright as channel 3
    view.set_maps({"frontend": m}, [], "test")
    assert view.active_rows == 5
    assert list(view.order[:5]) == [3, 11, 16, 0, 9]  # the changing ones, busiest first
    assert view.image.image.shape == (5, 60)  # no rows for the 15 constant channels
    assert view.image.image[-1].max() == 1.0 and view.image.image[-1].min() == 0.0
    assert view.channel.value() == 3 and view.marker.isVisible()
    assert view.marker.value() == 4.5  # the top row
    assert view.quiet_label.text().startswith("5 of 20 channels respond")
    ticks = [label for _pos, label in view.map_plot.getAxis("left")._tickLevels[0]]
    assert ticks == ["1", "2", "4"]
    view.channel.setValue(7)  # a constant channel: its curve, no row to mark
    assert not view.marker.isVisible()
    _x, y = view.curve.getData()
    np.testing.assert_allclose(y, m[7])
    view.channel.setValue(16)
    assert view.marker.isVisible() and view.marker.value() == 5 - 2 - 0.5


def test_feature_map_rank_labels_stay_few(qtbot, window):
    """20 responding channels got a label on every row (piled up in a 60-px plot)."""
    view = window.feature_view
    t = np.linspace(0, 6, 60, dtype=np.float32)
    for rows, expected in ((20, ["1", "10", "20"]), (59, ["1", "20", "40"]),
                           (561, ["1", "200", "400"])):
        m = np.sin(t[None, :] * np.arange(1, rows + 1, dtype=np.float32)[:, None])
        view.set_maps({"frontend": m.astype(np.float32)}, [], "test")
        labels = [label for _pos, label in view.map_plot.getAxis("left")._tickLevels[0]]
        assert labels == expected, rows


def _curve_rows(views) -> list[int]:
    """The key-strength row each point of the amber curve was taken from."""
    x, y = views.key_curve.getData()
    r = views.result["strength"]
    cols = np.searchsorted(views.result["times"], x)
    return [int(np.argmin(np.abs(r[:, c] - v))) for c, v in zip(cols, y, strict=True)]


def test_harmony_summary_and_curves_are_the_analysis_key_and_alternatives(qtbot, window,
                                                                          track_file):
    """A musician saw "A minor 0.69" as the key and "best fit over time: F major, C major" under
    the Harmony curves: the tab now shows the analysis' key, its alternatives and its timeline."""
    load(qtbot, window, track_file)
    views = window.musician_view
    window.tabs.setCurrentWidget(views)
    qtbot.waitUntil(lambda: views.result is not None, timeout=30_000)
    window.set_analysis({
        "duration_s": 12.0, "key": {"tonic": "A", "mode": "minor", "confidence": 0.69},
        "key_candidates": [
            {"tonic": "A", "mode": "minor", "name": "A minor", "probability": 0.69},
            {"tonic": "C", "mode": "major", "name": "C major", "probability": 0.2},
            {"tonic": "E", "mode": "minor", "name": "E minor", "probability": 0.05}],
        "key_timeline": [{"start": 0.0, "end": 12.0, "tonic": "A", "mode": "minor",
                          "name": "A minor", "confidence": 0.69}]})
    text = views.key_label.full_text
    assert text == "Key: A minor 0.69 · or C major 0.20, E minor 0.05"
    assert "best fit" not in text and "best fit" not in views.explain.full_tip
    assert set(_curve_rows(views)) == {key_index("A", "minor")}
    _x, y = views.best_curve.getData()  # dashed: the first alternative, not a key of its own
    assert np.allclose(y, views.result["strength"][key_index("C", "major")])


@needs_soundfont
def test_a_modulating_piece_shows_both_keys_in_the_chord_lane_and_the_harmony_tab(
        qtbot, window, tmp_path):
    """40 s of C major, then 40 s of E major, analysed for real: the chord lane names the first
    key and marks the change ("→ E major"), the Harmony tab names both keys and its amber curve follows
    the analysis' timeline into E major."""
    from musicapp.analysis.api import analyze_music
    from tests.analysis.conftest import render, steady_piece

    y = np.concatenate([render(steady_piece(110.0, 0, "major", 4, max_seconds=40.0)),
                        render(steady_piece(110.0, 4, "major", 4, max_seconds=40.0))])
    path = write_audio(tmp_path / "modulating.wav", y, 22050)
    d = analyze_music(y, 22050).to_dict()
    change = d["key_timeline"][1]["start"]
    assert [s["name"] for s in d["key_timeline"]] == ["C major", "E major"]
    load(qtbot, window, path)
    views = window.musician_view
    window.tabs.setCurrentWidget(views)
    qtbot.waitUntil(lambda: views.result is not None, timeout=60_000)
    window.set_analysis({**d, "duration_s": y.size / 22050, "status": "ok"})
    lane = window.spectrogram
    assert lane.key_change_texts() == ["C major", "→ E major"]  # the start and the change
    assert lane.key_change_texts(shown_only=True) == ["C major", "→ E major"]
    assert lane.key_at(10.0) == "C major" and lane.key_at(70.0) == "E major"
    text = views.key_label.full_text
    assert f" · C major → E major at {time_text(change)}" in text
    times = views.key_curve.getData()[0]
    rows = _curve_rows(views)
    assert {rows[i] for i, t in enumerate(times) if t < change - 1} == {key_index("C", "major")}
    assert {rows[i] for i, t in enumerate(times) if t > change + 1} == {key_index("E", "major")}
