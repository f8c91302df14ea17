"""Lab chord commands: an unwritable --json target is refused before the evaluation runs; an
existing output is replaced only with --force; a device is named as one; one file is never two
outputs; the chord corpus is built from every source unless fewer are asked for."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
    command = ["build-chord-corpus", "--data", str(tmp_path / "data"), "-o", str(out),
               "--sources", "billboard,music21"]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"musicapp: error: {out} exists; pass --force to replace it" in err
    assert out.read_bytes() == b"a corpus built yesterday"
    assert main([*command, "--force"]) == 0
    doc = json.loads(gzip.decompress(out.read_bytes()))
    assert any(r["source"] == "billboard" for r in doc["records"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.json.gz", "data"]


def _billboard_only(tmp_path):
    src = tmp_path / "data" / "billboard-2.0-salami_chords" / "0001"
    src.mkdir(parents=True)
    (src / "salami_chords.txt").write_text(SALAMI)
    return tmp_path / "data"


@pytest.mark.parametrize("sources", [[], ["--sources", "music21"]])
def test_build_chord_corpus_names_a_missing_data_folder_before_any_work(tmp_path, capsys,
                                                                        sources):
    """It used to build a music21-only corpus and exit 0 without a word."""
    out = tmp_path / "out.json.gz"
    missing = tmp_path / "nonexistent"
    assert main(["build-chord-corpus", "--data", str(missing), "-o", str(out), *sources]) == 2
    err = capsys.readouterr().err
    assert f"musicapp: error: {missing}: data folder does not exist" in err
    assert not out.exists() and "Traceback" not in err


def test_build_chord_corpus_refuses_a_folder_without_the_sources(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out.json.gz"
    assert main(["build-chord-corpus", "--data", str(empty), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{empty}: holds none of the chord-corpus sources" in err
    assert "billboard-2.0-salami_chords" in err and "--sources music21" in err
    assert not out.exists()


def test_build_chord_corpus_from_fewer_sources_must_be_asked_for_and_is_reported(tmp_path,
                                                                                 capsys):
    data = _billboard_only(tmp_path)
    out = tmp_path / "corpus.json.gz"
    out.write_bytes(b"the corpus of four sources")
    command = ["build-chord-corpus", "--data", str(data), "-o", str(out), "--force"]
    assert main(command) == 2  # --force replaces a file, it does not drop sources
    err = capsys.readouterr().err
    assert f"{data}: no pop909, ewld files in it" in err
    assert "pass --sources billboard,music21" in err
    assert out.read_bytes() == b"the corpus of four sources"
    assert main([*command, "--sources", "billboard,music21"]) == 0
    captured = capsys.readouterr()
    log_line, report_text = captured.out.split("\n", 1)  # the build's log line, the report
    assert "sources billboard, music21 (left out: pop909, ewld)" in log_line
    report = json.loads(report_text)
    assert report["sources"] == ["billboard", "music21"]
    assert report["left_out"] == ["pop909", "ewld"]
    assert set(report["by_source"]) == {"billboard", "music21"}
    assert "built from 2 of 4 sources (billboard, music21); left out: pop909, ewld" \
        in captured.err


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_build_chord_corpus_names_a_device_output_as_a_device(tmp_path, capsys, force):
    """Without --force /dev/full was refused as "exists; pass --force to replace it"."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    data = _billboard_only(tmp_path)
    assert main(["build-chord-corpus", "--data", str(data), "--sources", "billboard",
                 "-o", "/dev/full", *force]) == 2
    err = capsys.readouterr().err
    assert "musicapp: error: /dev/full: is a character device, not a regular file" in err
    assert "pass --force" not in err


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_train_chords_refuses_one_file_for_weights_and_log(tmp_path, capsys, link):
    """The log used to be appended to the weights file, which the weights then replaced."""
    out = tmp_path / "weights.safetensors"
    out.write_bytes(b"hours of training")
    log = {"same": out, "symlink": tmp_path / "log.txt", "hardlink": tmp_path / "log.txt"}[link]
    if link == "symlink":
        log.symlink_to(out)
    elif link == "hardlink":
        os.link(out, log)
    assert main(["train", "chords", "--epochs", "1", "-o", str(out), "--log", str(log),
                 "--force"]) == 2
    err = capsys.readouterr().err
    assert "the same file is named for -o/--output and --log" in err
    assert out.read_bytes() == b"hours of training"


def test_chord_emotion_refuses_one_file_for_json_and_records(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert main(["evaluate", "chord-emotion", "--loops", "2", "--rows", "random",
                 "--json", str(out), "--records", str(tmp_path / "." / "figures.json")]) == 2
    assert "the same file is named for --json and --records" in capsys.readouterr().err
    assert not out.exists()


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
