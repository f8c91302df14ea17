"""``musicapp library`` options that were accepted silently: ranges, empty words, ``--db``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from musicapp.cli import main
from musicapp.library.api import Library

TRACKS = {"/m/slow.wav": (90.3, 200.0), "/m/mid.wav": (100.0, 61.0), "/m/fast.wav": (140.0, 30.4)}


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path, monkeypatch):
    """The default library lives in a folder of the test's own (not created yet)."""
    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


def _library(db) -> None:
    with Library(db) as lib:
        for i, (path, (bpm, seconds)) in enumerate(TRACKS.items()):
            lib.store.con.execute(
                "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
                "VALUES (?, 1, 1, ?, 'pending', 0, 0)", (path, f"h{i}"))
            lib.store.save_result(i + 1, fingerprint=None,
                                  analysis={"tempo_bpm": bpm, "duration_s": seconds})


def _search(capsys, db, *argv: str) -> list[str]:
    assert main(["library", "search", *argv, "--db", str(db), "--json"]) == 0
    return sorted(t["path"] for t in json.loads(capsys.readouterr().out))


def test_ranges_and_one_number(tmp_path, capsys):
    db = tmp_path / "lib.sqlite3"
    _library(db)
    assert _search(capsys, db, "--bpm", "80-100") == ["/m/mid.wav", "/m/slow.wav"]
    assert _search(capsys, db, "--bpm", "80..95") == ["/m/slow.wav"]
    assert _search(capsys, db, "--bpm", " 95 – 150 ") == ["/m/fast.wav", "/m/mid.wav"]
    # one number: the tempos that round to it (90 matched only exactly 90.0 and found nothing)
    assert _search(capsys, db, "--bpm", "90") == ["/m/slow.wav"]
    assert _search(capsys, db, "--bpm", "0-95") == ["/m/slow.wav"]
    assert _search(capsys, db, "--duration", "60-300", "--bpm", "95-110") == ["/m/mid.wav"]
    assert _search(capsys, db, "--duration", "30") == ["/m/fast.wav"]


