"""Identification of degraded excerpts of library tracks; rejection of non-library audio."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from musicapp_lab.library import degrade

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
    f1, f2 = fp.compute(y), fp.compute(y)
    assert len(f1) > 100 and np.array_equal(f1.hashes, f2.hashes) and np.array_equal(f1.times, f2.times)
    assert np.array_equal(f1.signature, f2.signature)
    # One signature word per 16 ms frame.
    assert f1.signature.size == -(-y.size // fp.HOP)
    back = fp.Fingerprint.unpack(f1.pack())
    assert np.array_equal(f1.hashes, back.hashes) and np.array_equal(f1.times, back.times)
    assert np.array_equal(f1.signature, back.signature)
    assert int(f1.hashes.max()) < 2**fp.HASH_BITS


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"MFP4",
        b"\x01\x02" * 20,
        fp.Fingerprint(np.zeros(3, np.uint32), np.zeros(3, np.int32), np.zeros(5, np.uint32)).pack()[:-1],
    ],
)
def test_unpack_refuses_foreign_or_damaged_blobs(blob):
    with pytest.raises(ValueError):
        fp.Fingerprint.unpack(blob)


def test_old_format_fingerprints_are_reported_not_crashing(library, tmp_path):
    """A library indexed by an older version: identify says so instead of failing."""
    _lib, root = library
    db = tmp_path / "copy.sqlite3"
    with Library(root / "lib.sqlite3") as src:
        src.store.con.execute("VACUUM INTO ?", (str(db),))
    with Library(db) as old:
        old.store.con.execute("UPDATE fingerprints SET version = 3, data = x'0102' WHERE track_id = 1")
        old.store.con.commit()
        res = old.identify_samples(song(10, 20.0)[::2].copy())  # 8 kHz
        assert any("older format" in w for w in res.warnings), res.as_dict()
        assert res.as_dict()["warnings"] == res.warnings


@pytest.mark.parametrize(("seconds", "warned"), [(0.5, True), (8.0, False)])
def test_a_too_short_clip_is_named_as_the_reason(library, tmp_path, seconds, warned):
    # before: a 1-sample or half-second clip gave a bare "no match", which blames the library
    lib, _ = library
    path = tmp_path / "short.wav"
    sf.write(str(path), song(10, 20.0)[: int(seconds * SR)], SR)
    res = lib.identify(path)
    assert any("too short to identify" in w for w in res.warnings) is warned
    assert any("too short" in w for w in res.as_dict()["warnings"]) is warned


def test_a_clip_much_longer_than_the_tracks_gives_finite_numbers(library, tmp_path):
    """A clip holding a 20-s track four times (80 s) left every alignment short of half the
    clip: the summary read "-inf standard deviations" and the JSON held -Infinity."""
    import json

    lib, _ = library
    clip = np.concatenate([song(12, 20.0)] * 4)
    path = tmp_path / "long.wav"
    sf.write(str(path), clip, SR)
    res = lib.identify(path)
    text = json.dumps(res.as_dict(), allow_nan=False)  # strict JSON: no -Infinity
    assert "inf" not in res.summary() and "inf" not in text.lower()


def test_a_long_recording_is_identified_from_its_start_and_says_so(library, tmp_path, monkeypatch):
    """A 3-hour recording took 10 GB in the matcher: only its first MAX_CLIP_SECONDS are decoded
    and matched, and the result says so."""
    from musicapp.library import api

    lib, root = library
    monkeypatch.setattr(api, "MAX_CLIP_SECONDS", 10.0)
    rng = np.random.default_rng(11)
    y = np.concatenate([song(12, 20.0)[2 * SR:10 * SR],
                        0.05 * rng.standard_normal(40 * SR).astype(np.float32)])
    path = tmp_path / "long.wav"
    sf.write(str(path), y, SR)
    seen = []
    real = lib.identify_samples
    monkeypatch.setattr(lib, "identify_samples",
                        lambda y8k, threshold=DEFAULT_MATCH_THRESHOLD: seen.append(y8k.size)
                        or real(y8k, threshold))
    res = lib.identify(path)
    assert seen and seen[0] <= 10.0 * fp.SAMPLE_RATE + 1
    assert res.accepted and res.path == str((root / "music" / "song2.flac").resolve())
    assert any("identified from the first 0:10.0 of the 0:48.0 recording" in w
               for w in res.warnings)
