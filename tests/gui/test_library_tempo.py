"""The library panel's tempo filter in the real window finds half/double-time tracks from a real
SQLite library and marks them in the Tempo column (x2 or /2, with the full sentence as tooltip)."""

from __future__ import annotations

from musicapp.gui.library_panel import COLUMNS
from tests.library.test_tempo_levels import _library


def test_tempo_filter_shows_half_and_double_time_matches(qtbot, window, settings, tmp_path):
    db = tmp_path / "lib.sqlite3"
    _library(db)
    settings.setValue("library/db", str(db))
    panel = window.library
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.task is None, timeout=30_000)
    panel.bpm.setText("135-145")
    with qtbot.waitSignal(panel.results_changed, timeout=30_000):
        panel.search()
    col = COLUMNS.index("Tempo")
    texts = [panel.table.item(r, col).text() for r in range(panel.table.rowCount())]
    assert texts == ["140.0", "70.0 (x2 140.0)", "71.0 (x2 142.0)", "280.0 (/2 140.0)"]
    assert panel.table.item(1, col).toolTip() == ("70.0 BPM, matched at double time 140.0 "
                                                  "(the analysis is unsure of the level)")
    assert panel.table.item(0, col).toolTip() == ""
    assert "half or double tempo" in panel.bpm.toolTip()
    assert panel.status.text().startswith("4 tracks shown (3 at half or double time")


def test_tempo_column_is_not_cut_in_a_1024_window(qtbot, window, settings, tmp_path):
    """At 1024x640 the Tempo column cut "~143.8 (or 71.9)" to "~143.8 (or 7…": the short
    columns are as wide as their text, the track name and moods give way."""
    from musicapp.library.api import Library

    db = tmp_path / "lib.sqlite3"
    close = [{"bpm": 143.8, "relation": "tactus", "score": 0.5},
             {"bpm": 71.9, "relation": "half", "score": 0.45}]
    with Library(db) as lib:
        lib.store.con.execute(
            "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
            "VALUES ('/m/a long name of a song that takes room.wav', 1, 1, 'h', 'pending', 0, 0)")
        lib.store.save_result(1, fingerprint=None, analysis={
            "tempo_bpm": 143.8, "tempo_confidence": 0.1, "tempo_candidates": close,
            "duration_s": 1203.9, "key": {"tonic": "G#", "mode": "minor", "confidence": 0.6}})
    settings.setValue("library/db", str(db))
    window.resize(1024, 640)
    panel = window.library
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.task is None and panel.table.rowCount() == 1, timeout=30_000)
    qtbot.wait(50)
    for name in ("Length", "Tempo", "Key"):
        col = COLUMNS.index(name)
        item = panel.table.item(0, col)
        # the cell's text with its margins (what the table elides to fit)
        need = max(panel.table.sizeHintForColumn(col),
                   panel.table.fontMetrics().horizontalAdvance(item.text()))
        assert panel.table.columnWidth(col) >= need, (name, item.text())
    assert panel.table.item(0, COLUMNS.index("Tempo")).text() == "~143.8 (or 71.9)"
