"""Emotion sources: images (Valdez & Mehrabian 1994), moods, analysis dicts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from musicapp.compose.emotion import (
    from_analysis,
    from_image,
    from_mood,
    from_va,
    image_statistics,
    va_from_colour,
)
from musicapp.errors import MusicappError


def _img(tmp_path, name, rgb, noise=0, size=(64, 48)):
    rng = np.random.default_rng(0)
    arr = np.full((size[1], size[0], 3), rgb, dtype=np.float64)
    arr += rng.normal(0, noise, arr.shape)
    path = tmp_path / name
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path)
    return path


def test_valdez_mehrabian_equations():
    # the published coefficients, before rescaling: P = .69B + .22S, A = -.31B + .60S
    v, a = va_from_colour(1.0, 0.0)
    assert v == pytest.approx((0.69 - 0.455) / 0.455)
    assert a == pytest.approx((-0.31 - 0.145) / 0.455)
    assert va_from_colour(0.0, 0.0) == (-1.0, pytest.approx((0 - 0.145) / 0.455))


def test_generated_images(tmp_path):
    yellow = from_image(_img(tmp_path, "yellow.png", (255, 230, 0), noise=5))
    red = from_image(_img(tmp_path, "red.jpg", (230, 10, 10), noise=5))
    pastel = from_image(_img(tmp_path, "pastel.png", (235, 225, 240), noise=3))
    night = from_image(_img(tmp_path, "night.png", (20, 22, 40), noise=3))
    grey = from_image(_img(tmp_path, "grey.png", (90, 90, 90)))
    # brightness drives pleasure; saturation drives arousal
    assert yellow.valence > grey.valence > night.valence
    assert pastel.valence > night.valence
    assert red.arousal > pastel.arousal and yellow.arousal > grey.arousal
    assert pastel.arousal < 0 < red.arousal
    assert night.suggested_mode == "minor" and yellow.suggested_mode == "major"
    b, s = image_statistics(tmp_path / "grey.png")
    assert b == pytest.approx(90 / 255, abs=0.01) and s == pytest.approx(0.0, abs=0.01)


def test_image_errors(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(MusicappError, match="bad"):
        from_image(bad)
    with pytest.raises(MusicappError, match="missing"):
        from_image(tmp_path / "missing.png")


def test_moods_and_points():
    assert from_mood("Happy").valence > 0 > from_mood("sad").valence
    assert from_mood("energetic").arousal > from_mood("calm").arousal
    with pytest.raises(MusicappError, match="unknown mood"):
        from_mood("purple")
    e = from_va(2.0, -3.0)
    assert (e.valence, e.arousal) == (1.0, -1.0)


def test_from_analysis_variants():
    e = from_analysis({"valence": 0.8, "arousal": 0.2, "moods": {"happy": 0.9},
                       "key": "A minor"})
    assert e.valence == pytest.approx(0.8) and e.arousal == pytest.approx(0.2)
    assert e.key == "A minor"
    e = from_analysis({"valence": 0.8, "arousal": 0.2}, unit_scale=True)
    assert e.valence == pytest.approx(0.6) and e.arousal == pytest.approx(-0.6)
    # the tagger's format: tiny raw scores, percentiles as weights
    e = from_analysis({"moods": [{"tag": "sad", "score": 0.01, "percentile": 95.0},
                                 {"tag": "happy", "score": 0.02, "percentile": 5.0}],
                       "key": {"tonic": "F#", "mode": "minor", "confidence": 0.8}})
    assert e.valence < 0 and e.key == "F# minor"
    e = from_analysis({"valence": -0.5, "arousal": 0.7})
    assert (e.valence, e.arousal) == (-0.5, 0.7)
    with pytest.raises(MusicappError):
        from_analysis({"moods": {"purple": 1.0}})
