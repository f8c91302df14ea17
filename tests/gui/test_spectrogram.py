"""Spectrogram and lanes: readable labels at any zoom, display controls, note axis."""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
import pytest

from musicapp.gui.spectrogram import SpectrogramView, _note_ticks, note_name
from tests.gui.conftest import load, shown_spectrogram


def _many_chords(seconds: float = 180.0, step: float = 0.75) -> list[dict]:
    names = ["A:min", "F:maj7", "C:maj", "G:7", "D:min7", "E:7/3", "Bb:maj", "F#:dim"]
    t, out, i = 0.0, [], 0
    while t < seconds:
        out.append({"start": t, "end": t + step, "label": names[i % len(names)]})
        t += step
        i += 1
    return out


def test_chord_lane_has_no_overlapping_labels_at_whole_track_zoom(qtbot):
    view = shown_spectrogram(qtbot, 180)
    view.set_chords(_many_chords(), key="A minor")
    view.set_view_range(0, 180)
    qtbot.wait(50)
    shown = view.visible_chord_labels()
    assert shown, "some labels must fit"
    for (_a, _l0, r0), (_b, l1, _r1) in itertools.pairwise(shown):
        assert r0 <= l1, shown  # no overlap
    assert len(shown) < len(view.chords)  # not all fit at this zoom
    # zoomed in, every chord in view gets its full lead-sheet name
    view.set_view_range(10, 16)
    qtbot.wait(50)
    texts = [t for t, _l, _r in view.visible_chord_labels()]
    assert "Fmaj7" in texts and "E7/G#" in texts
    # hovering names the chord in full
    chord = view.chord_at(11.0)
    assert chord is not None and chord["label"] in {c["label"] for c in _many_chords()}


def test_neighbouring_equal_chords_merge(qtbot):
    view = SpectrogramView()
    qtbot.addWidget(view)
    view.set_chords([{"start": 0, "end": 1, "label": "C:maj"},
                     {"start": 1, "end": 2, "label": "C:maj"},
                     {"start": 2, "end": 3, "label": "N"},
                     {"start": 3, "end": 4, "label": "G:maj"}])
    assert [(c["start"], c["end"], c["label"]) for c in view.chords] == \
        [(0.0, 2.0, "C:maj"), (3.0, 4.0, "G:maj")]


def _five_mood_segments() -> tuple[list[str], list[dict]]:
    """Five mood names and four 3-s segments ranking them in that order."""
    names = ["easy listening", "sad", "beautiful", "chill", "mellow"]
    segs = [{"start": 3.0 * i, "end": 3.0 * i + 3,
             "moods": [{"tag": n, "percentile": 90 - 10 * j} for j, n in enumerate(names)]}
            for i in range(4)]
    return names, segs


def test_five_mood_lanes_show_five_labels(qtbot):
    view = SpectrogramView()
    qtbot.addWidget(view)
    names, segs = _five_mood_segments()
    view.set_mood_timeline(segs)
    ticks = view.mood_plot.getAxis("left")._tickLevels[0]
    assert sorted(t for _v, t in ticks) == sorted(names)  # full names, none cut
    from PySide6.QtGui import QFontMetrics

    line = QFontMetrics(view.lane_font).height()
    assert view.mood_lane_height >= 5 * line  # room for five rows of text


def test_gain_contrast_and_note_axis(qtbot):
    view = SpectrogramView()
    qtbot.addWidget(view)
    view.resize(1000, 900)  # tall enough for every C from C2 to C7 (a short view drops some)
    view.show()
    qtbot.waitExposed(view)
    rng = np.random.default_rng(0)
    view.set_spectrogram(rng.random((500, 96), dtype=np.float32) * 3)
    lo, hi = view.levels
    view.set_display(gain_db=10.0)
    assert view.levels[0] == pytest.approx(lo - 1.0) and view.levels[1] == pytest.approx(hi - 1.0)
    view.set_display(gain_db=0.0, contrast=2.0)
    assert view.levels[1] - view.levels[0] == pytest.approx((hi - lo) / 2)
    view.set_axis_mode("notes")
    every = [t for _v, t in _note_ticks(view.n_mels)]
    assert every == ["C2", "C3", "C4", "C5", "C6", "C7"]
    shown = [t for _v, t in view.plot.getAxis("left")._tickLevels[0]]
    assert shown[-4:] == ["C4", "C5", "C6", "C7"] and set(shown) <= set(every)  # what fits
    assert note_name(440.0) == ("A4", pytest.approx(0.0))
    assert note_name(261.63)[0] == "C4"


