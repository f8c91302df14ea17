"""TrackAnalysis: the one result shape, its JSON round trip and the pipeline's silence rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musicapp.pipeline import analyze_samples, classify_level, loudest_window_dbfs
from musicapp.track_analysis import SILENCE, TOO_SHORT, TrackAnalysis
from tests.helpers.signals import chord

SR = 22050


def test_round_trip_keeps_every_part() -> None:
    original = TrackAnalysis(
        duration_s=12.3456, path="/m/song.flac", format="FLAC", level_dbfs=-14.04,
        tags={"moods": [{"tag": "sad", "percentile": 80.0, "score": 0.1}], "valence": -0.3,
              "arousal": 0.2, "hash": "00ff00ff00ff00ff"},
        music={"key": {"tonic": "A", "mode": "minor", "confidence": 0.8}, "tempo_bpm": 120.0,
               "chords": [{"start": 0.0, "end": 2.0, "label": "A:min"}], "new_field": [1, 2]},
        warnings=["file is truncated"], errors={"tags": "weights tampered"})
    data = json.loads(json.dumps(original.to_dict()))
    back = TrackAnalysis.from_dict(data)
    assert back.tags == original.tags
    assert back.music == original.music  # fields the parts add later land in their part
    assert back.errors == original.errors and back.warnings == original.warnings
    assert back.key["tonic"] == "A" and back.tempo_bpm == 120.0 and back.hash == "00ff00ff00ff00ff"
    assert back.duration_s == pytest.approx(12.346)


def test_from_dict_refuses_what_is_not_an_object() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        TrackAnalysis.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]


def test_level_of_a_tone_and_of_silence() -> None:
    t = np.arange(SR * 4) / SR
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    # RMS of a 0.5 sine = 0.354 -> -9.0 dBFS
    assert loudest_window_dbfs(tone, SR) == pytest.approx(-9.03, abs=0.05)
    assert classify_level(tone, SR)[0] == "ok"
    assert classify_level(tone * 10 ** (-75 / 20), SR)[0] == SILENCE
    assert classify_level(np.zeros(SR * 4, np.float32), SR)[0] == SILENCE
    assert classify_level(tone[: SR // 10], SR)[0] == TOO_SHORT


def test_silence_gives_no_invented_values() -> None:
    """A -78 dBFS hum: no moods, key, tempo or chords, and the status says why."""
    y = chord([220.0, 277.18, 329.63], 8.0, SR) * 10 ** (-78 / 20) / 0.5
    result = analyze_samples(y.astype(np.float32), SR)
    assert result.status == SILENCE and result.silent
    assert result.tags is None and result.music is None and result.errors == {}
    assert result.key is None and result.tempo_bpm is None and result.moods == []
    d = result.to_dict()
    assert d["status"] == "silence" and "key" not in d and "tempo_bpm" not in d


def test_music_gets_every_part() -> None:
    y = np.concatenate([chord(f, 1.0, SR) for f in ([261.63, 329.63, 392.0],
                                                    [174.61, 220.0, 261.63]) * 4])
    result = analyze_samples(y.astype(np.float32), SR)
    assert result.status == "ok" and result.errors == {}
    assert result.moods and result.hash and result.key and result.chords
