"""The pipeline's verdict (ok / silence / too short / damaged, and truncated) is kept by the
library: real files indexed by the real CLI into a real SQLite file, and a real version-4
database migrated. Before: every such track was listed as ``ok`` and ``--status damaged`` was an
invalid choice."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
import soundfile as sf

from musicapp.cli import main
from musicapp.library.schema import MIGRATIONS, SCHEMA_VERSION
from musicapp.library.store import Store

SR = 22050


def _write(folder) -> None:
    t = np.arange(SR * 12) / SR
    # a C major triad: music (a key), so it gets moods; a lone dyad is "no music found" since
    # musicapp.models.no_music, and would leave the mood search below with nothing to find
    y = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0)).astype(np.float32)
    damaged = y.copy()
    damaged[np.random.default_rng(0).random(y.size) < 0.02] = np.nan
    sf.write(folder / "damaged.wav", damaged, SR, subtype="FLOAT")
    sf.write(folder / "silent.wav", np.zeros(SR * 10, np.float32), SR)
    sf.write(folder / "one.wav", np.array([0.1], np.float32), SR)
    sf.write(folder / "good.wav", y, SR)
    sf.write(folder / "trunc.wav", y, SR, subtype="PCM_16")
    raw = (folder / "trunc.wav").read_bytes()
    (folder / "trunc.wav").write_bytes(raw[: len(raw) // 2])


def _json(capsys, argv):
    capsys.readouterr()
    rc = main(argv)
    out = capsys.readouterr().out
    return rc, json.loads(out)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("status")
    (tmp / "m").mkdir()
    _write(tmp / "m")
    db = tmp / "l.sqlite3"
    assert main(["library", "add", str(tmp / "m"), "--db", str(db), "--workers", "0", "--json"]) == 0
    return db


def test_list_shows_the_analysis_status(indexed, capsys):
    rc, rows = _json(capsys, ["library", "list", "--db", str(indexed), "--json"])
    by = {r["path"].rsplit("/", 1)[-1]: r for r in rows}
    assert {k: (v["status"], v["analysis_status"]) for k, v in by.items()} == {
        "damaged.wav": ("damaged", "damaged"), "silent.wav": ("silence", "silence"),
        "one.wav": ("too short", "too short"), "good.wav": ("ok", "ok"), "trunc.wav": ("ok", "ok")}
    assert by["trunc.wav"]["truncated"] and not by["good.wav"]["truncated"]
    for state, names in {"damaged": ["damaged.wav"], "silence": ["silent.wav"],
                         "too short": ["one.wav"], "truncated": ["trunc.wav"],
                         "ok": ["good.wav", "trunc.wav"]}.items():
        rc, rows = _json(capsys, ["library", "list", "--db", str(indexed), "--json", "--status", state])
        assert rc == 0 and sorted(r["path"].rsplit("/", 1)[-1] for r in rows) == names, state
    capsys.readouterr()
    assert main(["library", "list", "--db", str(indexed)]) == 0
    text = capsys.readouterr().out
    assert "damaged " in text and "too short" in text and "silence" in text and "truncated" in text
    rc, info = _json(capsys, ["library", "info", "--db", str(indexed), "--json"])
    counts = (info["damaged"], info["silence"], info["too short"], info["truncated"], info["ok"])
    assert counts == (1, 1, 1, 1, 2)


def test_no_music_tracks_stay_out_of_mood_and_similar_results(indexed, capsys):
    rc, found = _json(capsys, ["library", "search", "--db", str(indexed), "--json", "--mood", "sad",
                               "--mood-percentile", "0"])
    names = {r["path"].rsplit("/", 1)[-1] for r in found}
    assert names and not names & {"damaged.wav", "silent.wav", "one.wav"}
    rc, sim = _json(capsys, ["library", "similar", str(indexed.parent / "m" / "good.wav"),
                             "--db", str(indexed), "--json"])
    assert rc == 0
    hits = sim["results"] if isinstance(sim, dict) and "results" in sim else sim
    names = {h["path"].rsplit("/", 1)[-1] for h in hits}
    assert "trunc.wav" in names and not names & {"damaged.wav", "silent.wav", "one.wav"}, names


def test_a_version_4_database_is_migrated(tmp_path, capsys):
    db = tmp_path / "old.sqlite3"
    con = sqlite3.connect(db, isolation_level=None)
    for migrate in MIGRATIONS[:4]:
        migrate(con)
    con.execute("PRAGMA user_version = 4")
    for i, (status, warnings) in enumerate([("damaged", []), ("silence", []), ("ok", ["truncated: x"]),
                                            (None, [])], start=1):
        con.execute("INSERT INTO tracks(id, path, size, mtime_ns, content_hash, status, added_at, "
                    "updated_at) VALUES (?, ?, 1, 1, ?, 'ok', 0, 0)", (i, f"/x/{i}.wav", f"h{i}"))
        result = {"duration_s": 5.0, "warnings": warnings, **({"status": status} if status else {})}
        con.execute("INSERT INTO analysis(track_id, json) VALUES (?, ?)", (i, json.dumps(result)))
    con.close()
    assert SCHEMA_VERSION == 5
    with Store(db, readonly=True) as s:  # read-only (a read-only disk): read without upgrading
        assert s.version == 4
        assert [[t.id for t in s.tracks(state)] for state in ("damaged", "silence", "truncated", "ok")
                ] == [[1], [2], [3], [3, 4]]
    rc, rows = _json(capsys, ["library", "list", "--db", str(db), "--json"])
    assert rc == 0
    assert [(r["status"], r["truncated"]) for r in rows] == [
        ("damaged", False), ("silence", False), ("ok", True), ("ok", False)]
    with Store(db, readonly=True) as s:
        assert s.version == 5 and [t.id for t in s.tracks("damaged")] == [1]