def test_spectrogram_and_lanes_visible_at_1024x640(qtbot, window, track_file):
    load(qtbot, window, track_file)
    window.resize(1024, 640)
    qtbot.wait(200)
    spec = window.spectrogram
    assert spec.isVisible() and spec.height() >= spec.minimumHeight()
    plot_h = spec.plot.getViewBox().height()
    assert plot_h >= 80, plot_h  # the spectrogram itself, not only the lanes
    assert spec.chord_plot.getViewBox().height() > 10
    assert window.tabs.height() >= window.tabs.minimumHeight()


def test_zoom_keeps_the_cursor_in_view(qtbot, window, track_file):
    load(qtbot, window, track_file)
    window.zoom_fit()
    window.seek(10.5)
    for _ in range(4):
        window.zoom(0.5)
        x0, x1 = window.spectrogram.plot.viewRange()[0]
        assert x0 <= 10.5 <= x1
    window.spectrogram.set_view_range(0, 2)  # cursor out of view: zooming brings it back
    window.zoom(0.5)
    x0, x1 = window.spectrogram.plot.viewRange()[0]
    assert x0 <= 10.5 <= x1


def test_a_short_view_keeps_one_mood_band_with_the_names_on_hover(qtbot):
    from musicapp.gui.spectrogram import SHORT_VIEW

    view = SpectrogramView()
    qtbot.addWidget(view)
    names, segs = _five_mood_segments()
    view.set_mood_timeline(segs)
    view.resize(900, view.minimumHeight())
    view.show()
    qtbot.waitExposed(view)
    assert view.height() < SHORT_VIEW and view.mood_lane_short
    axis = view.mood_plot.getAxis("left")
    assert [t for _v, t in axis._tickLevels[0]] == ["moods"]  # one label, no five-row pile
    assert all(n in axis.toolTip() for n in names)
    assert view.mood_at(4.0, 0.95).startswith(f"{view.mood_names[0]} ")  # the strongest on top
    assert view.mood_at(4.0, 0.1).startswith(view.mood_names[-1])
    assert axis.toolTip().startswith(f"Moods, top to bottom: {', '.join(view.mood_names)}")
    assert view.plot.getViewBox().height() >= 80  # the spectrogram itself keeps its room
    chords = view.mapFromScene(view.chord_plot.sceneBoundingRect()).boundingRect()
    assert view.rect().contains(chords)  # the chord lane is not cut off
    view.resize(900, SHORT_VIEW + 100)
    qtbot.waitUntil(lambda: not view.mood_lane_short, timeout=5000)
    assert sorted(t for _v, t in axis._tickLevels[0]) == sorted(names)


def test_display_levels_from_a_strided_sample_match_the_full_percentiles():
    from musicapp.gui.spectrogram import display_levels

    x = np.random.default_rng(0).gamma(2.0, 0.5, (7750, 96)).astype(np.float32)
    lo, hi = display_levels(x)
    full_lo, full_hi = np.percentile(x, [5.0, 99.5])
    assert abs(lo - full_lo) < 0.02 * full_hi and abs(hi - full_hi) < 0.02 * full_hi
    assert display_levels(np.zeros((0, 96), np.float32))[1] > 0  # empty: the default scale
    tiny = np.array([[1.0, 2.0]], np.float32)
    assert display_levels(tiny) == pytest.approx(tuple(np.percentile(tiny, [5.0, 99.5])))


def test_a_cleared_lane_names_no_chord_on_hover(qtbot):
    """After a new file is opened (clear_all) the old track's chords are gone for hovering too,
    not only from the screen."""
    view = shown_spectrogram(qtbot, 20)
    view.set_chords([{"start": 0.0, "end": 20.0, "label": "A:min"}], key="A minor")
    view.set_view_range(0, 20)
    qtbot.wait(50)
    vb = view.chord_plot.getViewBox()
    from PySide6.QtCore import QPointF

    pos = vb.mapViewToScene(QPointF(10.0, 0.5))
    view._on_hover(pos)
    assert view.hover_chord.startswith("Am")
    view.clear_all()
    view._on_hover(pos)
    assert view.chord_at(10.0) is None and view.chords == []
    assert view.hover_chord == ""


def test_lane_name_ticks_do_not_reach_into_the_lanes(qtbot):
    """pyqtgraph draws a tick 5 px into the plot: in the chord lane it crossed the first label
    (a struck-through '-E' at the left edge of every zoomed view)."""
    view = shown_spectrogram(qtbot, 20)
    view.set_view_range(0, 20)
    qtbot.wait(50)
    image = view.grab().toImage()
    for lane in (view.chord_plot, view.beat_plot):
        axis_color = lane.getAxis("left").pen().color().name()
        rect = lane.getViewBox().sceneBoundingRect()
        at = view.mapFromScene(rect.left(), rect.center().y())  # the name's tick height
        inside = [image.pixelColor(at.x() + dx, at.y()).name() for dx in range(2, 6)]
        assert axis_color not in inside, (lane, inside)


