"""Tests of the tag -> valence/arousal mapping."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp import moods
from musicapp.models.circumplex import (
    MOOD_TAGS,
    TAG_SOURCES,
    quadrant_name,
    tag_coordinates,
    valence_arousal,
)


def _only(tag: str, p: float = 1.0) -> np.ndarray:
    v = np.full(len(MOOD_TAGS), 0.5)
    v[MOOD_TAGS.index(tag)] = p
    return v


def test_fifteen_tags_from_both_teachers():
    assert len(TAG_SOURCES) == 15
    assert {s for s, _ in TAG_SOURCES} == {"MSD", "MTT"}
    assert "easy listening" in MOOD_TAGS and "mellow" in MOOD_TAGS


def test_coordinates_in_range_and_plausible_quadrants():
    c = tag_coordinates()
    assert c.shape == (15, 2) and np.all(np.abs(c) <= 1.0)
    pos = dict(zip(MOOD_TAGS, c, strict=True))
    assert pos["happy"][0] > 0.5 and pos["happy"][1] > 0.3  # pleasant, aroused
    assert pos["sad"][0] < -0.5  # unpleasant
    assert pos["quiet"][1] < -0.5 and pos["mellow"][1] < 0  # calm
    assert pos["party"][1] > pos["slow"][1]
    assert pos["fast"][1] > pos["slow"][1] and pos["loud"][1] > pos["quiet"][1]


def test_neutral_input_gives_origin():
    va = valence_arousal(np.full(15, 0.5))
    np.testing.assert_allclose(va, [0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(valence_arousal(np.zeros(15)), [0.0, 0.0], atol=1e-7)


def test_single_active_tag_moves_toward_its_coordinates():
    c = dict(zip(MOOD_TAGS, tag_coordinates(), strict=True))
    happy = valence_arousal(_only("happy"))
    sad = valence_arousal(_only("sad"))
    assert happy[0] > 0.5 and sad[0] < -0.4
    # centroid with prior weight 0.25 and tag weight 0.5 -> 2/3 of the way to the tag
    np.testing.assert_allclose(happy, c["happy"] * (0.5 / 0.75), atol=1e-6)
    # more activation -> closer to the tag
    assert valence_arousal(_only("quiet", 0.7))[1] > valence_arousal(_only("quiet", 1.0))[1]


def test_batched_shapes_clipping_and_bounds():
    rng = np.random.default_rng(0)
    p = rng.uniform(-0.5, 1.5, size=(4, 7, 15))  # out-of-range values are clipped
    va = valence_arousal(p)
    assert va.shape == (4, 7, 2) and va.dtype == np.float32
    assert np.all(np.abs(va) <= 1.0)


def test_bad_input_rejected():
    with pytest.raises(ValueError):
        valence_arousal(np.zeros(14))
    with pytest.raises(ValueError):
        valence_arousal(np.zeros(15), prior_weight=0.0)


def test_quadrants():
    assert quadrant_name(0.5, 0.5) == "happy/excited"
    assert quadrant_name(-0.5, -0.5) == "sad/depressed"
    assert quadrant_name(0.5, -0.5) == "calm/content"
    assert quadrant_name(-0.5, 0.5) == "tense/angry"


def test_coordinates_are_the_vocabulary_points():
    c = tag_coordinates()
    for tag, (v, a) in zip(MOOD_TAGS, c, strict=True):
        assert moods.point(tag) == (v, a)


def test_nan_percentiles_count_as_neutral():
    p = np.full(15, np.nan)
    np.testing.assert_allclose(valence_arousal(p), [0.0, 0.0], atol=1e-7)
