"""The calibration study's command line: its two outputs may not be one file."""

from __future__ import annotations

import pytest
from musicapp_lab.analysis.key_model import calibration


def test_one_file_for_figure_and_json_is_refused_before_any_work(tmp_path, capsys):
    figure = tmp_path / "reliability.png"
    (tmp_path / "alias.png").symlink_to(figure)  # a link to the (not yet written) figure
    with pytest.raises(SystemExit) as info:  # no training file: it stops before reading one
        calibration.main(["--train", str(tmp_path / "none.json"), "--figure", str(figure),
                          "--out", str(tmp_path / "alias.png")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "musicapp: error:" in err and "the same file is named for --figure and --out" in err
