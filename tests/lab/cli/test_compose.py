"""Lab chord commands: an unwritable --json target is refused before the evaluation runs."""

from __future__ import annotations

import json

import pytest

from musicapp.cli import main


@pytest.mark.parametrize("command", [["evaluate", "chord-emotion", "--loops", "2", "--rows",
                                      "random"],
                                     ["evaluate", "chords", "--loops", "2"]])
def test_a_folder_as_json_target_is_refused_before_running(command, tmp_path, capsys):
    """It used to run the whole evaluation and end in an IsADirectoryError traceback."""
    assert main([*command, "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and "Traceback" not in err
    assert main([*command, "--json", str(tmp_path / "missing" / "x.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_records_table_json_replaces_an_old_file_whole(tmp_path, capsys):
    import numpy as np

    recs = {"meta": {}, "loops": [
        {"row": "random in-key", "index": i, "requested": [v, a], "mode": "major",
         "measured": {"fusion": [v, a], "fusion-no-chords": [v, a]}}
        for i, (v, a) in enumerate(np.random.default_rng(0).uniform(-1, 1, (20, 2)).tolist())]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recs))
    out = tmp_path / "table.json"
    out.write_text("old and longer than nothing " * 100)
    assert main(["evaluate", "chord-emotion", "--from-records", str(path), "--json",
                 str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures and sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "table.json"]
