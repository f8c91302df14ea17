"""Store: WAL mode, schema migrations, scan/rescan (missing, moved, changed files), prune."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest

from musicapp.library.store import SCHEMA_VERSION, LibraryError, Store, default_db_path
from tests.library.music import write_song


def test_wal_mode_and_version(tmp_path):
    with Store(tmp_path / "lib.sqlite3") as st:
        assert st.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert st.version == SCHEMA_VERSION
        assert st.integrity_check() == "ok"


def test_default_path_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(tmp_path / "d"))
    assert default_db_path() == tmp_path / "d" / "library.sqlite3"


def test_migration_from_v1_keeps_data(tmp_path):
    db = tmp_path / "old.sqlite3"
    st = Store.__new__(Store)  # open at schema 1 only, as an old version would have left it
    st.path = db
    st.con = sqlite3.connect(str(db), isolation_level=None)
    st.con.execute("PRAGMA journal_mode=WAL")
    st.migrate(target=1)
    assert st.version == 1
    st.con.execute(
        "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
        "VALUES ('/x.wav', 1, 1, 'abc', 'ok', 0, 0)"
    )
    analysis = {
        "key": {"tonic": "D", "mode": "minor"},
        "tempo_bpm": 92.0,
        "moods": [{"tag": "calm", "score": 0.3, "percentile": 90}],
    }
    st.con.execute(
        "INSERT INTO analysis(track_id, json, duration_s) VALUES (1, ?, 60)", (json.dumps(analysis),)
    )
    st.con.close()
    with Store(db) as new:
        assert new.version == SCHEMA_VERSION
        assert new.tracks()[0].path == "/x.wav"
        assert new.filter_ids(tonic="D", mode="minor", bpm=(80, 100), mood="calm") == [1]
        assert new.filter_ids(tonic="E") == []


def test_stale_fingerprints_are_requeued(tmp_path):
    from musicapp.library import fingerprint as fp
    from musicapp.library.indexer import Indexer, no_analyser

    write_song(tmp_path / "m" / "a.wav", 1, 2.0)
    with Store(tmp_path / "lib.sqlite3") as st:
        st.scan(tmp_path / "m")
        Indexer(st, analyser=no_analyser, workers=0).run()
        st.con.execute("UPDATE fingerprints SET version = ?", (fp.FINGERPRINT_VERSION - 1,))
        report = Indexer(st, analyser=no_analyser, workers=0).run()
        assert report.done == 1
        version = st.con.execute("SELECT version FROM fingerprints").fetchone()[0]
        assert version == fp.FINGERPRINT_VERSION


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "new.sqlite3"
    con = sqlite3.connect(str(db))
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(LibraryError, match="newer"):
        Store(db)


def test_garbage_file_is_refused(tmp_path):
    db = tmp_path / "bad.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LibraryError, match=r"bad\.sqlite3"):
        Store(db)


def test_rescan_detects_removed_moved_changed(tmp_path):
    music = tmp_path / "music"
    a = write_song(music / "a.wav", 1, 2.0)
    b = write_song(music / "sub" / "b.wav", 2, 2.0)
    c = write_song(music / "c.wav", 3, 2.0)
    (music / "notes.txt").write_text("not audio")
    with Store(tmp_path / "lib.sqlite3") as st:
        r = st.scan(music)
        assert sorted(r.added) == sorted(str(p.resolve()) for p in (a, b, c))
        ids = {t.path: t.id for t in st.tracks()}
        for tid in ids.values():
            st.save_result(tid, fingerprint=b"", analysis={"tempo_bpm": 100.0})

        r = st.scan(music)
        assert (r.added, r.moved, r.removed, r.unchanged) == ([], [], [], 3)

        os.remove(a)
        moved = music / "renamed" / "b2.wav"
        moved.parent.mkdir()
        shutil.move(b, moved)
        write_song(c, 4, 2.0)  # same path, new content
        r = st.scan(music)
        assert r.removed == [] and r.missing == [str(a.resolve())]  # kept, marked missing
        assert r.moved == [(str(b.resolve()), str(moved.resolve()))]
        assert r.changed == [str(c.resolve())]
        t_moved = st.track_by_path(moved)
        assert t_moved.id == ids[str(b.resolve())]  # same row: its analysis is kept
        assert t_moved.status == "ok" and st.analysis(t_moved.id)["tempo_bpm"] == 100.0
        assert st.track_by_path(c).status == "pending"
        assert st.analysis(st.track_by_path(c).id) is None
        assert st.count() == 3 and st.count("missing") == 1
        assert st.track_by_path(a).state == "missing" and st.analysis(st.track_by_path(a).id)
        assert st.prune_missing(dry_run=True) == [str(a.resolve())] and st.count() == 3
        assert st.prune_missing() == [str(a.resolve())] and st.count() == 2
        assert st.integrity_check() == "ok"


def test_claims_hand_each_pending_track_to_one_run(tmp_path):
    import subprocess
    import sys
    import time

    music = tmp_path / "m"
    for i in range(4):
        write_song(music / f"t{i}.wav", 50 + i, 1.0)
    db = tmp_path / "lib.sqlite3"
    with Store(db) as one, Store(db) as two:
        one.scan(music)
        a, b = one.claim_pending(2), two.claim_pending()
        assert len(a) == 2 and len(b) == 2 and not {t.id for t in a} & {t.id for t in b}
        assert two.claim_pending() == [] and one.count("pending") == 4
        assert one.release_claims() == 2
        assert sorted(t.id for t in two.claim_pending()) == sorted(t.id for t in a)
        # A claim of a process that has died is taken over at once; an old lease too.
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        owner = f"{two.owner.split(':')[0]}:{int(dead.stdout)}:gone"
        one.con.execute("UPDATE tracks SET claimed_by = ? WHERE id = ?", (owner, b[0].id))
        one.con.execute("UPDATE tracks SET claimed_at = ? WHERE id = ?", (time.time() - 1e6, b[1].id))
        assert sorted(t.id for t in one.claim_pending()) == sorted(t.id for t in b)
        # A live pid whose start time differs is a reused pid: its claim is taken over too.
        host, pid, start, _ = one.owner.split(":")
        reused = f"{host}:{pid}:{int(start) + 1}:old" if start.isdigit() else f"{host}:{int(dead.stdout)}:1:x"
        one.con.execute("UPDATE tracks SET claimed_by = ? WHERE id = ?", (reused, b[1].id))
        assert [t.id for t in two.claim_pending()] == [b[1].id]
        assert one.save_result(b[0].id, fingerprint=b"", analysis={})
        row = one.con.execute("SELECT claimed_by FROM tracks WHERE id = ?", (b[0].id,)).fetchone()
        assert row[0] is None and one.track(b[0].id).status == "ok"


def test_concurrent_first_open_migrates_once(tmp_path):
    import threading

    db = tmp_path / "new.sqlite3"
    errors: list[BaseException] = []

    def open_it():
        try:
            with Store(db) as st:
                assert st.version == SCHEMA_VERSION
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with Store(db) as st:
        assert st.integrity_check() == "ok"
        names = [r[0] for r in st.con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert names.count("tracks") == 1


def test_save_result_of_a_removed_track_is_dropped(tmp_path):
    write_song(tmp_path / "m" / "a.wav", 1, 1.0)
    with Store(tmp_path / "lib.sqlite3") as st:
        st.scan(tmp_path / "m")
        tid = st.tracks()[0].id
        st.remove([tid])
        assert st.save_result(tid, fingerprint=b"x", analysis={}) is False
        assert st.save_error(tid, "boom") is False
        assert st.integrity_check() == "ok"


def test_no_room_to_create_a_new_library_says_so_and_leaves_nothing(tmp_path, capsys):
    """On a 64 KB file system with 4 KB free, the first `library add` used to say "the library
    is not damaged: `library list` still reads it" while `list` failed with the same error on
    the empty file it left (a real tmpfs, the real CLI in-process)."""
    from musicapp.cli import main
    from tests.helpers.tmpfs import small_tmpfs

    music = tmp_path / "music"
    write_song(music / "s0.wav", 3, 2.0)
    with small_tmpfs(tmp_path / "tiny", "64k") as mnt:
        (mnt / "filler").write_bytes(b"\0" * 60000)
        db = mnt / "lib.sqlite3"
        assert main(["library", "add", str(music), "--fingerprint-only", "--workers", "0",
                     "--db", str(db)]) == 2
        err = capsys.readouterr().err
        assert f"no space left to create the library at {db}" in err, err
        assert "nothing was added" in err and "library list" not in err, err
        assert sorted(p.name for p in mnt.iterdir()) == ["filler"]  # no empty database left
        assert main(["library", "list", "--db", str(db)]) == 2
        err = capsys.readouterr().err
        assert "no library database here" in err and "full" not in err, err