def test_a_silent_spectrogram_is_dark_not_the_top_colour():
    """Silence gave the scale a zero range, and the whole view turned the brightest colour."""
    from musicapp.gui.spectrogram import DEFAULT_LEVELS, display_levels

    lo, hi = display_levels(np.zeros((96, 500), np.float32))
    assert lo == 0.0 and hi - lo == DEFAULT_LEVELS[1] - DEFAULT_LEVELS[0]


def test_a_narrow_chord_block_never_shows_a_different_chord(qtbot):
    """A narrow block cut "D#m/F#" to its root "D#", which reads as D# major."""
    view = SpectrogramView()
    qtbot.addWidget(view)
    view.set_chords([{"start": 0.0, "end": 1.0, "label": "D#:min/b3"},
                     {"start": 1.0, "end": 2.0, "label": "C:maj7"}], key="B major")
    variants = [v for _s, _e, v in view._chord_labels]
    assert variants[0] == ["D#m/F#", "D#m"]
    assert variants[1] == ["Cmaj7"]


def _left_and_range(view, lane) -> tuple[int, int, tuple[float, ...]]:
    """Screen x of a lane's view box's left and right edges and its time range."""
    vb = lane.getViewBox()
    rect = vb.mapRectToScene(vb.boundingRect())
    left = view.mapToGlobal(view.mapFromScene(rect.topLeft())).x()
    right = view.mapToGlobal(view.mapFromScene(rect.topRight())).x()
    return left, right, tuple(round(v, 6) for v in vb.viewRange()[0])


def _assert_timeline_lines_up(window) -> tuple[float, ...]:
    spec = window.spectrogram
    lanes = [spec.plot, spec.mood_plot, spec.feel_plot, spec.beat_plot, spec.chord_plot]
    rows = {lane: _left_and_range(spec, lane) for lane in lanes}
    assert len(set(rows.values())) == 1, rows  # same left and right x, same time range
    assert {lane.getAxis("left").width() for lane in lanes} == {spec.axis_width}
    left, right, x_range = next(iter(rows.values()))
    # the overview above: the same left and right edges, so its time axis lines up too
    assert _left_and_range(window.overview, window.overview.lane)[:2] == (left, right)
    return x_range


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_timeline_lanes_share_left_edge_and_time_range_empty_and_loaded(qtbot, window,
                                                                        track_file, size):
    from musicapp.gui.lane import EMPTY_SPAN_S

    window.resize(*size)
    qtbot.wait(100)
    # empty: every lane and the overview show 0 .. EMPTY_SPAN_S (the hint text used to shift
    # the automatic range of the spectrogram to 0.19 .. 1.19 s)
    assert _assert_timeline_lines_up(window) == (0.0, EMPTY_SPAN_S)
    assert window.overview.lane.viewRange()[0] == pytest.approx([0.0, EMPTY_SPAN_S])
    load(qtbot, window, track_file)
    qtbot.wait(100)
    shown = _assert_timeline_lines_up(window)
    assert shown == pytest.approx([0.0, window.track.duration_s], abs=0.05)
    assert window.overview.lane.viewRange()[0] == pytest.approx(shown, abs=0.05)
    window.spectrogram.set_view_range(2.0, 5.0)  # zoomed in: still one range on every lane
    qtbot.wait(50)
    assert _assert_timeline_lines_up(window) == pytest.approx([2.0, 5.0])
    window.spectrogram.clear_all()  # back to empty: the empty range again
    assert _assert_timeline_lines_up(window) == (0.0, EMPTY_SPAN_S)


