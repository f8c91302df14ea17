"""The filter cache: stored banks are the built ones exactly; a warm cache spares librosa."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from musicapp.analysis import cqt
from musicapp.analysis import features as F
from musicapp.features import filter_cache


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty cache folder for this test, and no memo from earlier tests."""
    monkeypatch.setenv("MUSICAPP_FILTER_CACHE", str(tmp_path / "filters"))
    monkeypatch.setattr(filter_cache, "_memo", {})
    cqt._plan.cache_clear()
    F._filters.cache_clear()
    yield tmp_path / "filters"
    cqt._plan.cache_clear()
    F._filters.cache_clear()


def _never() -> dict:
    raise AssertionError("built although the cache holds it")


def test_round_trip_keeps_values_and_dtypes(folder):
    rng = np.random.default_rng(1)
    arrays = {"a": rng.random((3, 4), dtype=np.float32), "b": np.arange(5, dtype=np.int32),
              "c": (rng.random(4) + 1j * rng.random(4)).astype(np.complex128),
              "d": np.array(2.5)}
    first = filter_cache.cached("t", (1, 2.0), lambda: arrays)
    assert len(list(folder.glob("t-*.npz"))) == 1
    filter_cache._memo.clear()
    again = filter_cache.cached("t", (1, 2.0), _never)
    for k, v in arrays.items():
        assert again[k].dtype == v.dtype and np.array_equal(again[k], v)
        assert np.array_equal(first[k], v)
    # another key is another file
    filter_cache.cached("t", (1, 3.0), lambda: {"a": np.zeros(1)})
    assert len(list(folder.glob("t-*.npz"))) == 2


def test_damaged_incomplete_or_unwritable_cache_rebuilds(folder, tmp_path, monkeypatch):
    filter_cache.cached("t", (1,), lambda: {"a": np.ones(3)})
    (path,) = folder.glob("t-*.npz")
    path.write_bytes(b"not a zip file")
    filter_cache._memo.clear()
    assert np.array_equal(filter_cache.cached("t", (1,), lambda: {"a": np.ones(3)})["a"], np.ones(3))
    filter_cache._memo.clear()
    out = filter_cache.cached("t", (1,), lambda: {"a": np.full(3, 2.0)},
                              valid=lambda arrays: "b" in arrays)  # stored file lacks "b"
    assert np.array_equal(out["a"], np.full(3, 2.0))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("MUSICAPP_FILTER_CACHE", str(blocker / "sub"))  # cannot be created
    filter_cache._memo.clear()
    assert np.array_equal(filter_cache.cached("t", (2,), lambda: {"a": np.ones(2)})["a"], np.ones(2))


def test_cached_cqt_filters_equal_the_built_ones(folder):
    fmin = float(F._build_filters()["cqt_fmin"])
    built = cqt._build_plan(float(F.CQT_RATE), F.CQT_HOP, fmin, 252, 36)
    cqt._plan(float(F.CQT_RATE), F.CQT_HOP, fmin, 252, 36)  # builds and stores
    cqt._plan.cache_clear()
    filter_cache._memo.clear()
    octaves, lengths = cqt._plan(float(F.CQT_RATE), F.CQT_HOP, fmin, 252, 36)  # from disk
    assert np.array_equal(lengths, built["lengths"])
    for i, (basis, n_fft) in enumerate(octaves):
        assert n_fft == int(built[f"n_fft{i}"])
        for part in ("data", "indices", "indptr"):
            stored, made = getattr(basis, part), built[f"{part}{i}"]
            assert stored.dtype == made.dtype and np.array_equal(stored, made)
    features = F._filters()
    for k, v in F._build_filters().items():
        assert np.asarray(features[k]).dtype == np.asarray(v).dtype
        assert np.array_equal(features[k], v)


def test_semitones_equal_with_and_without_the_cache(folder, monkeypatch):
    t = np.arange(int(6 * F.SAMPLE_RATE)) / F.SAMPLE_RATE
    y = (0.3 * np.sin(2 * np.pi * 196.0 * t) + 0.1 * np.sin(2 * np.pi * 523.3 * t)).astype(np.float32)
    F._semitone_spectrum(y, 259)  # fills the cache
    cqt._plan.cache_clear()
    F._filters.cache_clear()
    filter_cache._memo.clear()
    cached_semis, cached_tuning = F._semitone_spectrum(y, 259)
    monkeypatch.setenv("MUSICAPP_FILTER_CACHE", "0")
    cqt._plan.cache_clear()
    F._filters.cache_clear()
    filter_cache._memo.clear()
    semis, tuning = F._semitone_spectrum(y, 259)
    assert tuning == cached_tuning and np.array_equal(semis, cached_semis)


def test_a_warm_cache_spares_the_worker_librosa(folder, tmp_path):
    """A fresh batch worker with a filled cache analyses and tags a track without importing
    librosa or scipy.signal (they pull in numba and scipy.stats: seconds per worker start)."""
    t = np.arange(int(8 * 22050)) / 22050
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t)))
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), y.astype(np.float32), 22050)
    code = textwrap.dedent(f"""
        import sys
        from musicapp.batch.stages import TrackSpec, process_track
        spec = TrackSpec(tags=True, tags_in_worker=True, fingerprint=True, device="cpu",
                         threads=1)
        result = process_track({str(wav)!r}, spec)
        assert result["ok"] and result["track"].tags.get("hash"), result["ok"]
        print("librosa" in sys.modules, "scipy.signal" in sys.modules)
    """)
    import os

    env = dict(os.environ, MUSICAPP_FILTER_CACHE=str(folder))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           timeout=300, check=True).stdout.strip().splitlines()[-1]
            for _ in range(2)]
    # the first fills the cache, the second reads it
    assert runs == ["True True", "False False"]