@pytest.mark.parametrize(("value", "said"), [
    ("100-80", "did you mean 80-100?"),  # reversed: used to return nothing (or be swapped)
    ("0-0", "matches nothing"), ("0", "must be above 0"), ("-5", "cannot be negative"),
    ("-10--5", "cannot be negative"), ("abc", "got 'abc'"), ("nan", "finite"),
    ("80-inf", "finite"), ("NaN-100", "finite"), ("", "got ''"), ("80-", "got '80-'"),
    ("5000", "above the largest"), ("80-100-120", "got '80-100-120'"),
])
@pytest.mark.parametrize("option", ["--bpm", "--duration"])
@pytest.mark.parametrize("command", [["search"], ["similar", "1"]])
def test_bad_ranges_are_refused_before_the_library_is_opened(command, option, value, said,
                                                            tmp_path, capsys):
    if option == "--duration" and value == "5000":
        value, said = "1e9", "above the largest"
    assert main(["library", *command, f"{option}={value}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"musicapp: error: bad range for {option}: ") and said in err, err
    assert not (tmp_path / "data" / "library.sqlite3").exists()  # refused before any library


@pytest.mark.parametrize("argv", [
    ["search", "--mood", ""], ["search", "--mood", "  "], ["search", "--key", ""],
    ["search", "--text", ""], ["similar", "1", "--key", " "], ["similar", "1", "--mood", ""],
])
def test_empty_words_are_refused(argv, capsys):
    """``--mood ''`` dropped the filter and listed every track."""
    with pytest.raises(SystemExit) as exc:
        main(["library", *argv])
    assert exc.value.code == 2 and "is empty" in capsys.readouterr().err


def test_mood_percentile_needs_a_mood(tmp_path, capsys):
    """--mood-percentile without --mood was ignored; `similar` took it and never used it."""
    db = tmp_path / "lib.sqlite3"
    _library(db)
    assert main(["library", "search", "--mood-percentile", "50", "--db", str(db)]) == 2
    assert "musicapp: error: --mood-percentile needs --mood" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["library", "similar", "1", "--mood", "calm", "--mood-percentile", "50"])
    assert exc.value.code == 2


@pytest.mark.parametrize("threshold", ["0", "-3", "nan", "1e9"])
def test_identify_threshold_must_be_a_positive_score(threshold, tmp_path, capsys):
    """--threshold 0 or below accepted any unrelated track as the identification."""
    with pytest.raises(SystemExit) as exc:
        main(["library", "identify", "clip.wav", f"--threshold={threshold}"])
    assert exc.value.code == 2 and "argument --threshold" in capsys.readouterr().err


def test_workers_and_dask_are_refused_together(tmp_path, capsys):
    (tmp_path / "music").mkdir()
    assert main(["library", "add", "music", "--workers", "2", "--dask", "local"]) == 2
    assert "--workers and --dask" in capsys.readouterr().err
    assert not (tmp_path / "data" / "library.sqlite3").exists()


@pytest.mark.parametrize("command", [["list"], ["search"], ["info"], ["prune"], ["check"],
                                     ["add", "music"], ["remove", "--missing"]])
def test_db_in_a_folder_that_does_not_exist_is_refused(command, tmp_path, capsys):
    """A typo in --db's folder created the folders and a new, empty library there."""
    (tmp_path / "music").mkdir()
    db = tmp_path / "Musci" / "libs" / "library.sqlite3"
    assert main(["library", *command, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musicapp: error: --db ")
    assert f"folder {tmp_path / 'Musci'} does not exist" in err
    assert not (tmp_path / "Musci").exists()
    assert not (tmp_path / "data" / "library.sqlite3").exists()


@pytest.mark.parametrize("command", [["list"], ["search", "--bpm", "80-100"], ["info"],
                                     ["similar", "1"], ["identify", "clip.wav"], ["prune"],
                                     ["check"], ["remove", "--missing"]])
def test_a_db_file_that_does_not_exist_is_refused_except_by_add(command, tmp_path, capsys):
    """`library list --db lbrary.sqlite3` created an empty library and said it was empty."""
    db = tmp_path / "lbrary.sqlite3"
    assert main(["library", *command, "--db", str(db)]) == 2
    assert "no library database here" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name != "data"] == []  # (data: the log)


def test_db_that_is_a_folder_is_refused(tmp_path, capsys):
    assert main(["library", "list", "--db", str(tmp_path)]) == 2
    assert "is a folder; give the database file" in capsys.readouterr().err


def test_add_starts_a_library_in_an_existing_folder_and_the_default_one_is_created(tmp_path,
                                                                                    capsys):
    (tmp_path / "music").mkdir()
    assert main(["library", "add", "music", "--db", "new.sqlite3", "--json"]) == 0
    assert (tmp_path / "new.sqlite3").is_file()
    # the default location is the app's own: created when needed, named or not
    assert main(["library", "list", "--json"]) == 0
    assert main(["library", "list", "--db", str(tmp_path / "data" / "library.sqlite3")]) == 0
    assert (tmp_path / "data" / "library.sqlite3").is_file()


@pytest.mark.parametrize("command", [["check", "--repair"], ["list"], ["add", "music"]])
@pytest.mark.parametrize("name", ["song.wav", "take.sqlite3", "new.flac", "clip.mid"])
def test_an_audio_file_is_never_taken_for_the_library(command, name, tmp_path, capsys):
    """`library check --repair --db song.wav` renamed the song to song.wav.damaged-TIME and
    put an empty library in its place."""
    import numpy as np
    import soundfile as sf

    (tmp_path / "music").mkdir()
    if name != "new.flac":  # an existing file (a WAV even under another name), or a new name
        sf.write(str(tmp_path / name), np.zeros(8000, dtype=np.float32), 8000, format="WAV")
    before = sorted(p.name for p in tmp_path.iterdir())
    content = (tmp_path / name).read_bytes() if (tmp_path / name).exists() else None
    assert main(["library", *command, "--db", name]) == 2
    assert "an audio or MIDI file, not a library database" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if content is not None:
        assert (tmp_path / name).read_bytes() == content


@pytest.mark.parametrize("command", [["list"], ["add", "music"], ["check", "--repair"]])
def test_another_programs_database_is_left_untouched(command, tmp_path, capsys):
    """`library list --db places.sqlite` added musicapp's tables to another program's database."""
    import sqlite3

    (tmp_path / "music").mkdir()
    other = tmp_path / "places.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE bookmarks (id INTEGER, url TEXT)")
    con.commit()
    con.close()
    before = other.read_bytes()
    assert main(["library", *command, "--db", str(other)]) == 2
    err = capsys.readouterr().err
    assert "the SQLite database of another program (tables: bookmarks)" in err
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == ["music",
                                                                            "places.sqlite"]


def test_an_empty_sqlite_file_and_an_existing_library_are_used(tmp_path, capsys):
    import sqlite3

    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()  # a 0-byte file
    assert main(["library", "list", "--db", str(empty)]) == 0
    assert "(library is empty)" in capsys.readouterr().out
    db = tmp_path / "lib.sqlite3"
    _library(db)
    assert main(["library", "list", "--db", str(db), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_add_into_a_pipe_prints_a_line_per_finished_track(tmp_path):
    """Piped to a log, ``library add`` used to print nothing until the end (11 minutes for 29
    tracks): without a terminal it prints one line per finished track instead of a bar."""
    import subprocess
    import sys

    import numpy as np
    import soundfile as sf

    music = tmp_path / "music"
    music.mkdir()
    t = np.arange(22050 * 4) / 22050
    for i in range(2):
        sf.write(music / f"tone{i}.wav", (0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t)
                                           ).astype(np.float32), 22050)
    (music / "bad.wav").write_bytes(b"RIFF1234WAVEjunk")
    env = {**os.environ, "MUSICAPP_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "musicapp", "library", "add", str(music),
                           "--db", str(tmp_path / "lib.sqlite3"), "--fingerprint-only"],
                          capture_output=True, text=True, env=env,  # both pipes: no tty
                          cwd=str(Path(__file__).resolve().parents[2]), timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("[")]
    assert "\r" not in done.stderr  # no bar redrawn in place
    assert len(lines) == 3
    assert [ln.split(" ", 1)[0] for ln in lines] == ["[1/3]", "[2/3]", "[3/3]"]
    added = sorted(ln.split(" added ", 1)[1].split(" · ")[0] for ln in lines if " added " in ln)
    assert added == ["tone0.wav (0:04)", "tone1.wav (0:04)"]  # in whichever order they finished
    failed = [ln for ln in lines if " failed bad.wav: " in ln]
    assert len(failed) == 1 and "not a recognised audio file" in failed[0]
    assert all(ln.endswith(" s so far") for ln in lines)
