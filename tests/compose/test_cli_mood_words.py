"""`chords --mood` and `library search --mood` say the same thing when a word outside the mood
list is used as its mood (a synonym), and refuse a word outside the vocabulary alike (real CLI,
real SQLite library)."""

from __future__ import annotations

import json

from musicapp.cli import main
from musicapp.library.api import Library

SAID = "'furious' is not in the mood list; using angry (listed as a synonym of it)"


def test_chords_says_which_mood_a_synonym_became(capsys):
    assert main(["chords", "--mood", "furious", "--seed", "1", "--length", "4"]) == 0
    out, err = capsys.readouterr()
    assert "from mood:angry" in out and f"note: {SAID}" in err
    assert main(["chords", "--mood", "furious", "--seed", "1", "--length", "4", "--json"]) == 0
    assert SAID in json.loads(capsys.readouterr().out)["notes"]
    assert main(["chords", "--mood", "angry", "--seed", "1", "--length", "4"]) == 0
    assert "not in the mood list" not in capsys.readouterr().err


def test_library_search_says_the_same_and_refuses_alike(tmp_path, capsys):
    db = str(tmp_path / "lib.sqlite3")
    with Library(db):
        pass
    assert main(["library", "search", "--mood", "furious", "--db", db]) == 0
    assert f"musicapp: note: {SAID}" in capsys.readouterr().err
    for cmd in (["chords", "--mood", "furiuos"],
                ["library", "search", "--mood", "furiuos", "--db", db]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert "'furiuos': unknown mood; nearest: furious" in err and "Traceback" not in err, cmd
