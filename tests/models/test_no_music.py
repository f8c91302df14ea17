"""musicapp.models.no_music: white noise and a lone test tone get no moods (they read "party 98 %"
and "beautiful 99 %"), while drums alone and a sustained chord keep theirs; the serial path (one
file) and the batch path (a folder) agree."""

from __future__ import annotations

import json

import numpy as np

from musicapp.cli import main
from musicapp.models.no_music import NO_MUSIC_STATUS
from tests.helpers.signals import chord, noise, sine, write_audio

SR = 22050


def _drums(seconds: float, bpm: float = 120.0) -> np.ndarray:
    """Noise bursts on every beat, louder on 1 and 3: a steady beat, no pitch centre."""
    y = np.zeros(int(seconds * SR), np.float32)
    burst = noise(0.06, SR, amp=1.0, seed=3) * np.exp(-np.arange(int(0.06 * SR)) / (0.01 * SR))
    for i, start in enumerate(np.arange(0.0, seconds - 0.1, 60.0 / bpm)):
        a = int(start * SR)
        y[a:a + burst.size] += (0.8 if i % 2 == 0 else 0.4) * burst
    return y


def _row(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_noise_and_a_lone_tone_get_no_moods_on_the_serial_path(tmp_path, capsys):
    for name, y in (("noise.wav", noise(8.0, SR, amp=0.3)), ("tone.wav", sine(440.0, 8.0, SR))):
        path = write_audio(tmp_path / name, y, SR)
        assert main(["analyze", "--json", str(path)]) == 0
        r = _row(capsys)
        assert r["status"] == "ok" and r["moods_status"] == NO_MUSIC_STATUS, name
        assert "moods" not in r and "valence" not in r and "genres" not in r and "hash" not in r
        assert r["key"] is None and r["tempo_bpm"] is None
        assert main(["analyze", str(path)]) == 0
        assert f"{NO_MUSIC_STATUS}: no moods" in capsys.readouterr().out


def test_drums_and_a_chord_keep_their_moods_and_the_batch_path_agrees(tmp_path, capsys):
    write_audio(tmp_path / "noise.wav", noise(8.0, SR, amp=0.3), SR)
    write_audio(tmp_path / "drums.wav", _drums(12.0), SR)
    write_audio(tmp_path / "chord.wav", chord([261.63, 329.63, 392.0], 8.0, SR), SR)
    assert main(["analyze", "--json", str(tmp_path)]) == 0
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in
            (json.loads(x) for x in capsys.readouterr().out.splitlines())}
    assert rows["noise.wav"]["moods_status"] == NO_MUSIC_STATUS and "moods" not in rows["noise.wav"]
    assert rows["drums.wav"]["tempo_bpm"] is not None  # a beat: music without a key
    assert rows["chord.wav"]["key"] is not None  # a key: music without a beat
    for name in ("drums.wav", "chord.wav"):
        assert rows[name].get("moods") and "moods_status" not in rows[name], name
