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
