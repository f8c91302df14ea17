"""Library panel in the real window: add a folder, search, identify a recording."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.gui.library_panel import COLUMNS, scan_summary, track_title
from musicapp.library.similarity import similarity_percent
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
    # the scan in words and counts: it printed the scan's dict with every full path
    assert "this scan: 4 new" in library.status.text()
    assert str(music_folder) not in library.status.text() and "{" not in library.status.text()
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
    assert "standard deviations above chance" in library.status.text()  # not a bare "score 6.4"
    # the table shows the answer (not the earlier list), with where the recording starts
    assert library.table.rowCount() == 1
    assert library.table.item(0, 0).text() == "minor.wav"
    match = library.table.item(0, COLUMNS.index("Match")).text()
    assert match.startswith("at 0:0") and 5.0 <= float(match.split(":")[1]) <= 7.0

    # double-clicking a row opens that track in the window
    library.table.cellDoubleClicked.emit(0, 0)
    qtbot.waitUntil(lambda: window.track is not None, timeout=30_000)
    assert window.track.path.endswith("minor.wav")


def test_cancel_indexing_keeps_the_app_usable(qtbot, window, library, music_folder, track_file):
    library.add_folder(str(music_folder))
    library.cancel()
    qtbot.waitUntil(lambda: library.task is None, timeout=120_000)
    assert library.add_button.isEnabled()
    load(qtbot, window, track_file)
    assert window.track is not None


def test_titles_from_tags_replace_file_names(qtbot, window, library, tmp_path):
    import soundfile as sf

    folder = tmp_path / "tagged"
    folder.mkdir()
    for i, (title, artist) in enumerate((("Battle Theme", "The Orchestra"), ("Calm", None))):
        with sf.SoundFile(str(folder / f"song{i}.flac"), "w", MUSIC_SR, 1, format="FLAC") as f:
            f.title = title
            if artist:
                f.artist, f.album = artist, "Game OST"
            f.write(song(20 + i, 12.0))
    write_audio(folder / "untagged.wav", song(30, 12.0), MUSIC_SR)
    with qtbot.waitSignal(library.indexing_done, timeout=120_000):
        library.add_folder(str(folder))
    qtbot.waitUntil(lambda: library.task is None and len(library.rows) == 3, timeout=30_000)
    names = sorted(library.table.item(r, 0).text() for r in range(3))
    assert names == ["Battle Theme — The Orchestra · Game OST", "Calm", "untagged.wav"]
    tips = {library.table.item(r, 0).toolTip() for r in range(3)}
    assert str(folder / "song0.flac") in tips  # the path is one hover away


def test_similarity_is_a_percentage_with_an_explanation(qtbot, library):
    rows = [{"path": "/m/a.wav", "hamming": 0, "cosine": 0.99, "moods": ["sad", "calm", "dark"]},
            {"path": "/m/b.wav", "hamming": 19, "cosine": 0.79},
            {"path": "/m/c.wav", "hamming": 40, "cosine": None}]
    library._show(rows)
    col = COLUMNS.index("Match")
    # from the embeddings' cosine (what orders the results) where there is one, else the code
    assert [library.table.item(r, col).text() for r in range(3)] == ["91%", "58%", "0%"]
    tip = library.table.item(1, col).toolTip()
    assert "19 of 64 sound-code bits differ" in tip and "cosine 0.79" in tip and "unrelated" in tip
    assert library.table.item(0, COLUMNS.index("Moods")).text() == "sad, calm, dark"
    # the moods get as much of the free width as the track name (not a clipped "sad, c…")
    widths = {name: library.table.columnWidth(COLUMNS.index(name)) for name in ("Track", "Moods")}
    assert abs(widths["Track"] - widths["Moods"]) <= 2, widths
    assert not library.table.wordWrap()
    assert similarity_percent(32) == 0.0
    assert track_title({"path": "/x/y.ogg", "title": "  "}) == "y.ogg"


def test_library_banner_clears_when_it_no_longer_applies(qtbot, window, library):
    library.message.emit("Library: the database is locked")
    assert window.message.isVisible()
    window.tabs.setCurrentWidget(window.analysis_panel)  # another tab: the banner goes
    assert not window.message.isVisible()
    window.tabs.setCurrentWidget(library)
    library.message.emit("Library: the database is locked")
    with qtbot.waitSignal(library.results_changed, timeout=30_000):
        library.search()  # succeeds: the old error no longer applies
    assert not window.message.isVisible()


def test_scan_summary_counts_what_a_scan_changed(tmp_path):
    """A real scan's JSON form (lists of paths) becomes counts; zero parts are left out."""
    from musicapp.library.store import ScanResult

    scan = ScanResult(added=[str(tmp_path / f"{i}.wav") for i in range(11)],
                      moved=[(str(tmp_path / "a.wav"), str(tmp_path / "b.wav"))],
                      missing=[str(tmp_path / "gone.wav")], unchanged=5,
                      skipped=[(str(tmp_path / "link"), "broken symbolic link")])
    assert scan_summary(scan.as_dict()) == ("11 new, 1 moved, 1 missing (kept), 1 skipped, "
                                            "5 unchanged")
    assert scan_summary(ScanResult().as_dict()) == ""
    assert scan_summary({"added": 2, "changed": 1}) == "2 new, 1 changed"  # counts also read


def test_an_empty_answer_stays_when_the_tab_is_shown_again(qtbot, window, library):
    """An identify that found no match leaves an empty table and its message; leaving the tab and
    coming back must not replace the message with the library's listing ("0 tracks shown")."""
    qtbot.waitUntil(lambda: library.task is None, timeout=30_000)
    library._show([], note="clip.wav: no match (best 1.2 standard deviations above chance)")
    window.tabs.setCurrentIndex(0)
    window.tabs.setCurrentWidget(library)
    qtbot.wait(200)
    assert library.task is None
    assert library.status.text().startswith("clip.wav: no match")
