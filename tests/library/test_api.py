"""Library API: mood search through the one mood vocabulary, ranked by percentile."""

from __future__ import annotations

import pytest

from musicapp.cli import main
from musicapp.errors import MusicappError
from musicapp.library.api import Library

MOODS = {
    "/m/chill.wav": [{"tag": "chill", "score": 0.2, "percentile": 95.0}],
    "/m/mellow.wav": [{"tag": "mellow", "score": 0.1, "percentile": 80.0}],
    "/m/happy.wav": [{"tag": "happy", "score": 0.4, "percentile": 99.0}],
    "/m/quiet-low.wav": [{"tag": "quiet", "score": 0.01, "percentile": 20.0}],
}


def _library(db) -> None:
    with Library(db) as lib:
        for i, (path, moods) in enumerate(MOODS.items()):
            lib.store.con.execute(
                "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
                "VALUES (?, 1, 1, ?, 'pending', 0, 0)",
                (path, f"h{i}"),
            )
            lib.store.save_result(i + 1, fingerprint=None, analysis={"moods": moods})


def test_mood_words_and_synonyms_rank_by_percentile(tmp_path):
    _library(tmp_path / "lib.sqlite3")
    with Library(tmp_path / "lib.sqlite3") as lib:
        found = lib.search(mood="calm")  # calm -> chill, mellow, quiet, soft
        assert [t["path"] for t in found] == ["/m/chill.wav", "/m/mellow.wav"]
        assert [t["mood_percentile"] for t in found] == [95.0, 80.0]
        assert [t["path"] for t in lib.search(mood="Peaceful")] == ["/m/chill.wav", "/m/mellow.wav"]
        assert [t["path"] for t in lib.search(mood="happy")] == ["/m/happy.wav"]
        with pytest.raises(MusicappError, match="nearest: calm"):
            lib.search(mood="cilm")


def test_unknown_mood_on_the_command_line(tmp_path, capsys):
    _library(tmp_path / "lib.sqlite3")
    rc = main(["library", "search", "--mood", "cilm", "--db", str(tmp_path / "lib.sqlite3")])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown mood" in err and "calm" in err and "Traceback" not in err


def test_key_filter_reads_notes_and_modes_through_pitch():
    from musicapp.library.api import parse_key
    from musicapp.library.store import LibraryError

    assert parse_key("D minor") == ("D", "minor") and parse_key("F#m") == ("F#", "minor")
    assert parse_key("D") == ("D", None) and parse_key("minor") == (None, "minor")
    assert parse_key("Eb major") == ("Eb", "major")
    for bad in ("H#", "C lydian-ish"):
        with pytest.raises(LibraryError, match="bad key"):
            parse_key(bad)


def test_list_shows_the_moods_analyze_shows_ranked_by_percentile(tmp_path, capsys):
    # as `analyze --json` stores them (Beach.ogg of hedgewars): the top percentiles have small
    # raw scores, while "slow"/"ambient" have large raw scores at middling percentiles. Ranking
    # by raw score made `library list` print "slow/loud/ambient" for nearly every track.
    moods = [
        {"tag": "mellow", "score": 0.0139, "percentile": 94.0},
        {"tag": "sad", "score": 0.0049, "percentile": 92.0},
        {"tag": "beautiful", "score": 0.0188, "percentile": 85.0},
        {"tag": "slow", "score": 0.2484, "percentile": 40.0},
        {"tag": "ambient", "score": 0.0584, "percentile": 30.0},
    ]
    db = tmp_path / "lib.sqlite3"
    with Library(db) as lib:
        lib.store.con.execute(
            "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
            "VALUES ('/m/beach.ogg', 1, 1, 'h', 'pending', 0, 0)")
        lib.store.save_result(1, fingerprint=None, analysis={"moods": moods})
    with Library(db) as lib:
        assert lib.list()[0]["moods"] == ["mellow", "sad", "beautiful"]
    assert main(["library", "list", "--db", str(db)]) == 0
    assert "mellow/sad/beautiful" in capsys.readouterr().out


@pytest.mark.parametrize(("seconds", "amplitude", "needle"), [
    (10.0, 1e-5, "silence: nothing to compare with the library; loudest 3 s at"),
    (0.2, 0.5, "too short: nothing to compare with the library"),
])
def test_similar_to_a_silent_or_tiny_file_says_why(tmp_path, capsys, seconds, amplitude, needle):
    # before: "the analysis produced no hash code (is the tagger model installed?)", which sent
    # the user looking for a missing model when the file was only silent or too short
    import numpy as np
    import soundfile as sf

    db = tmp_path / "lib.sqlite3"
    with Library(db) as lib:
        lib.store.con.execute(
            "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
            "VALUES ('/m/a.wav', 1, 1, 'h', 'pending', 0, 0)")
        lib.store.save_result(1, fingerprint=None, analysis={"hash": "0f" * 8, "embedding": [1.0, 0.0]})
    quiet = tmp_path / "quiet.wav"
    noise = np.random.default_rng(0).standard_normal(int(16000 * seconds)) * amplitude
    sf.write(quiet, noise.astype(np.float32), 16000)
    assert main(["library", "similar", str(quiet), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "tagger model" not in err and "Traceback" not in err


def test_clock_reads_minutes_and_seconds_to_a_tenth():
    from musicapp.library.api import clock

    assert [clock(s) for s in (0.0, 4.04, 59.96, 62.34, 600.0, -1.0)] == [
        "0:00.0", "0:04.0", "1:00.0", "1:02.3", "10:00.0", "0:00.0"]


def test_identification_summary_says_what_the_score_means():
    from musicapp.library.api import Identification
    from musicapp.library.matcher import Match

    match = Match(track_id=1, score=6.43, agreement=0.5, votes=12, offset_s=62.34, stretch=1.0,
                  second_score=1.0)
    sure = Identification(match, 5.2, "/music/a.flac")
    assert sure.summary() == ("starts at 1:02.3 in the track "
                              "(6.4 standard deviations above chance; 5.2 needed)")
    faster = Identification(Match(1, 6.43, 0.5, 12, 62.34, 0.97, 1.0), 5.2, "/music/a.flac")
    assert faster.summary().startswith("starts at 1:02.3 in the track, played about x0.97 (")
    weak = Identification(Match(2, 3.1, 0.1, 3, 1.0, 1.0, 2.9), 5.2, None)
    assert weak.summary() == ("no match (the closest track reached 3.1 standard deviations above "
                              "chance; 5.2 needed)")
    assert Identification(None, 5.2, None).summary().startswith("no match (no library track")
    assert sure.as_dict()["summary"] == sure.summary()
