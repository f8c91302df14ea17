"""Lab chord commands: an unwritable --json target is refused before the evaluation runs; an
existing output is replaced only with --force."""

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
    command = ["evaluate", "chord-emotion", "--from-records", str(path), "--json", str(out)]
    assert main(command) == 2  # refused, the old table kept
    assert f"{out} exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "old and longer than nothing " * 100
    assert main([*command, "--force"]) == 0
    figures = json.loads(out.read_text())
    assert figures and sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "table.json"]


SALAMI = """# title: Test Song
# artist: Nobody
# metre: 4/4
# tonic: E

0.0\tsilence
0.5\tA, intro, | E:min | E:min | C:maj | D:maj |
8.5\tB, verse, | E:min . G:maj . | C:maj | D:7(#9) | D:7(#9) |
24.5\tend
"""


def test_build_chord_corpus_refuses_an_existing_corpus_and_replaces_it_with_force(tmp_path,
                                                                                 capsys):
    import gzip

    src = tmp_path / "data" / "billboard-2.0-salami_chords" / "0001"
    src.mkdir(parents=True)
    (src / "salami_chords.txt").write_text(SALAMI)
    out = tmp_path / "corpus.json.gz"
    out.write_bytes(b"a corpus built yesterday")
    command = ["build-chord-corpus", "--data", str(tmp_path / "data"), "-o", str(out)]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"musicapp: error: {out} exists; pass --force to replace it" in err
    assert out.read_bytes() == b"a corpus built yesterday"
    assert main([*command, "--force"]) == 0
    doc = json.loads(gzip.decompress(out.read_bytes()))
    assert any(r["source"] == "billboard" for r in doc["records"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.json.gz", "data"]


@pytest.mark.parametrize("command", [["train", "chords", "--epochs", "1"],
                                     ["train", "melody"]])
def test_training_refuses_existing_weights_before_it_starts(command, tmp_path, capsys):
    out = tmp_path / "weights.safetensors"
    out.write_bytes(b"hours of training")
    assert main([*command, "-o", str(out)]) == 2
    assert "exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_bytes() == b"hours of training"


def test_evaluate_chords_json_refused_then_replaced_with_force(tmp_path, capsys):
    progs = tmp_path / "p.jsonl"
    progs.write_text('{"key": "C", "chords": ["I", "IV", "V", "I"]}\n'
                     '{"key": "A", "mode": "minor", "chords": ["i", "iv", "V", "i"]}\n')
    out = tmp_path / "figures.json"
    out.write_text("last week's evaluation log")
    command = ["evaluate", "chords", "--external", str(progs), "--json", str(out)]
    assert main(command) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "last week's evaluation log"
    assert main([*command, "--force"]) == 0
    assert isinstance(json.loads(out.read_text()), dict)


def test_judged_records_file_is_refused_before_any_loop_is_made(tmp_path, capsys):
    rec = tmp_path / "records.json"
    rec.write_text("earlier records")
    assert main(["evaluate", "chord-emotion", "--loops", "2", "--rows", "random",
                 "--records", str(rec)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert rec.read_text() == "earlier records"
