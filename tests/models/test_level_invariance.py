"""Issue 16: moods, valence/arousal and energy do not follow the playback level, and clips too
short for the tagger's 3-s patches get no moods. Real model weights, generated music."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.models import engine as eng
from musicapp.params import ANALYSIS, MEL
from musicapp.pipeline import analyze_samples
from musicapp.track_analysis import TrackAnalysis
from tests.helpers.signals import chord

SR = ANALYSIS.sample_rate
PROGRESSION = ([261.63, 329.63, 392.0], [220.0, 261.63, 329.63], [174.61, 220.0, 261.63],
               [196.0, 246.94, 293.66])  # fmt: skip


def song(seconds: float, seed: int = 0) -> np.ndarray:
    """Chords every 1.5 s, a noise snare on the off-beats and a kick on the beats at 120 BPM,
    peaking near full scale (a mastered track)."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    while total < seconds * SR:
        for freqs in PROGRESSION:
            parts.append(chord(freqs, 1.5, SR, 0.35))
            total += parts[-1].size
    y = np.concatenate(parts)[: int(seconds * SR)].astype(np.float64)
    n = np.arange(2000)
    kick = np.sin(2 * np.pi * 60 * n / SR) * np.exp(-n / 400.0)
    snare = rng.standard_normal(2000) * np.exp(-n / 250.0)
    for k, start in enumerate(range(0, y.size - 2000, SR // 4)):
        y[start:start + 2000] += 0.5 * (kick if k % 2 == 0 else 0.3 * snare)
    return (0.95 * y / np.max(np.abs(y))).astype(np.float32)


def _tags_only(y: np.ndarray) -> TrackAnalysis:
    return analyze_samples(y, SR, music=False, device="cpu", threads=1)


@pytest.fixture(scope="module")
def loud() -> np.ndarray:
    return song(15.0)


def test_the_tagger_input_is_scaled_to_the_reference_level(loud):
    from musicapp.audio import resample

    y16 = eng.clean_samples(resample(loud, SR, MEL.sample_rate))
    for gain_db in (0.0, -30.0):
        scaled, level, status = eng.normalise_level(y16 * np.float32(10 ** (gain_db / 20)))
        assert status == "ok"
        assert eng.input_level_dbfs(scaled) == pytest.approx(eng.INPUT_REFERENCE_DBFS, abs=1e-3)
        assert level == pytest.approx(eng.input_level_dbfs(y16) + gain_db, abs=1e-3)
    # silence is decided on the raw level: a -70 dBFS track is not amplified into music
    _, _, status = eng.normalise_level(y16 * np.float32(10 ** (-70 / 20)))
    assert status == "silence"


@pytest.mark.parametrize("gain_db", [-10.0, -30.0])
def test_moods_valence_arousal_energy_do_not_follow_the_playback_level(loud, gain_db):
    """The whole pipeline (tagger, music analysis, fusion): the same music 30 dB quieter gets the
    same moods, valence/arousal, energy, genres and hash code."""
    a = analyze_samples(loud, SR, device="cpu", threads=1)
    b = analyze_samples((loud * np.float32(10 ** (gain_db / 20))), SR, device="cpu", threads=1)
    assert a.status == b.status == "ok" and a.tags and b.tags
    assert not a.errors and not b.errors  # the fusion ran (a model weighing the level: refused)
    assert b.level_dbfs == pytest.approx(a.level_dbfs + gain_db, abs=0.1)  # the level is raw
    for axis in ("valence", "arousal"):
        assert b.tags[axis] == pytest.approx(a.tags[axis], abs=0.02), axis
        va = [s[axis] for s in a.tags["segments"]]
        vb = [s[axis] for s in b.tags["segments"]]
        np.testing.assert_allclose(vb, va, atol=0.03)
    assert b.tags["energy"] == a.tags["energy"]
    assert [m["tag"] for m in b.tags["moods"]][:3] == [m["tag"] for m in a.tags["moods"]][:3]
    for ma, mb in zip(a.tags["moods"], b.tags["moods"], strict=False):
        assert mb["percentile"] == pytest.approx(ma["percentile"], abs=1.0)
    assert [g["tag"] for g in b.tags["genres"]] == [g["tag"] for g in a.tags["genres"]]
    bits = sum(x != y for x, y in zip(bin(int(a.tags["hash"], 16)), bin(int(b.tags["hash"], 16)),
                                      strict=False))
    assert bits <= 2  # a 64-bit code: at most a bit on the sign edge may flip


def test_before_normalisation_the_level_moved_the_tags(loud):
    """The check above can fail: the raw model on the raw level hears the quiet copy otherwise
    (what the outside tester saw)."""
    import torch

    from musicapp.audio import resample
    from musicapp.features import log_mel
    from musicapp.pipeline import get_engine

    backend = get_engine("cpu", 1).backend
    y16 = resample(loud, SR, MEL.sample_rate)[: MEL.patch_frames * MEL.hop_length]
    outs = []
    for gain_db in (0.0, -30.0):
        x = log_mel(y16 * np.float32(10 ** (gain_db / 20)))[: MEL.patch_frames][None]
        with torch.inference_mode():
            outs.append(backend.run(torch.from_numpy(np.ascontiguousarray(x)), False))
    assert np.max(np.abs(outs[0]["mood"] - outs[1]["mood"]) / (outs[0]["mood"] + 1e-3)) > 0.1


@pytest.mark.parametrize("seconds", [0.7, 1.5, 2.9])
def test_a_clip_shorter_than_a_patch_is_too_short_for_moods(seconds, loud):
    res = analyze_samples(loud[: int(seconds * SR)], SR, device="cpu", threads=1)
    assert res.status == "ok"  # the music analysis still ran (key/tempo when it finds them)
    assert res.tags is not None and res.tags["moods_status"] == eng.TOO_SHORT_FOR_MOODS
    flat = res.to_dict()
    for field in ("moods", "genres", "valence", "arousal", "energy", "curves", "hash"):
        assert field not in flat, field
    assert flat["model_version"] == eng.MODEL_VERSION
    assert "music" not in res.errors and "tags" not in res.errors
    back = TrackAnalysis.from_dict(flat)
    assert back.tags["moods_status"] == eng.TOO_SHORT_FOR_MOODS  # a tagger field, round trip


def test_below_half_a_second_is_too_short_and_a_full_patch_gets_moods(loud):
    assert analyze_samples(loud[: int(0.3 * SR)], SR, device="cpu", threads=1).status == \
        "too short"
    res = _tags_only(loud[: int(3.2 * SR)])
    assert res.status == "ok" and res.tags["moods"] and res.tags["valence"] is not None
    assert "moods_status" not in res.tags and res.tags["model_version"] == eng.MODEL_VERSION


def test_the_engine_streaming_path_normalises_like_the_array_path(loud, tmp_path):
    """``TaggerEngine.analyze_path`` (two passes over the decoded blocks) gives the tags of
    ``analyze`` on the same samples, at any level."""
    from musicapp.audio import load_audio
    from musicapp.pipeline import get_engine
    from tests.helpers.signals import write_audio

    engine = get_engine("cpu", 1)
    quiet = write_audio(tmp_path / "quiet.wav", loud * np.float32(10 ** (-30 / 20)), SR)
    streamed = engine.analyze_path(quiet).to_dict()
    y = load_audio(quiet, sr=MEL.sample_rate, mono=True).samples
    direct = engine.analyze(y).to_dict()
    assert streamed["valence"] == pytest.approx(direct["valence"], abs=1e-4)
    assert streamed["hash"] == direct["hash"]
    assert [m["tag"] for m in streamed["moods"]] == [m["tag"] for m in direct["moods"]]
