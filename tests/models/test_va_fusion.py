"""The valence/arousal fusion (tagger + music analysis): descriptors, fusion, the shipped weights,
and the real pipeline on generated major/minor music, silence and NaN input."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from musicapp.errors import ModelError
from musicapp.models import va_fusion as vf
from musicapp.params import ANALYSIS
from musicapp.pipeline import analyze_samples
from musicapp.track_analysis import TrackAnalysis
from tests.helpers.signals import chord

SR = ANALYSIS.sample_rate


def _seg(start: float, v: float, a: float) -> dict:
    return {"start": start, "end": start + 3.0, "valence": v, "arousal": a, "energy": 5.0,
            "moods": []}


def _tags(v: float = 0.0, a: float = 0.0, n: int = 4) -> dict:
    return {"valence": v, "arousal": a, "energy": 5, "segments": [_seg(3.0 * i, v, a)
                                                                  for i in range(n)],
            "moods": [{"tag": "fast", "score": 0.2, "percentile": 80.0, "over": "slow",
                       "over_score": 0.02}]}


def _music(quality: str, mode: str, bpm: float = 120.0) -> dict:
    return {"key_candidates": [{"mode": mode, "probability": 0.8},
                               {"mode": "minor" if mode == "major" else "major",
                                "probability": 0.2}],
            "chords": [{"start": 3.0 * i, "end": 3.0 * i + 3.0, "label": f"C:{quality}"}
                       for i in range(4)],
            "tempo_bpm": bpm}


def _model(weights: dict[str, tuple[float, float]]) -> vf.FusionModel:
    f = len(vf.FEATURES)
    w = np.zeros((2, f))
    for name, (wv, wa) in weights.items():
        w[:, vf.FEATURES.index(name)] = (wv, wa)
    q = np.tile(np.linspace(-3.0, 3.0, 101), (2, 1))
    return vf.FusionModel(vf.FEATURES, np.zeros(f), np.ones(f), w, np.zeros(2), q,
                          {"features": list(vf.FEATURES)})


def test_chord_major_weighs_durations_and_ignores_sus_and_no_chord():
    chords = [{"start": 0, "end": 3, "label": "C:maj"}, {"start": 3, "end": 4, "label": "A:min/5"},
              {"start": 4, "end": 6, "label": "G:sus4"}, {"start": 6, "end": 8, "label": "N"}]
    assert vf.chord_major(chords) == pytest.approx((3 - 1) / 4)
    assert vf.chord_major(chords, 3.0, 4.0) == -1.0
    assert math.isnan(vf.chord_major(chords, 4.0, 8.0))


def test_descriptors_read_mode_tempo_and_mood_ratios():
    track, segs = vf.descriptors(_tags(0.2, -0.4), _music("maj", "major", 200.0), -12.0, 12.0)
    row = dict(zip(vf.FEATURES, track, strict=True))
    assert row["key_major"] == pytest.approx(0.6)
    assert row["chord_major"] == 1.0
    assert row["tempo"] == pytest.approx(1.0)
    assert row["tagger_valence"] == pytest.approx(0.2)
    assert row["fast_slow"] == pytest.approx(math.log(0.2 / 0.02))
    assert row["level"] == -12.0
    assert segs.shape == (4, len(vf.FEATURES))


def test_fusion_hears_mode_and_is_idempotent():
    m = _model({"key_major": (1.0, 0.0), "chord_major": (1.0, 0.0), "tempo": (0.0, 1.0)})
    major = vf.fuse(_tags(), _music("maj", "major"), -12.0, 12.0, m)
    minor = vf.fuse(_tags(), _music("min", "minor"), -12.0, 12.0, m)
    assert major is not None and minor is not None
    assert major["valence"] > 0.3 > -0.3 > minor["valence"]
    assert -1.0 <= minor["valence"] <= 1.0 and 1 <= major["energy"] <= 10
    # the tagger's own values are kept beside the fused ones, and fusing again changes nothing
    assert major["segments"][0]["tagger_valence"] == 0.0
    again = vf.fuse({**_tags(), **major}, _music("maj", "major"), -12.0, 12.0, m)
    assert again == major
    # curves: one value per segment, their mean is the track value
    assert len(major["curves"]["valence"]) == 4
    assert np.mean(major["curves"]["valence"]) == pytest.approx(major["valence"], abs=1e-3)


def test_missing_or_non_finite_descriptors_give_no_confident_value():
    m = _model({f: (1.0, 1.0) for f in vf.FEATURES})
    tags = {**_tags(float("nan"), float("inf")), "moods": []}
    music = {"key_candidates": [{"mode": "major", "probability": float("nan")}],
             "chords": [{"start": float("nan"), "end": 1.0, "label": "C:maj"}],
             "tempo_bpm": float("inf")}
    out = vf.fuse(tags, music, float("nan"), 12.0, m)
    assert out is not None
    assert out["valence"] == pytest.approx(0.0, abs=0.05)
    assert out["arousal"] == pytest.approx(0.0, abs=0.05)
    assert vf.fuse({"valence": None, "segments": []}, None, None, 0.0, m) is None


def test_shipped_weights_load_and_a_tampered_copy_is_refused(tmp_path):
    m = vf.load_model()
    assert set(m.features) <= set(vf.FEATURES) and m.weight.shape == (2, len(m.features))
    assert m.config["features"] == list(m.features)
    # both axes use their prior's direction on the tagger's own value
    assert m.weight[0, m.features.index("tagger_valence")] >= 0
    assert m.weight[1, m.features.index("tagger_arousal")] > 0
    bad = tmp_path / vf.WEIGHTS_NAME
    shutil.copy(vf.default_path(), bad)
    shutil.copy(str(vf.default_path()) + ".sha256", str(bad) + ".sha256")
    data = bytearray(bad.read_bytes())
    data[-5] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        vf.load_model(bad)


def test_the_shipped_model_gives_the_playback_level_no_weight_and_one_that_does_is_refused(
        tmp_path):
    """Issue 16: moods must not follow the volume. The shipped weights give the absolute level
    no weight; a model file that weighs it (the first prior did) is refused with a reason."""
    import torch

    from musicapp.models.weights import load_metadata, load_state, save_state

    m = vf.load_model()
    for i, f in enumerate(m.features):
        if f in vf.GAIN_DEPENDENT:
            assert not m.weight[:, i].any()
    state = {k: v.clone() for k, v in load_state(vf.default_path()).items()}
    meta = load_metadata(vf.default_path())
    features = json.loads(meta["config"])["features"]
    state["weight"][1, features.index("level")] = torch.tensor(0.5)
    bad = tmp_path / vf.WEIGHTS_NAME
    save_state(bad, state, meta)
    with pytest.raises(ModelError, match="playback level"):
        vf.load_model(bad)
    # the same file with the level's weight at 0 again loads
    state["weight"][1, features.index("level")] = torch.tensor(0.0)
    good = tmp_path / "ok" / vf.WEIGHTS_NAME
    good.parent.mkdir()
    save_state(good, state, meta)
    assert vf.load_model(good).features == m.features


def _progression(triads: list[list[float]], seconds: float = 1.5, repeats: int = 3) -> np.ndarray:
    parts = []
    for _ in range(repeats):
        for freqs in triads:
            tones = [f * k for f in freqs for k in (1, 2)] + [freqs[0] / 2]
            parts.append(chord(tones, seconds, SR, amp=0.5))
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def major_minor() -> tuple[TrackAnalysis, TrackAnalysis]:
    c, f, g = [261.63, 329.63, 392.0], [349.23, 440.0, 523.25], [392.0, 493.88, 587.33]
    cm, fm, gm = [261.63, 311.13, 392.0], [349.23, 415.3, 523.25], [392.0, 466.16, 587.33]
    res = []
    for triads in ([c, f, g, c], [cm, fm, gm, cm]):
        a = analyze_samples(_progression(triads), SR, device="cpu", threads=1)
        vf.apply_fusion(a)
        res.append(a)
    return res[0], res[1]


def test_pipeline_fuses_and_hears_major_brighter_than_minor(major_minor):
    major, minor = major_minor
    for a in (major, minor):
        assert a.status == "ok" and "valence_arousal" not in a.errors
        assert "va_fusion" in a.tags["model"]
        assert len(a.tags["curves"]["valence"]) == len(a.tags["segments"])
    assert major.key["mode"] == "major" and minor.key["mode"] == "minor"
    assert major.tags["valence"] > minor.tags["valence"]


@pytest.mark.parametrize("samples", [np.zeros(SR * 5, np.float32),
                                     np.full(SR * 5, 1e-6, np.float32),
                                     np.full(SR * 5, np.nan, np.float32)],
                         ids=["silence", "near-silence", "nan"])
def test_silence_and_nan_give_silence_and_no_valence(samples):
    a = analyze_samples(samples, SR, device="cpu", threads=1)
    assert not vf.apply_fusion(a)
    assert a.status == "silence"
    assert a.get("valence") is None and a.moods == []
