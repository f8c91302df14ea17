"""``musicapp info``: the header's duration is said to be a claim when the data ends early."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from musicapp.cli import main
from musicapp.cli.info import duration_text


def test_duration_text_of_a_whole_and_a_cut_file():
    assert duration_text(40.765) == "0:40.765 (40.765 s)"
    assert duration_text(40.765, 20.2) == "0:40.8 (header says; about 0:20 decodes)"
    assert duration_text(3599.96, 61.0) == "60:00.0 (header says; about 1:01 decodes)"


def test_info_of_a_truncated_mp3_prints_the_header_length_as_a_claim(tmp_path, capsys):
    """A truncated MP3 got the warning but still "duration: 0:20.000", the header's claim."""
    t = np.arange(20 * 44100) / 44100
    full = tmp_path / "song.mp3"
    sf.write(full, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100,
             format="MP3", subtype="MPEG_LAYER_III")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert main(["info", str(full)]) == 0
    assert "duration: 0:20.000 (20.000 s)" in capsys.readouterr().out  # whole: as before
    assert main(["info", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "duration: 0:20.0 (header says; about 0:10 decodes)" in out
    assert "0:20.000" not in out
    assert main(["info", "--json", str(cut)]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["duration_s"] > 19.9 and 9.0 < said["decodable_duration_s"] < 11.0
    assert main(["info", "--json", str(full)]) == 0
    assert "decodable_duration_s" not in json.loads(capsys.readouterr().out)
