"""Render short MIDI files and check the pitch of the audio that comes out."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from musicapp.errors import MusicappError
from musicapp.synth import find_soundfont, render_midi


def _one_note_midi(note: int, program: int = 0, seconds: float = 1.0) -> mido.MidiFile:
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))  # 120 bpm: 1 beat = 0.5 s
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
    track.append(mido.Message("note_on", note=note, velocity=100, channel=0, time=0))
    track.append(mido.Message("note_off", note=note, velocity=0, channel=0,
                              time=int(960 * seconds)))
    return mid


def _dominant_hz(y: np.ndarray, sr: int) -> float:
    seg = y[int(0.1 * sr): int(0.9 * sr)]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=1 << 17))
    freqs = np.fft.rfftfreq(1 << 17, 1.0 / sr)
    band = (freqs > 50) & (freqs < 2000)
    return float(freqs[band][np.argmax(spec[band])])


def _cents(a: float, b: float) -> float:
    return 1200.0 * abs(np.log2(a / b))


def test_find_soundfont_env_override(tmp_path, monkeypatch):
    fake = tmp_path / "x.sf2"
    fake.write_bytes(b"RIFF")
    monkeypatch.setenv("MUSICAPP_SOUNDFONT", str(fake))
    assert find_soundfont() == fake
    monkeypatch.setenv("MUSICAPP_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(MusicappError, match=r"missing\.sf2"):
        find_soundfont()


@pytest.mark.skipif(find_soundfont() is None, reason="no GM soundfont installed")
@pytest.mark.parametrize("note", [57, 69])
def test_soundfont_render_pitch(note):
    sr = 44100
    y = render_midi(_one_note_midi(note, program=73), sample_rate=sr)  # flute: strong fundamental
    assert y.dtype == np.float32 and y.ndim == 2 and y.shape[0] == 2
    assert y.shape[1] >= int(1.9 * sr)  # 1 s note + 1 s tail
    assert np.max(np.abs(y)) > 0.01
    expected = 440.0 * 2 ** ((note - 69) / 12)
    assert _cents(_dominant_hz(y.mean(axis=0), sr), expected) < 20


def test_fallback_render_pitch_and_silence_after():
    sr = 22050
    y = render_midi(_one_note_midi(64), sample_rate=sr, use_soundfont=False, mono=True)
    assert y.ndim == 1 and y.dtype == np.float32
    expected = 440.0 * 2 ** ((64 - 69) / 12)
    assert _cents(_dominant_hz(y, sr), expected) < 10
    assert np.max(np.abs(y[int(1.6 * sr):])) < 1e-3  # released and decayed


def test_render_from_path(tmp_path):
    path = tmp_path / "a.mid"
    _one_note_midi(60).save(path)
    y = render_midi(path, sample_rate=16000, use_soundfont=False)
    assert y.shape[0] == 2 and np.max(np.abs(y)) > 0.01


def test_render_bad_file(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    with pytest.raises(MusicappError, match=r"bad\.mid"):
        render_midi(bad)
