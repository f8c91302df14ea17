"""Library panel in the real window: add a folder, search, identify a recording."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import load
from tests.helpers.signals import write_audio
from tests.library.music import SR as MUSIC_SR
from tests.library.music import song

SONGS = ("major.wav", "minor.wav", "other.wav")


@pytest.fixture
def music_folder(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    for i, name in enumerate(SONGS):
        write_audio(folder / name, song(10 + i, 20.0), MUSIC_SR)
    (folder / "notes.txt").write_text("not audio")
    (folder / "broken.wav").write_bytes(b"RIFF0000WAVEjunk" * 20)
    return folder


@pytest.fixture
def library(window, settings, tmp_path):
    settings.setValue("library/db", str(tmp_path / "lib.sqlite3"))
    settings.setValue("library/analyse", False)  # fingerprints only: fast
    panel = window.library
    window.tabs.setCurrentWidget(panel)
    return panel


def test_add_folder_search_and_identify(qtbot, window, library, music_folder, tmp_path):
    with qtbot.waitSignal(library.indexing_done, timeout=120_000) as blocker:
        library.add_folder(str(music_folder))
        assert library.cancel_button.isVisible()
    report = blocker.args[0]
    assert report["indexed"] == 3
    assert report["failed"] == 1  # broken.wav, reported, not fatal
    def listed() -> None:
        assert library.task is None, library.status.text()
        assert len(library.rows) == 4, (library.rows, library.status.text())

    qtbot.waitUntil(listed, timeout=30_000)
    assert "broken.wav" in library.status.text()  # the indexing problem stays visible
    names = sorted(library.table.item(r, 0).text() for r in range(library.table.rowCount()))
    assert names == ["broken.wav", "major.wav", "minor.wav", "other.wav"]

    # a degraded excerpt of minor.wav: 8 s from the middle, quieter, with noise
    from musicapp.audio import load_audio

    y = load_audio(music_folder / "minor.wav", sr=MUSIC_SR).samples
    clip = 0.5 * y[int(6.0 * MUSIC_SR): int(14.0 * MUSIC_SR)]
    clip = clip + 0.01 * np.random.default_rng(0).standard_normal(len(clip)).astype(np.float32)
    query = write_audio(tmp_path / "clip.wav", clip.astype(np.float32), MUSIC_SR)
    with qtbot.waitSignal(library.identified, timeout=60_000) as blocker:
        library.identify(str(query))
    out = blocker.args[0]
    assert out["accepted"], out
    assert out["path"].endswith("minor.wav")
    assert "minor.wav" in library.status.text()

    # double-clicking a row opens that track in the window
    row = next(r for r in range(library.table.rowCount())
           if library.table.item(r, 0).text() == "major.wav")
    library.table.cellDoubleClicked.emit(row, 0)
    qtbot.waitUntil(lambda: window.track is not None, timeout=30_000)
    assert window.track.path.endswith("major.wav")


def test_cancel_indexing_keeps_the_app_usable(qtbot, window, library, music_folder, track_file):
    library.add_folder(str(music_folder))
    library.cancel()
    qtbot.waitUntil(lambda: library.task is None, timeout=120_000)
    assert library.add_button.isEnabled()
    load(qtbot, window, track_file)
    assert window.track is not None
