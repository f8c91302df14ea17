"""The lab's one output writer: refuses an existing file without --force, replaces it with
--force, writes all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from musicapp_lab.cli._out import check_out, write_json, write_out

from musicapp.errors import FileExistsRefusal, MusicappError


def test_an_existing_output_is_refused_without_force_and_kept(tmp_path):
    out = tmp_path / "model.json"
    out.write_text("the trained model")
    with pytest.raises(FileExistsRefusal, match=r"model.json exists; pass --force to replace it"):
        write_json(out, {"new": 1}, force=False)
    with pytest.raises(FileExistsRefusal, match="pass --force"):
        check_out(out, force=False)
    assert out.read_text() == "the trained model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_force_replaces_the_file_whole(tmp_path):
    out = tmp_path / "report.json"
    out.write_text("old and longer than the new content " * 50)
    assert check_out(out, force=True) == out
    write_json(out, {"new": [1, 2]}, force=True, indent=1)
    assert json.loads(out.read_text()) == {"new": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left


def test_a_new_file_and_its_missing_folder_are_written(tmp_path):
    out = tmp_path / "sub" / "new.json"
    write_json(out, [1], force=False)
    assert json.loads(out.read_text()) == [1]


def test_a_writer_failing_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "weights.bin"
    out.write_bytes(b"old weights")

    def half(tmp: str) -> None:
        Path(tmp).write_bytes(b"half of the new wei")
        raise OSError(28, "No space left on device")

    with pytest.raises(MusicappError):
        write_out(out, half, force=True, kind="weights")
    assert out.read_bytes() == b"old weights"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]


def test_unwritable_targets_are_named(tmp_path):
    assert check_out(None, force=False) is None
    with pytest.raises(MusicappError, match="is a directory"):
        check_out(tmp_path, force=True)
    with pytest.raises(MusicappError, match="does not exist"):
        check_out(tmp_path / "missing" / "x.json", force=False)
