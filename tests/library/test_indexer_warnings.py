"""``library add`` tells which files were truncated or damaged (the file is still indexed)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from musicapp.library.api import Library
from tests.library.music import song

SR = 22050


def test_a_truncated_ogg_and_a_nan_wav_are_indexed_with_their_warnings(tmp_path):
    music = tmp_path / "m"
    music.mkdir()
    y = song(31, 8.0, sr=SR).astype(np.float32)
    full = music / "full.ogg"
    with sf.SoundFile(str(full), "w", SR, 1, format="OGG", subtype="VORBIS") as f:
        for start in range(0, y.size, 8192):
            f.write(y[start:start + 8192])
    raw = full.read_bytes()
    (music / "half.ogg").write_bytes(raw[: len(raw) // 2])
    full.unlink()
    holes = y.copy()
    holes[np.random.default_rng(0).random(y.size) < 0.22] = np.nan
    sf.write(str(music / "holes.wav"), holes, SR, subtype="FLOAT")
    with Library(tmp_path / "lib.sqlite3") as lib:
        report = lib.add(music, workers=0)
        assert report.done == 2 and report.failed == 0, report.errors
        said = {path.rsplit("/", 1)[-1]: " | ".join(w) for path, w in report.warnings.items()}
        assert "truncated" in said["half.ogg"] and "could be decoded" in said["half.ogg"]
        assert "22% of the audio" in said["holes.wav"] and "damaged: " in said["holes.wav"]
        assert report.as_dict()["warnings"] == report.warnings
        stored = {t["path"].rsplit("/", 1)[-1]: t for t in lib.list()}
        assert stored["holes.wav"].get("key") is None
