"""The library panel's Status column shows the pipeline's verdict (damaged / silence / too
short) of tracks in a real SQLite library, in the real window. Before: every analysed track
read "ok"."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from musicapp.gui.library_panel import COLUMNS
from musicapp.library.store import Store


def _library(db, folder) -> None:
    folder.mkdir()
    for i, name in enumerate(["a_damaged", "b_silence", "c_short", "d_ok"]):
        sf.write(folder / f"{name}.wav", np.full(2205, 0.01 * (i + 1), np.float32), 22050)
    statuses = {"a_damaged": "damaged", "b_silence": "silence", "c_short": "too short", "d_ok": "ok"}
    with Store(db) as store:
        store.scan(folder)
        for t in store.tracks():
            name = t.path.rsplit("/", 1)[-1][:-4]
            store.save_result(t.id, fingerprint=None, analysis={
                "duration_s": 0.1, "status": statuses[name], "warnings": []})


def test_status_column_shows_the_analysis_status(qtbot, window, settings, tmp_path):
    db = tmp_path / "lib.sqlite3"
    _library(db, tmp_path / "music")
    settings.setValue("library/db", str(db))
    panel = window.library
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.task is None, timeout=30_000)
    with qtbot.waitSignal(panel.results_changed, timeout=30_000):
        panel.search()
    col = COLUMNS.index("Status")
    texts = sorted(panel.table.item(r, col).text() for r in range(panel.table.rowCount()))
    assert texts == ["damaged", "ok", "silence", "too short"]
