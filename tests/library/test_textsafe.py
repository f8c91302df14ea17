"""Stored and printed forms of paths and text with undecodable bytes and control characters."""

from __future__ import annotations

import os
import sqlite3

from musicapp.library.textsafe import db_path, db_text, display, py_path


def test_paths_round_trip_through_sqlite_exactly():
    odd = os.fsdecode(b"/music/caf\xe9 \xff.wav")  # Latin-1 bytes: not UTF-8
    plain = "/music/café.wav"
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (path TEXT UNIQUE)")
    con.executemany("INSERT INTO t VALUES (?)", [(db_path(odd),), (db_path(plain),)])
    back = sorted(py_path(r[0]) for r in con.execute("SELECT path FROM t"))
    assert back == sorted([odd, plain])
    assert os.fsencode(py_path(db_path(odd))) == b"/music/caf\xe9 \xff.wav"
    assert isinstance(db_path(plain), str) and isinstance(db_path(odd), bytes)


def test_db_text_and_display_escape():
    assert db_text(os.fsdecode(b"bad \xff")) == "bad \\udcff"
    assert db_text(None) is None
    shown = display("a\nb\tc\x1b[31m\u202eevil\x7f" + os.fsdecode(b"\xfe"))
    assert shown == "a\\nb\\tc\\x1b[31m\\u202eevil\\x7f\\xfe"
    assert display("Motörhead – Ace of Spades") == "Motörhead – Ace of Spades"
