"""Issue 14, library database side: C4 (two `library add` at once), C7 (damaged pages, rows,
blobs, header), U4 (read-only database), all through the real CLI on real SQLite files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musicapp.cli import main
from musicapp.library.store import ReadOnlyLibraryError, Store
from tests.attack.test_library_scan import FP, ROOT, run_many
from tests.library.music import SR, song, write_song


def _cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return rc, out.out, out.err


def _synthetic_library(db: Path, n: int = 40) -> None:
    """A library of ``n`` analysed tracks (results stored as the indexer stores them; large
    enough that the analysis table spans several pages)."""
    rng = np.random.default_rng(0)
    with Store(db) as st:
        for i in range(n):
            st.con.execute(
                "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
                "VALUES (?, 1, 1, ?, 'pending', 0, 0)",
                (f"/music/t{i:02d}.wav", f"h{i}"),
            )
            st.save_result(
                i + 1,
                fingerprint=b"not-a-fingerprint",
                analysis={
                    "tempo_bpm": 90.0 + i,
                    "key": {"tonic": "D", "mode": "minor"},
                    "hash": f"{int(rng.integers(0, 2**63)):016x}",
                    "embedding": rng.standard_normal(16).round(4).tolist(),
                    "moods": [{"tag": "sad", "score": 0.5, "percentile": 50.0 + i}],
                    "notes": "x" * 300,
                },
            )


def _leaf_pages(db: Path, table: str) -> list[int]:
    con = sqlite3.connect(str(db))
    try:
        sql = "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'"
        return [r[0] for r in con.execute(sql, (table,))]
    finally:
        con.close()


def _overwrite_page(db: Path, page: int, fill: bytes = b"\xa5") -> None:
    con = sqlite3.connect(str(db))
    size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(db, "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(fill * size)


def test_damaged_page_rows_are_skipped_and_repair_keeps_the_rest(tmp_path, capsys):
    db = tmp_path / "lib.sqlite3"
    _synthetic_library(db)
    leaves = _leaf_pages(db, "analysis")
    assert len(leaves) >= 3
    _overwrite_page(db, leaves[1])
    d = ["--db", str(db)]

    rc, out, err = _cli(capsys, ["library", "list", *d, "--json"])
    listed = json.loads(out)
    assert rc == 0 and len(listed) == 40
    assert "damaged row(s) skipped" in err and "check --repair" in err
    damaged = 40 - sum(t["tempo_bpm"] is not None for t in listed)
    assert 0 < damaged < 40
    rc, out, err = _cli(capsys, ["library", "search", "--bpm", "80-200", *d, "--json"])
    assert rc == 0 and len(json.loads(out)) == 40 - damaged and "skipped" in err
    rc, out, err = _cli(capsys, ["library", "similar", "40", "-k", "3", *d, "--json"])
    assert rc == 0 and len(json.loads(out)) == 3
    rc, out, _ = _cli(capsys, ["library", "info", *d, "--json"])
    assert rc == 0 and json.loads(out)["tracks"] == 40

    rc, out, _ = _cli(capsys, ["library", "check", *d, "--json"])
    report = json.loads(out)
    assert rc == 1 and not report["ok"] and report["bad_rows"]["analysis"] == damaged
    rc, out, _ = _cli(capsys, ["library", "check", "--repair", *d, "--json"])
    repair = json.loads(out)["repair"]
    assert rc == 0 and repair["kept"]["tracks"] == 40 and repair["lost"]["analysis"] == damaged
    assert repair["kept"]["analysis"] == 40 - damaged and repair["requeued"] == damaged
    assert Path(repair["backup"]).exists()  # the old file is kept, never deleted
    rc, out, _ = _cli(capsys, ["library", "check", *d, "--json"])
    assert rc == 0 and json.loads(out)["ok"]
    rc, out, _ = _cli(capsys, ["library", "check", "--repair", *d])
    assert rc == 0 and "nothing to repair" in out and len(list(tmp_path.glob("*.damaged-*"))) == 1
    rc, out, _ = _cli(capsys, ["library", "list", "--status", "pending", *d, "--json"])
    assert len(json.loads(out)) == damaged  # re-analysed by the next `library add`


def test_damaged_tracks_page_is_survivable(tmp_path, capsys):
    db = tmp_path / "lib.sqlite3"
    _synthetic_library(db, 60)
    _overwrite_page(db, _leaf_pages(db, "tracks")[0])
    rc, out, err = _cli(capsys, ["library", "list", "--db", str(db), "--json"])
    assert rc == 0 and len(json.loads(out)) < 60 and "in tracks" in err
    rc, out, _ = _cli(capsys, ["library", "check", "--repair", "--db", str(db), "--json"])
    assert rc == 0 and json.loads(out)["repair"]["integrity_after"] == "ok"


def test_damaged_code_and_fingerprint_pages(tmp_path, capsys):
    db = tmp_path / "lib.sqlite3"
    _synthetic_library(db, 40)
    for table in ("codes", "fingerprints"):
        _overwrite_page(db, _leaf_pages(db, table)[0])
    d = ["--db", str(db)]
    rc, out, err = _cli(capsys, ["library", "info", *d, "--json"])
    assert rc == 0 and json.loads(out)["codes"] is None and "damaged" in err
    rc, _, err = _cli(capsys, ["library", "similar", "3", *d])
    assert rc == 2 and "hash codes cannot be read" in err and "check --repair" in err
    rc, out, _ = _cli(capsys, ["library", "check", *d, "--json"])
    assert rc == 1 and json.loads(out)["bad_rows"] == {"codes": 40, "fingerprints": 40}
    rc, out, _ = _cli(capsys, ["library", "check", "--repair", *d, "--json"])
    repair = json.loads(out)["repair"]
    assert rc == 0 and repair["lost"]["codes"] == 40 and repair["kept"]["analysis"] == 40
    rc, out, _ = _cli(capsys, ["library", "search", "--bpm", "80-200", *d, "--json"])
    assert rc == 0 and json.loads(out) == []  # all pending again (search lists analysed tracks)
    rc, out, _ = _cli(capsys, ["library", "list", *d, "--json"])
    assert all(t["status"] == "pending" and t["tempo_bpm"] for t in json.loads(out))  # analysis kept


def test_bad_json_row_bad_code_blob_bad_embedding(tmp_path, capsys):
    db = tmp_path / "lib.sqlite3"
    _synthetic_library(db, 6)
    con = sqlite3.connect(str(db))
    con.execute("UPDATE analysis SET json = '{\"tempo_bpm\": 1' WHERE track_id = 2")  # truncated JSON
    con.execute("UPDATE analysis SET json = '[1, 2]' WHERE track_id = 3")  # JSON, not an object
    con.execute("UPDATE codes SET code = x'0102' WHERE track_id = 4")  # 16 bits for 64
    con.execute("UPDATE embeddings SET vector = x'00010203040506' WHERE track_id = 5")  # 7 bytes
    con.commit()
    con.close()
    d = ["--db", str(db)]
    rc, out, err = _cli(capsys, ["library", "list", *d, "--json"])
    assert rc == 0 and len(json.loads(out)) == 6 and "2 in analysis" in err
    rc, out, err = _cli(capsys, ["library", "search", "--key", "D minor", *d, "--json"])
    assert rc == 0 and len(json.loads(out)) == 6
    rc, out, err = _cli(capsys, ["library", "similar", "1", "-k", "10", *d, "--json"])
    hits = json.loads(out)
    assert rc == 0 and 4 not in {h["id"] for h in hits} and "codes" in err and "embeddings" in err
    rc, out, _ = _cli(capsys, ["library", "check", *d, "--json"])
    bad = json.loads(out)["bad_rows"]
    assert rc == 1 and bad == {"analysis": 2, "codes": 1, "embeddings": 1}
    rc, out, _ = _cli(capsys, ["library", "check", "--repair", *d, "--json"])
    repair = json.loads(out)["repair"]
    assert rc == 0 and repair["requeued"] == 4 and repair["kept"]["codes"] == 5  # tracks 2-5


def test_negative_user_version_and_garbage_file(tmp_path, capsys):
    db = tmp_path / "lib.sqlite3"
    _synthetic_library(db, 3)
    con = sqlite3.connect(str(db))
    con.execute("PRAGMA user_version = -7")
    con.close()
    rc, _, err = _cli(capsys, ["library", "list", "--db", str(db)])
    assert rc == 2 and "schema version -7" in err and "check --repair" in err
    rc, out, _ = _cli(capsys, ["library", "check", "--repair", "--db", str(db), "--json"])
    assert rc == 0 and json.loads(out)["repair"]["kept"]["tracks"] == 3
    rc, out, _ = _cli(capsys, ["library", "list", "--db", str(db), "--json"])
    assert rc == 0 and len(json.loads(out)) == 3

    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    rc, _, err = _cli(capsys, ["library", "list", "--db", str(junk)])
    assert rc == 2 and "junk.sqlite3" in err and "library check" in err
    rc, out, _ = _cli(capsys, ["library", "check", "--db", str(junk), "--json"])
    assert rc == 1 and not json.loads(out)["opened"]


def test_two_concurrent_adds_on_one_database(tmp_path):
    """Four trials of two `library add` processes started together on a new database: no
    error, one migration, each track analysed (committed) once in total."""
    music = tmp_path / "m"
    for i in range(6):
        write_song(music / f"t{i}.wav", 200 + i, 2.0)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "MUSICAPP_LOG": str(tmp_path / "log")}  # fmt: skip
    for trial in range(4):
        db = tmp_path / f"lib{trial}.sqlite3"
        cmd = [sys.executable, "-m", "musicapp", "library", "add", str(music), *FP, "--db", str(db), "--json"]
        procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (_, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0 and "Error" not in err and "Traceback" not in err, err[-2000:]
        reports = [json.loads(out) for out, _ in outs]
        assert sum(r["indexed"] for r in reports) == 6, reports
        assert sum(len(r["scan"]["added"]) for r in reports) == 6
        with Store(db) as st:
            assert st.count("ok") == 6 and st.count() == 6 and st.integrity_check() == "ok"


def _small_indexed_library(tmp_path: Path, capsys) -> Path:
    music = tmp_path / "m"
    for i in range(3):
        write_song(music / f"s{i}.wav", 60 + i, 12.0)
    db = tmp_path / "ro" / "lib.sqlite3"
    db.parent.mkdir()  # --db's folder must exist (a typo no longer creates one)
    assert main(["library", "add", str(music), *FP, "--db", str(db), "--json"]) == 0
    capsys.readouterr()
    return db


def test_read_only_database_serves_read_commands(tmp_path, capsys):
    db = _small_indexed_library(tmp_path, capsys)
    clip = tmp_path / "clip.wav"
    import soundfile as sf

    sf.write(str(clip), song(61, 12.0)[2 * SR : 10 * SR], SR)
    db.chmod(0o444)
    db.parent.chmod(0o555)  # no -wal/-shm can be created either
    for p in (tmp_path, tmp_path / "m"):
        p.chmod(0o777)
    try:
        d = ["--db", str(db)]
        reads = [["list"], ["search", "--text", "s1"], ["info", "--json"], ["identify", str(clip)], ["check"]]
        writes = [["add", str(tmp_path / "m"), *FP], ["prune"], ["remove", "/"]]
        runs = run_many([["library", *argv, *d] for argv in reads + writes], tmp_path, as_user=True)
        for argv, run in zip(reads, runs[: len(reads)], strict=True):
            assert run.returncode == 0 and "Traceback" not in run.stderr, (argv, run.stderr[-2000:])
        assert "s1.wav" in runs[1].stdout and "s1.wav" in runs[3].stdout
        assert json.loads(runs[2].stdout)["read_only"] is True
        for argv, run in zip(writes, runs[len(reads) :], strict=True):
            assert run.returncode == 2 and "Traceback" not in run.stderr, (argv, run.stderr[-2000:])
            assert "read-only" in run.stderr, (argv, run.stderr)
    finally:
        db.parent.chmod(0o755)
        db.chmod(0o644)


def test_read_only_store_opens_with_mode_ro(tmp_path, capsys):
    """The read-only path itself (no privileges needed): a URI ``mode=ro`` connection refuses
    writes with a clear error and reads everything."""
    db = _small_indexed_library(tmp_path, capsys)
    with Store(db, readonly=True) as st:
        assert st.readonly and st.count("ok") == 3
        assert st.scan(tmp_path / "m").unchanged == 3  # nothing to write: fine
        with pytest.raises(ReadOnlyLibraryError, match="read-only"):
            st.retry_errors()
        write_song(tmp_path / "m" / "new.wav", 99, 1.0)
        with pytest.raises(ReadOnlyLibraryError, match="read-only"):
            st.scan(tmp_path / "m")


def test_damaged_fingerprint_blob_leaves_identify_working(tmp_path, capsys):
    db = _small_indexed_library(tmp_path, capsys)
    con = sqlite3.connect(str(db))
    con.execute("UPDATE fingerprints SET data = substr(data, 1, 100) WHERE track_id = 1")
    con.commit()
    con.close()
    clip = tmp_path / "clip.wav"
    import soundfile as sf

    sf.write(str(clip), song(61, 12.0)[2 * SR : 10 * SR], SR)
    rc, out, err = _cli(capsys, ["library", "identify", str(clip), "--db", str(db), "--json"])
    assert rc == 0 and json.loads(out)["path"].endswith("s1.wav") and "damaged fingerprints" in err


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 160 KB file system (tmpfs) for the database, where the test may mount one (root)."""
    from tests.helpers.tmpfs import small_tmpfs

    with small_tmpfs(tmp_path / "tiny", "160k") as mnt:
        yield mnt


def test_full_disk_under_the_database_is_named(tmp_path, tiny_tmpfs, capsys):
    # before: a COMMIT that failed with SQLITE_FULL had already rolled back, the second ROLLBACK
    # raised "cannot rollback - no transaction is active" and the user was told the database
    # had failed and to run `library check`
    music = tmp_path / "music"
    music.mkdir()
    for i in range(12):
        write_song(music / f"s{i:02d}.wav", i, seconds=1.0)
    db = tiny_tmpfs / "library.sqlite3"
    rc, _, err = _cli(capsys, ["library", "add", str(music), "--fingerprint-only", "--workers", "0",
                               "--db", str(db)])
    assert rc == 2
    assert "the disk holding the library is full" in err and "rollback" not in err, err
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