def _rewrite(path, arrays: dict, with_digest: bool) -> None:
    extra = {filter_cache.DIGEST: filter_cache.digest(arrays)} if with_digest else {}
    with open(path, "wb") as fh:  # np.savez on a str path would append another ".npz"
        np.savez(fh, **arrays, **extra)


def test_foreign_arrays_under_the_right_name_are_rebuilt(folder):
    """An .npz written by someone else under the cache's file name (arrays of another shape,
    no digest) is not used: the built filters are."""
    built = F._filters()
    (path,) = folder.glob("features-*.npz")
    forged = {k: np.asarray(v) for k, v in built.items()}
    forged["mel_basis"] = forged["mel_basis"][:, :500]
    _rewrite(path, forged, with_digest=False)
    F._filters.cache_clear()
    filter_cache._memo.clear()
    again = F._filters()
    assert again["mel_basis"].shape == (64, 1025)
    assert np.array_equal(again["mel_basis"], built["mel_basis"])
    with np.load(path) as data:  # and the file is rewritten with the right arrays
        assert data["mel_basis"].shape == (64, 1025)


def test_stored_arrays_of_the_wrong_shape_fail_validation_even_with_a_digest(folder):
    """Arrays that match their digest but not the use (a CQT octave with indices past its FFT
    size crashed the sparse product with a segmentation fault; a Mel bank of the wrong width
    failed every track) are rebuilt."""
    fmin = float(F._build_filters()["cqt_fmin"])
    octaves, lengths = cqt._plan(float(F.CQT_RATE), F.CQT_HOP, fmin, 252, 36)
    (path,) = folder.glob("cqt-*.npz")
    with np.load(path) as data:
        plan = {k: data[k] for k in data.files if k != filter_cache.DIGEST}
    plan["indices0"] = plan["indices0"] + 100_000
    _rewrite(path, plan, with_digest=True)
    cqt._plan.cache_clear()
    filter_cache._memo.clear()
    again, again_lengths = cqt._plan(float(F.CQT_RATE), F.CQT_HOP, fmin, 252, 36)
    assert np.array_equal(again_lengths, lengths)
    for (basis, n_fft), (made, made_n_fft) in zip(again, octaves, strict=True):
        assert n_fft == made_n_fft and np.array_equal(basis.indices, made.indices)
        assert basis.indices.max() < basis.shape[1]
    F._filters()
    (fpath,) = folder.glob("features-*.npz")
    with np.load(fpath) as data:
        filters = {k: data[k] for k in data.files if k != filter_cache.DIGEST}
    filters["mel_basis"] = np.ascontiguousarray(filters["mel_basis"][:, :64])
    _rewrite(fpath, filters, with_digest=True)
    F._filters.cache_clear()
    filter_cache._memo.clear()
    assert F._filters()["mel_basis"].shape == (64, 1025)


def test_a_file_whose_arrays_differ_from_its_digest_is_rebuilt(folder):
    filter_cache.cached("t", (1,), lambda: {"a": np.ones(3, dtype=np.float32)})
    (path,) = folder.glob("t-*.npz")
    digest = filter_cache.digest({"a": np.ones(3, dtype=np.float32)})
    with open(path, "wb") as fh:  # same name and shape, another dtype, the old digest
        np.savez(fh, a=np.ones(3, dtype=np.float64), **{filter_cache.DIGEST: digest})
    filter_cache._memo.clear()
    out = filter_cache.cached("t", (1,), lambda: {"a": np.ones(3, dtype=np.float32)})
    assert out["a"].dtype == np.float32


def _finishes(fn, seconds: float = 20.0):
    """Run ``fn`` in a thread; its result, or a failure if it is still blocked after ``seconds``."""
    import threading

    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked (a FIFO opened for reading waits for a writer)"
    return out["value"]


def test_a_fifo_or_symlinked_fifo_in_the_cache_is_rebuilt_not_waited_on(folder, tmp_path):
    import os

    filter_cache.cached("t", (1,), lambda: {"a": np.ones(3)})
    (path,) = folder.glob("t-*.npz")
    path.unlink()
    os.mkfifo(path)
    filter_cache._memo.clear()
    got = _finishes(lambda: filter_cache.cached("t", (1,), lambda: {"a": np.full(3, 4.0)}))
    assert np.array_equal(got["a"], np.full(3, 4.0))
    assert path.is_file()  # the rebuilt banks replaced the FIFO
    fifo = tmp_path / "elsewhere.fifo"
    os.mkfifo(fifo)
    path.unlink()
    path.symlink_to(fifo)
    filter_cache._memo.clear()
    got = _finishes(lambda: filter_cache.cached("t", (1,), lambda: {"a": np.full(3, 5.0)}))
    assert np.array_equal(got["a"], np.full(3, 5.0))
