"""``--db`` naming a file that was never a library (a text file, random bytes): every library
command says so and leaves it untouched; ``check --repair`` never renames it to ``.damaged-…``
and puts a database in its place (the real CLI in-process, real files)."""

from __future__ import annotations

import os
import sqlite3

import pytest

from musicapp.cli import main
from musicapp.library.check import check_database, repair_database
from musicapp.library.store import LibraryError, Store, foreign_file_kind
from tests.library.music import write_song

COMMANDS = (["add", "MUSIC"], ["check"], ["check", "--repair"], ["list"], ["info"])


@pytest.fixture
def music(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    write_song(folder / "s0.wav", 3, seconds=2.0)
    return folder


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("notes.txt", b"my set list\nAm F C G\n", "a text file"),
    ("blob.dat", bytes(range(256)) * 20, "another kind of file, not an SQLite database"),
])
def test_a_file_that_was_never_a_library_is_named_and_left_alone(tmp_path, music, capsys,
                                                                 name, data, kind):
    db = tmp_path / name
    db.write_bytes(data)
    for cmd in COMMANDS:
        args = [str(music) if a == "MUSIC" else a for a in cmd]
        assert main(["library", *args, "--fingerprint-only", "--workers", "0", "--db", str(db)]
                    if cmd[0] == "add" else ["library", *args, "--db", str(db)]) == 2, cmd
        err = capsys.readouterr().err
        assert f"{db} is not a musicapp library (it is {kind}); choose another --db" in err, err
        assert "--repair" not in err and "check" not in err.split("choose")[1], err
    assert db.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["music", name])  # no .damaged-…


def test_check_and_repair_refuse_without_a_header_but_an_empty_file_is_a_database(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    for fn in (check_database, repair_database):
        with pytest.raises(LibraryError, match="not a musicapp library"):
            fn(notes)
    with pytest.raises(LibraryError, match="not a musicapp library"):
        Store(notes)
    assert notes.read_text() == "not a database\n"
    empty = tmp_path / "empty.sqlite3"
    empty.touch()  # SQLite's own empty database: opened (and set up) as before
    assert foreign_file_kind(empty) is None
    with Store(empty) as st:
        assert st.tracks() == []
    assert empty.read_bytes()[:16] == b"SQLite format 3\x00"


def test_a_damaged_library_with_its_header_still_gets_repair_advice(tmp_path, capsys):
    db = tmp_path / "lib.sqlite3"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (x)")
    con.close()
    db.write_bytes(db.read_bytes()[:16] + os.urandom(4000))  # header kept, the rest garbage
    assert foreign_file_kind(db) is None
    assert main(["library", "list", "--db", str(db)]) == 2
    assert "library check" in capsys.readouterr().err
