"""Chord-lane labels: what fits where, and the one item that draws them all."""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtGui import QImage

from musicapp.gui.chord_labels import fit_labels, place_labels
from musicapp.gui.spectrogram import SpectrogramView
from tests.gui.conftest import shown_spectrogram


def test_fit_labels_never_overlaps():
    spans = [(0, 40), (40, 60), (60, 200), (200, 210)]
    widths = [[30, 10], [30, 10], [30, 10], [30, 10]]
    assert fit_labels(spans, widths, gap=4, overhang=False) == [0, 1, 0, -1]
    assert fit_labels(spans, widths, gap=4) == [0, 1, 0, 1]  # the last one runs past its box
    assert fit_labels([(0, 12)], [[30, 8]], gap=4) == [1]
    # narrow boxes: every few get a name, the ones in between none, and nothing overlaps
    narrow = [(5.0 * i, 5.0 * i + 5) for i in range(12)]
    picks = fit_labels(narrow, [[20, 8]] * 12, gap=4)
    assert picks[0] == 1 and -1 in picks and picks.count(1) >= 3


def test_placed_labels_start_in_their_box_and_never_touch():
    rng = np.random.default_rng(0)
    edges = np.cumsum(rng.uniform(2, 60, 200))
    spans = list(itertools.pairwise([0.0, *edges]))
    widths = [sorted(rng.uniform(5, 50, 2).tolist(), reverse=True) for _ in spans]
    placed = place_labels(spans, widths, gap=6)
    shown = [(x, x + widths[i][pick]) for i, (pick, x) in enumerate(placed) if pick >= 0]
    assert len(shown) > 20
    for (_a0, a1), (b0, _b1) in itertools.pairwise(shown):
        assert a1 + 6 <= b0 + 1e-9
    for (x0, _x1), (pick, x) in zip(spans, placed, strict=True):
        if pick >= 0:
            assert x >= x0 + 2 - 1e-9


def _lane_has_text(view: SpectrogramView) -> int:
    """Bright pixels (the labels' light text) in the chord lane, from a real rendering."""
    img = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    rect = view.chord_plot.getViewBox().sceneBoundingRect()
    top, left = int(rect.top()) + 1, int(rect.left()) + 1
    bottom, right = int(rect.bottom()) - 1, int(rect.right()) - 1
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    lane = arr[top:bottom, left:right, :3].astype(int)
    return int(((lane > 200).all(axis=2)).sum())


def test_a_long_track_is_one_label_item_and_its_labels_are_drawn(qtbot):
    view = shown_spectrogram(qtbot, 180)
    names = ["A:min", "F:maj7", "C:maj", "G:7"]
    chords = [{"start": 1.5 * i, "end": 1.5 * (i + 1), "label": names[i % 4]} for i in range(120)]
    items_before = len(view.chord_plot.getViewBox().addedItems)
    view.set_chords(chords, key="A minor")
    view.set_chords(chords, key="A minor")  # again: nothing piles up
    assert len(view.chord_plot.getViewBox().addedItems) == items_before + 1  # the blocks
    assert len(view._chord_labels) == 120
    view.set_view_range(0, 180)
    qtbot.wait(50)
    assert view.visible_chord_labels()
    assert _lane_has_text(view) > 20  # light text on the dark blocks, really painted
    view.set_chords([], key=None)
    qtbot.wait(50)
    assert not view.visible_chord_labels() and _lane_has_text(view) == 0
