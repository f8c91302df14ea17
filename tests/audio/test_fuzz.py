"""Property-based fuzzing of the decoder: arbitrary bytes never escape as anything but
AudioDecodeError, and mutated real files either decode to finite float32 or fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicapp.audio import load_audio
from musicapp.errors import AudioDecodeError
from tests.helpers.signals import stereo_test_signal, write_audio

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _decode_or_clear_error(path):
    try:
        audio = load_audio(path, sr=16000)
    except AudioDecodeError as exc:
        assert str(path) in str(exc)
        return None
    assert audio.samples.dtype == np.float32
    assert np.isfinite(audio.samples).all()
    return audio


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    d = tmp_path_factory.mktemp("seeds")
    sig = stereo_test_signal(0.5, 22050)
    return {
        ext: write_audio(d / f"s.{ext}", sig, 22050).read_bytes()
        for ext in ("wav", "flac", "mp3", "ogg", "m4a")
    }


@FUZZ
@given(data=st.binary(min_size=1, max_size=4096), ext=st.sampled_from(["wav", "mp3", "flac", "ogg", "m4a"]))
def test_arbitrary_bytes(tmp_path_factory, data, ext):
    p = tmp_path_factory.mktemp("fz") / f"x.{ext}"
    p.write_bytes(data)
    _decode_or_clear_error(p)


@FUZZ
@given(
    ext=st.sampled_from(["wav", "flac", "mp3", "ogg", "m4a"]),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=20),
    cut=st.floats(0.05, 1.0),
)
def test_mutated_real_files(tmp_path_factory, seeds, ext, flips, cut):
    data = bytearray(seeds[ext])
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    p = tmp_path_factory.mktemp("fz") / f"m.{ext}"
    p.write_bytes(bytes(data[: max(1, int(len(data) * cut))]))
    _decode_or_clear_error(p)