def test_a_long_file_is_shown_pooled_in_time_over_its_whole_duration(qtbot):
    """A 3-hour-like spectrogram (more frames than MAX_DISPLAY_FRAMES) is drawn max-pooled in
    time over the file's real duration; the frames kept for read-outs are the full ones; a short
    one is shown as it is."""
    from musicapp.gui.spectrogram import MAX_DISPLAY_FRAMES, display_image

    n = 3 * MAX_DISPLAY_FRAMES + 5
    logmel = np.zeros((n, 96), np.float32)
    logmel[1000, 10] = 3.0  # one loud frame survives the pooling
    shown = display_image(logmel)
    assert len(shown) == -(-n // 4) <= MAX_DISPLAY_FRAMES  # groups of 4 frames
    assert shown.shape[1] == 96 and shown[1000 // 4, 10] == 3.0 and shown.sum() == 3.0
    short = logmel[:MAX_DISPLAY_FRAMES]
    assert display_image(short) is short

    view = SpectrogramView()
    qtbot.addWidget(view)
    view.set_spectrogram(logmel)
    assert view.image.image.shape[0] == len(shown)
    assert view.duration_s == pytest.approx(n * view.frame_s)
    assert view.image.boundingRect().width() == pytest.approx(len(shown))
    assert view.image.mapRectToParent(view.image.boundingRect()).width() == pytest.approx(
        n * view.frame_s)
    assert len(view.frames) == n


def test_a_modulation_is_marked_and_its_chords_are_spelled_in_the_local_key(qtbot):
    """A C major song that moves to E major: the chord lane names the first key, marks the
    change ("→ E major", at whole-track zoom too) and spells the E major section's chords in
    E major (G#m, as the analysis does, not the C major spelling Abm)."""
    view = shown_spectrogram(qtbot, 20)
    timeline = [{"start": 0.0, "end": 10.0, "tonic": "C", "mode": "major", "name": "C major"},
                {"start": 10.0, "end": 20.0, "tonic": "E", "mode": "major", "name": "E major"}]
    chords = [{"start": 2.0 * i, "end": 2.0 * i + 2, "label": lab} for i, lab in enumerate(
        ["C:maj", "A:min", "F:maj", "G:maj", "C:maj", "E:maj", "G#:min", "A:maj", "B:maj", "E:maj"])]
    view.set_chords(chords, key="C major", key_timeline=timeline)
    view.set_view_range(0, 20)
    qtbot.wait(50)
    assert view.key_change_texts(shown_only=True) == ["C major", "→ E major"]
    assert view.key_at(5.0) == "C major" and view.key_at(12.0) == "E major"
    assert [v[0] for _s, _e, v in view._chord_labels][6] == "G#m"
    # a track in one key: no marks, the chords spelled in the track's key
    view.set_chords(chords, key="C major", key_timeline=timeline[:1])
    assert view.key_change_texts() == [] and [v[0] for _s, _e, v in view._chord_labels][6] == "Abm"


@pytest.mark.parametrize("size", [(990, 300), (1880, 700)])  # the view in 1024x640 / 1920x1080
def test_key_marks_have_their_own_row_over_the_chord_labels(qtbot, size):
    """"→ C major" was drawn on the chord labels' line and hid the chord starting at the change
    ("C#m7"): the marks sit in a row above the chord blocks, so no key mark's box meets a chord
    label, and the chords keep the lane's 0..1 under it; a one-key track gets no row."""
    from PySide6.QtCore import QPointF, QRectF

    view = shown_spectrogram(qtbot, 40, size=size)
    base_height = view.chord_plot.getViewBox().height()
    timeline = [{"start": 0.0, "end": 20.0, "tonic": "A", "mode": "major", "name": "A major"},
                {"start": 20.0, "end": 40.0, "tonic": "C", "mode": "major", "name": "C major"}]
    chords = [{"start": 4.0 * i, "end": 4.0 * i + 4, "label": lab} for i, lab in enumerate(
        ["A:maj", "C#:min7", "D:maj", "E:7", "A:maj", "C#:min7", "F:maj", "G:7", "C:maj", "C:maj"])]
    chords[0]["start"] = 0.0
    view.set_chords(chords, key="A major", key_timeline=timeline)
    view.set_view_range(0, 40)
    qtbot.wait(50)
    vb = view.chord_plot.getViewBox()
    assert vb.height() > base_height  # the key row is added, the chord blocks keep their height
    assert vb.viewRange()[1][0] == pytest.approx(0.0) and vb.viewRange()[1][1] > 1.0
    metrics = view.chord_label_item.metrics
    labels = []
    for text, x, _px in view.chord_label_item.shown:
        mid = vb.mapViewToScene(QPointF(x, 0.5))
        labels.append((text, QRectF(mid.x(), mid.y() - metrics.height() / 2,
                                    metrics.horizontalAdvance(text), metrics.height())))
    assert {"A", "C#m7", "C"} <= {t for t, _r in labels}  # the chords at both marks are named
    marks = [item for item in view._key_marks if isinstance(item, pg.TextItem)]
    assert [m.textItem.toPlainText() for m in marks if m.isVisible()] == ["A major", "→ C major"]
    blocks_top = vb.mapViewToScene(QPointF(0, 1.0)).y()
    for mark in marks:
        box = mark.sceneBoundingRect()
        assert box.bottom() <= blocks_top + 1  # above the chord blocks
        for text, rect in labels:
            assert not box.intersects(rect), (mark.textItem.toPlainText(), text)
    view.set_chords(chords, key="A major", key_timeline=timeline[:1])
    qtbot.wait(50)
    assert view.key_change_texts() == []
    assert vb.viewRange()[1][1] == pytest.approx(1.0) and vb.height() == pytest.approx(base_height)
