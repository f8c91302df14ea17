"""Identification of degraded excerpts of library tracks; rejection of non-library audio."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from musicapp.library import degrade
from musicapp.library import fingerprint as fp
from musicapp.library.api import DEFAULT_MATCH_THRESHOLD, Library
from musicapp.library.indexer import no_analyser
from tests.library.music import SR, song, write_song


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("idlib")
    for i in range(6):
        write_song(root / "music" / f"song{i}.flac", 10 + i, 20.0)
    lib = Library(root / "lib.sqlite3")
    report = lib.add(root / "music", workers=0, analyser=no_analyser)
    assert report.done == 6 and report.failed == 0
    yield lib, root
    lib.close()


@pytest.mark.parametrize(
    ("condition", "seed"), [("noise5", 0), ("noise0", 1), ("tempo+5", 2), ("mp3", 3), ("reverb+noise", 4)]
)
def test_degraded_excerpt_is_identified(library, tmp_path, condition, seed):
    lib, root = library
    rng = np.random.default_rng(seed)
    target = seed % 6
    y = song(10 + target, 20.0)
    start = int(rng.integers(0, 10 * SR))
    clip = degrade.apply(condition, y[start : start + 8 * SR], SR, rng)
    path = tmp_path / "clip.wav"
    sf.write(str(path), clip, SR)
    res = lib.identify(path)
    assert res.accepted, res.as_dict()
    assert res.path == str((root / "music" / f"song{target}.flac").resolve())
    assert res.match.offset_s == pytest.approx(start / SR, abs=0.3 if "tempo" not in condition else 1.0)


def test_non_library_recordings_are_rejected(library, tmp_path):
    lib, _ = library
    rng = np.random.default_rng(7)
    for k in range(4):
        clip = degrade.apply("noise10", song(500 + k, 8.0), SR, rng)
        res = lib.identify_samples(clip[::2].copy())  # crude 8 kHz is fine for rejection
        assert not res.accepted, res.as_dict()
        assert res.match is None or res.match.score < DEFAULT_MATCH_THRESHOLD


def test_fingerprint_roundtrip_and_determinism():
    y = song(3, 6.0)[::2].copy()
    h1, t1 = fp.fingerprint_samples(y)
    h2, t2 = fp.fingerprint_samples(y)
    assert h1.size > 100 and np.array_equal(h1, h2) and np.array_equal(t1, t2)
    h3, t3 = fp.unpack(fp.pack(h1, t1))
    assert np.array_equal(h1, h3) and np.array_equal(t1, t3)
    assert int(h1.max()) < 2**fp.HASH_BITS
