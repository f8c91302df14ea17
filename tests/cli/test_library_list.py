"""``musicapp library list``: the tempo column holds its own text and lengths read m:ss, with
a real SQLite library."""

from __future__ import annotations

import pytest

from musicapp.cli import main
from musicapp.cli.library import _length
from musicapp.library.api import Library

CLOSE = [{"bpm": 143.8, "relation": "tactus", "score": 0.5},
         {"bpm": 71.9, "relation": "half", "score": 0.45}]
TRACKS = {
    "/m/long.wav": {"tempo_bpm": 143.8, "tempo_confidence": 0.1, "tempo_candidates": CLOSE,
                    "duration_s": 1203.9, "key": {"tonic": "G", "mode": "major",
                                                  "confidence": 0.8}},
    "/m/short.wav": {"tempo_bpm": 92.5, "tempo_confidence": 0.9, "duration_s": 200.0,
                     "key": {"tonic": "A", "mode": "minor", "confidence": 0.8}},
    "/m/hour.wav": {"tempo_bpm": None, "duration_s": 3727.0},
}


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


def _library(db) -> None:
    with Library(db) as lib:
        for i, (path, analysis) in enumerate(TRACKS.items()):
            lib.store.con.execute(
                "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
                "VALUES (?, 1, 1, ?, 'pending', 0, 0)", (path, f"h{i}"))
            lib.store.save_result(i + 1, fingerprint=None, analysis=analysis)


def test_list_keeps_the_other_tempo_level_in_the_tempo_column(tmp_path, capsys):
    """"(or 71.9)" came after the key ("G major (or 71.9)"); the key column starts at one
    place on every row, after the longest tempo text, and lengths read as `add` says them."""
    db = tmp_path / "lib.sqlite3"
    _library(db)
    assert main(["library", "list", "--db", str(db)]) == 0
    lines = {line.rsplit("  ", 1)[-1]: line for line in capsys.readouterr().out.splitlines()}
    long, short, hour = lines["/m/long.wav"], lines["/m/short.wav"], lines["/m/hour.wav"]
    assert "~143.8 bpm (or 71.9)  G major" in long
    assert "G major (or" not in long
    assert long.index("G major") == short.index("A minor") == hour.index("-  ", long.index(
        "~143.8") + 1)  # the key column lines up after the tempo column
    assert "20:03" in long and "3:20" in short and "1:02:07" in hour
    assert "s " not in long.split("bpm")[0]  # no "1203.9s"


def test_lengths_read_as_library_add_says_them():
    """`add` prints "20:03" for 1203.9 s (its m:ss.s clock without the tenths)."""
    assert [_length(s) for s in (0.4, 59.96, 200.0, 1203.9, 3599.6, 3727.0)] == [
        "0:00", "1:00", "3:20", "20:03", "59:59", "1:02:07"]  # whole seconds of `add`
