"""Mixing to mono and resampling block by block gives the whole-signal samples bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.audio import resample
from musicapp.audio.blockwise import resample_to_mono, resampled_blocks


def _stereo(seconds: float, sr: int) -> np.ndarray:
    rng = np.random.default_rng(4)
    t = np.arange(int(seconds * sr)) / sr
    left = 0.4 * np.sin(2 * np.pi * 220.0 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 331.0 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([left, right]).astype(np.float32)


@pytest.mark.parametrize("block", [1000, 12345, 1 << 18])
@pytest.mark.parametrize("rates", [(44100, 16000), (22050, 16000), (48000, 22050),
                                   (16000, 16000)])
def test_equals_resampling_the_whole_channel_mean(block, rates):
    sr, target = rates
    y = _stereo(7.3, sr)
    want = resample(y.mean(axis=0), sr, target)
    got = resample_to_mono(y, sr, target, block=block)
    assert got.dtype == np.float32 and np.array_equal(got, want)
    parts = list(resampled_blocks(y, sr, target, block=block)())
    assert np.array_equal(np.concatenate(parts), want)
    # mono input: the samples themselves
    assert np.array_equal(resample_to_mono(y[0], sr, target, block=block),
                          resample(y[0], sr, target))


def test_each_call_of_the_source_starts_again():
    y = _stereo(2.0, 44100)
    source = resampled_blocks(y, 44100, 16000, block=5000)
    first, second = np.concatenate(list(source())), np.concatenate(list(source()))
    assert np.array_equal(first, second)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="channels"):
        resampled_blocks(np.zeros((2, 2, 10), np.float32), 16000, 8000)
