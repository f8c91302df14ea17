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


def _truncated_files(music) -> None:
    """A truncated Ogg Vorbis and a truncated FLAC (the second half cut off), and a WAV whose
    samples are 22% NaN."""
    y = song(31, 8.0, sr=SR).astype(np.float32)
    for name, fmt, subtype in (("ogg", "OGG", "VORBIS"), ("flac", "FLAC", "PCM_16")):
        full = music / f"full.{name}"
        with sf.SoundFile(str(full), "w", SR, 1, format=fmt, subtype=subtype) as f:
            for start in range(0, y.size, 8192):
                f.write(y[start:start + 8192])
        raw = full.read_bytes()
        (music / f"half.{name}").write_bytes(raw[: len(raw) // 2])
        full.unlink()
    holes = y.copy()
    holes[np.random.default_rng(0).random(y.size) < 0.22] = np.nan
    sf.write(str(music / "holes.wav"), holes, SR, subtype="FLOAT")
    sf.write(str(music / "clean.wav"), y, SR)


def test_fingerprint_only_add_keeps_the_truncation_and_damage_warnings(tmp_path, capsys):
    import json

    from musicapp.cli import main

    music = tmp_path / "m"
    music.mkdir()
    _truncated_files(music)
    db = str(tmp_path / "lib.sqlite3")
    capsys.readouterr()
    assert main(["library", "add", str(music), "--fingerprint-only", "--workers", "0", "--json",
                 "--db", db]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["indexed"] == 4 and out["failed"] == 0, out["errors"]
    said = {path.rsplit("/", 1)[-1]: " | ".join(w) for path, w in out["warnings"].items()}
    assert set(said) == {"half.ogg", "half.flac", "holes.wav"}  # the clean file: nothing to say
    assert "truncated" in said["half.ogg"] and "truncated" in said["half.flac"]
    assert "22% of the audio" in said["holes.wav"]
    with Library(db) as lib:
        stored = {t["path"].rsplit("/", 1)[-1]: t for t in lib.list()}
    assert stored["half.ogg"]["truncated"] and stored["half.flac"]["truncated"]
    assert not stored["clean.wav"]["truncated"] and not stored["holes.wav"]["truncated"]
    assert stored["holes.wav"]["analysis_status"] == "damaged"  # as a full add says
    assert stored["clean.wav"]["analysis_status"] == "ok"
    capsys.readouterr()
    assert main(["library", "list", "--status", "truncated", "--json", "--db", db]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(t["path"].rsplit("/", 1)[-1] for t in listed) == ["half.flac", "half.ogg"]


def test_fingerprint_only_warnings_come_back_from_worker_processes(tmp_path):
    from musicapp.library.indexer import no_analyser

    music = tmp_path / "m"
    music.mkdir()
    _truncated_files(music)
    with Library(tmp_path / "lib.sqlite3") as lib:
        report = lib.add(music, workers=2, analyser=no_analyser)
        assert report.done == 4 and report.failed == 0, report.errors
        assert {p.rsplit("/", 1)[-1] for p in report.warnings} == {"half.ogg", "half.flac",
                                                                   "holes.wav"}
        assert sum(bool(t["truncated"]) for t in lib.list()) == 2
