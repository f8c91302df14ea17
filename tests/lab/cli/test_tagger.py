"""``convert-musicnn`` / ``calibrate-musicnn --out``: existing weights or tables are refused
before anything is read or written."""

from __future__ import annotations

import pytest

from musicapp.cli import main


@pytest.mark.parametrize("command", [["convert-musicnn", "--models", "MSD_musicnn"],
                                     ["calibrate-musicnn"]])
def test_existing_model_files_are_refused(command, tmp_path, capsys):
    from musicapp.models.calibration import CALIBRATION_FILE
    from musicapp.models.musicnn import WEIGHT_FILES

    convert = command[0] == "convert-musicnn"
    target = tmp_path / (WEIGHT_FILES["MSD_musicnn"] if convert else CALIBRATION_FILE)
    target.write_bytes(b"converted weights")
    assert main([*command, "--src", str(tmp_path / "no-such-source"), "--out",
                 str(tmp_path)]) == 2
    assert f"{target} exists; pass --force to replace it" in capsys.readouterr().err
    assert target.read_bytes() == b"converted weights"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
