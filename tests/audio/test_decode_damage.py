"""Truncated and damaged files decode what is readable and say so; samples that are not audio
(NaN, inf, 1e30) become silence, counted in ``Audio.damaged_share``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio import load_audio, probe
from musicapp.errors import AudioDecodeError
from tests.library.music import song

SR = 44100


def _music(seconds: float) -> np.ndarray:
    """Stereo music-like audio, (frames, 2) float32."""
    left = song(11, seconds, sr=SR)
    return (np.stack([left, np.roll(left, 300)], axis=1) * 0.8).astype(np.float32)


def _write(path: Path, y: np.ndarray, **kw) -> Path:
    # libsndfile's Vorbis encoder crashes on large single writes: write in blocks
    with sf.SoundFile(str(path), "w", SR, y.shape[1], **kw) as f:
        for start in range(0, y.shape[0], 8192):
            f.write(y[start:start + 8192])
    return path


def _cut(path: Path, keep: float) -> Path:
    raw = path.read_bytes()
    out = path.with_name(f"cut_{path.name}")
    out.write_bytes(raw[: int(len(raw) * keep)])
    return out


def test_the_first_half_of_an_ogg_vorbis_file_decodes_with_a_truncation_warning(tmp_path):
    full = _write(tmp_path / "song.ogg", _music(30.0), format="OGG", subtype="VORBIS")
    assert load_audio(full).warnings == []  # a whole file: nothing to say
    half = _cut(full, 0.5)
    info = probe(half)
    assert info.warnings and "truncated" in info.warnings[0]  # `musicapp info` shows it too
    audio = load_audio(half)
    assert 10.0 < audio.duration_s < 20.0
    note = audio.warnings[0]
    assert "truncated" in note and f"{audio.duration_s:.2f} s could be decoded" in note


def test_an_ogg_cut_before_its_first_audio_page_names_the_truncation(tmp_path):
    full = _write(tmp_path / "short.ogg", _music(3.0), format="OGG", subtype="VORBIS")
    head = full.read_bytes()
    cut = tmp_path / "head.ogg"
    cut.write_bytes(head[:6000])  # the header pages (~4.3 kB) and part of the first audio page
    with pytest.raises(AudioDecodeError, match=r"truncated.*before its first complete page"):
        load_audio(cut)


@pytest.mark.parametrize(("fmt", "subtype", "ext"), [
    ("MP3", "MPEG_LAYER_III", "mp3"), ("FLAC", "PCM_16", "flac"), ("WAV", "PCM_16", "wav")])
def test_truncated_mp3_flac_and_wav_decode_the_first_half_and_say_so(tmp_path, fmt, subtype, ext):
    full = _write(tmp_path / f"song.{ext}", _music(20.0), format=fmt, subtype=subtype)
    audio = load_audio(_cut(full, 0.5))
    assert 7.0 < audio.duration_s < 13.0
    assert any("truncated" in w for w in audio.warnings), audio.warnings


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e30])
def test_samples_that_are_not_audio_become_silence_and_their_share_is_given(tmp_path, bad):
    y = _music(10.0)
    hit = np.random.default_rng(0).random(y.shape[0]) < 0.22
    y[hit] = bad
    p = tmp_path / "damaged.wav"
    sf.write(str(p), y, SR, subtype="FLOAT")
    audio = load_audio(p, sr=22050)
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() <= 2.0
    assert audio.damaged_share == pytest.approx(0.22, abs=0.01)
    assert any("22% of the audio" in w for w in audio.warnings), audio.warnings


def test_a_clean_file_has_no_damage(tmp_path):
    p = _write(tmp_path / "clean.flac", _music(5.0), format="FLAC", subtype="PCM_24")
    audio = load_audio(p)
    assert audio.damaged_share == 0.0 and audio.warnings == []


def _damaged_mp3(tmp_path: Path) -> Path:
    full = _write(tmp_path / "song.mp3", _music(30.0), format="MP3", subtype="MPEG_LAYER_III")
    raw = bytearray(full.read_bytes())
    rng = np.random.default_rng(1)
    for k in range(20):  # short bursts of garbage: the decoder resyncs after each
        at = len(raw) // 4 + k * (len(raw) // 50)
        raw[at:at + 400] = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    p = tmp_path / "damaged.mp3"
    p.write_bytes(bytes(raw))
    return p


def test_a_damaged_mp3_prints_no_decoder_lines_and_warns_once(tmp_path):
    p = _damaged_mp3(tmp_path)
    code = ("import sys; from musicapp.audio import load_audio; "
            "a = load_audio(sys.argv[1]); print(len(a.warnings)); print('\\n'.join(a.warnings))")
    run = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "mpg123" not in run.stderr and "Note:" not in run.stderr, run.stderr
    assert "resync" not in run.stderr.lower() and "Warning:" not in run.stderr, run.stderr
    assert "damaged" in run.stdout, run.stdout


def test_a_clean_mp3_that_uses_the_bit_reservoir_is_not_reported_damaged(tmp_path, monkeypatch):
    """libmpg123 (inside libsndfile) prints 'part2_3_length too large' when a read ends inside
    an MPEG frame of such a clean file: a musician saw 'damaged MP3 stream' on a clean MP3."""
    from musicapp.audio import decode, native_stderr

    sr = 22050
    y = song(7, 40.0, sr=sr)
    p = tmp_path / "reservoir.mp3"
    sf.write(str(p), np.stack([y, np.roll(y, 500)], axis=1) * 0.8, sr, format="MP3",
             subtype="MPEG_LAYER_III", compression_level=0.9, bitrate_mode="CONSTANT")
    with native_stderr.capture() as notes, sf.SoundFile(str(p)) as f:
        while len(f.read(1000, dtype="float32")):  # reads that end inside frames
            pass
    assert any("part2_3_length" in line for line in notes.lines)  # the file shows the effect
    whole = sf.read(str(p), dtype="float32", always_2d=True)[0]  # one read: no complaint
    monkeypatch.setattr(decode, "READ_BLOCK_FRAMES", 1000)  # many reads, many chances
    audio = load_audio(p, sr=None, mono=False)
    assert audio.warnings == [] and audio.damaged_share == 0.0
    np.testing.assert_allclose(audio.samples.T, whole, atol=1e-6)
    part = load_audio(p, offset=1.2345, duration=20.0)  # a range starting inside a frame
    assert part.warnings == [] and abs(part.duration_s - 20.0) < 1e-3


def _flac_declaring(tmp_path: Path, total: int) -> Path:
    """An 8 s mono FLAC whose STREAMINFO declares ``total`` samples (36 bits)."""
    p = tmp_path / "clean.flac"
    sf.write(str(p), _music(8.0)[:, 0], SR)
    raw = bytearray(p.read_bytes())
    assert raw[:4] == b"fLaC" and raw[4] & 0x7F == 0  # STREAMINFO first: its fields at byte 8
    field = int.from_bytes(raw[18:26], "big")
    raw[18:26] = ((field & ~((1 << 36) - 1)) | total).to_bytes(8, "big")
    out = tmp_path / f"claims_{total}.flac"
    out.write_bytes(bytes(raw))
    return out


def test_a_flac_declaring_2_to_the_36_samples_has_its_length_called_invalid(tmp_path):
    p = _flac_declaring(tmp_path, (1 << 36) - 1)
    (note,) = probe(p).warnings
    assert "invalid length in the header" in note and "68,719,476,735 samples" in note
    assert "433.0 hours" in note or "432.9 hours" in note
    assert abs(load_audio(p).duration_s - 8.0) < 0.01


def test_a_small_flac_length_gap_is_given_in_samples_not_as_two_equal_durations(tmp_path):
    p = _flac_declaring(tmp_path, 8 * SR + 15)
    (note,) = probe(p).warnings
    assert "truncated" in note and f"{8 * SR + 15:,} samples" in note
    head, tail = note.split(", the file holds ")
    assert head.split("declares ")[1] != tail.split(" ")[0]  # never "8.000 s ... 8.000 s"


def test_a_damaged_flac_that_ffmpeg_recovers_only_in_part_is_flagged_truncated(tmp_path):
    clean = tmp_path / "clean.flac"
    sf.write(str(clean), _music(8.0)[:, 0], SR)
    raw = bytearray(clean.read_bytes())
    a, b = int(len(raw) * 0.4), int(len(raw) * 0.65)  # a quarter of the file becomes noise
    raw[a:b] = np.random.default_rng(1).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    p = tmp_path / "damaged.flac"
    p.write_bytes(bytes(raw))
    audio = load_audio(p)
    assert audio.duration_s < 7.5
    note = next(w for w in audio.warnings if "FFmpeg recovered" in w)
    assert note.startswith("damaged (truncated)") and "s are missing" in note
    from musicapp.library.schema import analysis_truncated

    assert analysis_truncated({"warnings": audio.warnings})  # the library's truncated flag
