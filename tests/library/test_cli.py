"""The ``musicapp library`` commands end to end (fingerprint-only indexing, JSON output)."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from musicapp.cli import main
from tests.library.music import SR, song, write_song


def _json(capsys, argv) -> tuple[int, object]:
    capsys.readouterr()
    rc = main(argv)
    return rc, json.loads(capsys.readouterr().out)


def test_library_commands(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    for i in range(3):
        write_song(music / f"s{i}.wav", 40 + i, 15.0)
    rc, out = _json(capsys, ["library", "add", str(music), "--fingerprint-only", "--workers", "0", "--json"])
    assert rc == 0 and out["indexed"] == 3 and len(out["scan"]["added"]) == 3
    assert (tmp_path / "data" / "library.sqlite3").exists()  # MUSICAPP_DATA_DIR honoured

    rc, listed = _json(capsys, ["library", "list", "--json"])
    assert rc == 0 and [t["status"] for t in listed] == ["ok"] * 3

    clip = tmp_path / "clip.wav"
    y = song(41, 15.0)[4 * SR : 12 * SR]
    rng = np.random.default_rng(0)
    sf.write(str(clip), y + 0.05 * rng.standard_normal(y.size).astype(np.float32), SR)
    rc, ident = _json(capsys, ["library", "identify", str(clip), "--json"])
    assert rc == 0 and ident["identified"] and ident["path"].endswith("s1.wav")
    assert abs(ident["best"]["offset_s"] - 4.0) < 0.2
    # what a musician reads: where the clip starts and how sure the match is, in words
    assert ident["summary"].startswith("starts at 0:04.0 in the track (")
    assert "standard deviations above chance; 5.2 needed)" in ident["summary"]
    assert main(["library", "identify", str(clip)]) == 0
    assert capsys.readouterr().out.startswith(f"{music / 's1.wav'}: starts at 0:04.0 in the track")

    other = tmp_path / "other.wav"
    sf.write(str(other), song(999, 8.0), SR)
    rc, ident = _json(capsys, ["library", "identify", str(other), "--json"])
    assert rc == 1 and not ident["identified"]
    assert ident["summary"].startswith("no match (")

    db = str(tmp_path / "data" / "library.sqlite3")
    rc, found = _json(capsys, ["library", "search", "--bpm", "80-100", "--db", db, "--json"])
    assert rc == 0 and found == []  # fingerprint-only: no tempo known

    capsys.readouterr()
    assert main(["library", "similar", str(music / "s0.wav"), "--db", db]) == 2  # no codes
    assert "hash codes" in capsys.readouterr().err

    rc, removed = _json(capsys, ["library", "remove", str(music / "s2.wav"), "--json"])
    assert rc == 0 and removed["removed"][0].endswith("s2.wav")
    rc, info = _json(capsys, ["library", "info", "--json"])
    assert info["tracks"] == 2 and info["fingerprint_bytes"] > 0


def test_full_analysis_codes_and_similar(tmp_path, capsys):
    """With the real pipeline (tagger + key/tempo): codes are stored and `similar` uses them."""
    music = tmp_path / "music"
    for i in range(3):
        write_song(music / f"s{i}.wav", 70 + i, 12.0)
    db = str(tmp_path / "lib.sqlite3")
    rc, out = _json(capsys, ["library", "add", str(music), "--workers", "0", "--db", db, "--json"])
    assert rc == 0 and out["indexed"] == 3
    rc, info = _json(capsys, ["library", "info", "--db", db, "--json"])
    assert info["codes"] == 3, "every analysed track must get a hash code from the shipped model"
    rc, hits = _json(capsys, ["library", "similar", str(music / "s0.wav"), "-k", "2", "--db", db, "--json"])
    assert rc == 0 and len(hits) == 2
    assert all(not h["path"].endswith("s0.wav") for h in hits)
    assert all(0 <= h["hamming"] <= 64 and h["cosine"] is not None for h in hits)
    assert [h["cosine"] for h in hits] == sorted((h["cosine"] for h in hits), reverse=True)
    rc, listed = _json(capsys, ["library", "list", "--db", db, "--json"])
    assert all(t["key"] and t["tempo_bpm"] for t in listed)
    # what a musician reads: how alike in percent, and what the percentage means
    capsys.readouterr()
    assert main(["library", "similar", str(music / "s0.wav"), "-k", "2", "--db", db]) == 0
    text = capsys.readouterr().out.splitlines()
    listed_alike = [line for line in text if "% alike  " in line]
    shown = [round(h["similarity_percent"]) for h in hits if round(h["similarity_percent"]) > 0]
    assert [int(line.split("%")[0]) for line in listed_alike] == shown  # same order, same value
    assert len(listed_alike) == 2 or "no more alike than two unrelated tracks" in text[-2]
    assert "bits  cos" not in "\n".join(text) and text[-1].startswith("(100% = the same sound")


def test_list_keeps_its_columns_and_search_names_the_percentile(tmp_path, capsys):
    """Tracks without a tempo or key keep the columns aligned ("-"), and a mood search says
    which mood's percentile it shows instead of a bare "p95"."""
    from musicapp.cli.library import _fmt_track

    with_all = {"id": 1, "status": "ok", "duration_s": 180.0, "tempo_bpm": 120.0,
                "key": "G# minor", "path": "/m/a.ogg", "moods": ["calm"], "mood_percentile": 95.4}
    bare = {"id": 12, "status": "ok", "duration_s": 8.0, "tempo_bpm": None, "key": None,
            "path": "/m/b.ogg"}
    a, b = _fmt_track(with_all, "calm"), _fmt_track(bare)
    assert a.index("/m/a.ogg") - a.index("calm 95th percentile") > 0
    # the path of the row without tempo/key starts where the other row's mood column starts
    assert b.index("/m/b.ogg") == a.index("calm 95th percentile")
    assert "120.0 bpm" in a and " - " in b and " p95" not in a
    assert [_fmt_track({**bare, "mood_percentile": p}, "sad").split("sad ")[1].split()[0]
            for p in (1, 2, 3, 11, 12, 13, 21, 22, 100)] == [
        "1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "22nd", "100th"]


def test_add_names_each_bad_file_once(tmp_path, capsys):
    bad = tmp_path / "music" / "broken.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF not really a wave file" * 10)
    db = str(tmp_path / "lib.sqlite3")
    assert main(["library", "add", str(bad.parent), "--fingerprint-only", "--workers", "0",
                 "--db", db]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.strip().startswith("error:"))
    assert line.count("broken.wav") == 1, line  # was "error: PATH: PATH: not a recognised ..."
