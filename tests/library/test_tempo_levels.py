"""Tempo filters match a track at the half or double tempo its own analysis lists (real SQLite,
the real CLI): game music stored at 70 BPM is found by --bpm 135-145, said and ranked last."""

from __future__ import annotations

import json

import pytest

from musicapp.cli import main
from musicapp.library.api import Library
from musicapp.library.tempo_levels import match_text, tempo_match


def _cands(bpm: float, half: float, double: float) -> list[dict]:
    """Candidates as musicapp.analysis.grid.candidates writes them (scores sum to 1)."""
    tactus = 1.0 - half - double
    return [{"bpm": bpm, "relation": "tactus", "score": tactus},
            {"bpm": round(bpm / 2, 2), "relation": "half", "score": half},
            {"bpm": round(bpm * 2, 2), "relation": "double", "score": double}]


TRACKS = {
    "/g/exact.wav": {"tempo_bpm": 140.0, "tempo_candidates": _cands(140.0, 0.1, 0.2)},
    # counted at half time, the analysis unsure of the level (double nearly as likely)
    "/g/half-counted.wav": {"tempo_bpm": 70.0, "tempo_candidates": _cands(70.0, 0.05, 0.42)},
    # counted at half time, double listed with a small score
    "/g/weak-double.wav": {"tempo_bpm": 71.0, "tempo_candidates": _cands(71.0, 0.1, 0.1)},
    # double listed with score 0: no evidence for that level, not matched
    "/g/zero-double.wav": {"tempo_bpm": 69.0, "tempo_candidates": _cands(69.0, 0.2, 0.0)},
    # no candidates stored (an older analysis): only its own tempo counts
    "/g/no-candidates.wav": {"tempo_bpm": 70.5},
    "/g/slow.wav": {"tempo_bpm": 100.0, "tempo_candidates": _cands(100.0, 0.2, 0.2)},
    # counted at double time (280): matched at half time
    "/g/double-counted.wav": {"tempo_bpm": 280.0, "tempo_candidates": _cands(280.0, 0.3, 0.0)},
}


def _library(db) -> None:
    with Library(db) as lib:
        for i, (path, analysis) in enumerate(TRACKS.items()):
            lib.store.con.execute(
                "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
                "VALUES (?, 1, 1, ?, 'pending', 0, 0)", (path, f"h{i}"))
            lib.store.save_result(i + 1, fingerprint=None, analysis=analysis)


def test_search_matches_listed_half_and_double_tempos_exact_first(tmp_path):
    _library(tmp_path / "lib.sqlite3")
    with Library(tmp_path / "lib.sqlite3") as lib:
        found = lib.search(bpm="135-145")
        assert [t["path"] for t in found] == ["/g/exact.wav", "/g/half-counted.wav",
                                              "/g/weak-double.wav", "/g/double-counted.wav"]
        assert "bpm_match" not in found[0]
        assert found[1]["bpm_note"] == ("70.0 BPM, matched at double time 140.0 "
                                        "(the analysis is unsure of the level)")
        assert found[2]["bpm_note"] == "71.0 BPM, matched at double time 142.0"
        assert found[3]["bpm_match"]["level"] == "half" and found[3]["bpm_match"]["bpm"] == 140.0
        assert [t["path"] for t in lib.search(bpm="135-145", bpm_levels=False)] == ["/g/exact.wav"]
        # the own tempo in range is exact even when a level is in range too
        low = lib.search(bpm="65-75")
        assert [t.get("bpm_match") for t in low[:4]] == [None] * 4
        assert [(t["path"], t["bpm_match"]["level"]) for t in low[4:]] == [("/g/exact.wav", "half")]


def test_damaged_candidates_match_nothing_and_break_nothing(tmp_path):
    _library(tmp_path / "lib.sqlite3")
    with Library(tmp_path / "lib.sqlite3") as lib:
        for tid, cands in ((2, "not a list"), (3, [1, "x", None, {"relation": "double"}])):
            a = lib.store.analysis(tid)
            a["tempo_candidates"] = cands
            lib.store.con.execute("UPDATE analysis SET json = ? WHERE track_id = ?",
                                  (json.dumps(a), tid))
        lib.store.con.commit()
        assert [t["path"] for t in lib.search(bpm="135-145")] == ["/g/exact.wav",
                                                                  "/g/double-counted.wav"]


def test_tempo_match_reads_only_listed_levels():
    a = TRACKS["/g/half-counted.wav"]
    assert tempo_match(a, 65, 75) == {"level": "tactus", "bpm": 70.0}
    assert tempo_match(a, 200, 300) is None  # x4 is not listed
    assert tempo_match({"tempo_bpm": None, "tempo_candidates": _cands(70, 0.3, 0.3)}, 130, 150) is None
    assert match_text(70.0, {"level": "tactus", "bpm": 70.0}) is None


def test_cli_search_says_the_level_and_exact_bpm_turns_it_off(tmp_path, capsys):
    db = str(tmp_path / "lib.sqlite3")
    _library(db)
    assert main(["library", "search", "--bpm", "135-145", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "/g/exact.wav" in lines[0] and "matched at" not in lines[0]
    assert "(70.0 BPM, matched at double time 140.0 (the analysis is unsure of the level))" in lines[1]
    assert "matched at half time 140.0" in lines[3]
    assert main(["library", "search", "--bpm", "135-145", "--exact-bpm", "--db", db, "--json"]) == 0
    assert [t["path"] for t in json.loads(capsys.readouterr().out)] == ["/g/exact.wav"]
    assert main(["library", "search", "--exact-bpm", "--db", db]) == 2
    assert "--exact-bpm needs --bpm" in capsys.readouterr().err


@pytest.mark.parametrize("bpm", ["138-142"])
def test_json_result_carries_the_match(tmp_path, capsys, bpm):
    db = str(tmp_path / "lib.sqlite3")
    _library(db)
    assert main(["library", "search", "--bpm", bpm, "--db", db, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    half = next(t for t in out if t["path"] == "/g/half-counted.wav")
    assert half["bpm_match"] == {"level": "double", "bpm": 140.0, "score": 0.42, "unsure": True}


def test_similar_passes_half_and_double_time_and_says_so(tmp_path):
    import numpy as np

    rng = np.random.default_rng(3)
    db = tmp_path / "lib.sqlite3"
    with Library(db) as lib:
        for i, (path, analysis) in enumerate(TRACKS.items()):
            lib.store.con.execute(
                "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
                "VALUES (?, 1, 1, ?, 'pending', 0, 0)", (path, f"h{i}"))
            code = "".join(f"{b:02x}" for b in rng.integers(0, 256, 8))
            lib.store.save_result(i + 1, fingerprint=None, analysis={**analysis, "hash": code})
    with Library(db) as lib:
        hits = lib.similar(1, 10, analyser=None, bpm="135-145")  # exact.wav itself is left out
        by_path = {h["path"]: h for h in hits}
        assert set(by_path) == {"/g/half-counted.wav", "/g/weak-double.wav", "/g/double-counted.wav"}
        assert by_path["/g/weak-double.wav"]["bpm_note"] == "71.0 BPM, matched at double time 142.0"
        assert lib.similar(1, 10, analyser=None, bpm="135-145", bpm_levels=False) == []
