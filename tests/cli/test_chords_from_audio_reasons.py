"""``chords --from-audio`` on a track with no mood to follow names the file and the reason
(real WAV files, the real analysis). Before: "analysis result has neither valence/arousal nor
known moods" for all of them."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from musicapp.cli import main

SR = 22050


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("silent.wav", lambda: np.zeros(SR * 6, np.float32), "it is silent"),
    ("half.wav", lambda: _tone(0.5), "too short"),
    ("damaged.wav", lambda: np.where(np.random.default_rng(0).random(SR * 6) < 0.02, np.nan,
                                     _tone(6.0)).astype(np.float32), "it is damaged"),
])
def test_no_mood_names_file_and_reason(tmp_path, capsys, monkeypatch, name, make, reason):
    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / name
    sf.write(path, make(), SR, subtype="FLOAT")
    capsys.readouterr()
    assert main(["chords", "--from-audio", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: no mood to follow: {reason}" in err, err
    assert "neither valence" not in err
