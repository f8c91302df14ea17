"""The model stage in its own thread: same tags as the batch tagger, and failures never hang a run."""

from __future__ import annotations

import time
from multiprocessing.connection import wait

import numpy as np
import pytest

from musicapp.batch import TrackSpec, run_batch
from musicapp.batch.model_stage import ModelStage
from musicapp.batch.tagging import BatchTagger
from musicapp.params import MEL
from tests.library.music import song, write_song


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _y16(seed: int, seconds: float) -> np.ndarray:
    return song(seed, seconds, MEL.sample_rate).astype(np.float32)


def _close(a, b, path=""):
    """Nested equality, numbers within 1e-5 (exact on the CPU)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-5, f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _collect(stage: ModelStage, n: int, timeout: float = 120.0) -> dict:
    """Wait on the stage's wake-up connection until ``n`` tracks came back."""
    got: dict = {}
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        wait([stage.wake], 0.5)
        for key, result, error in stage.take():
            assert key not in got, "a track came back twice"
            got[key] = (result, error)
    assert len(got) == n, f"only {len(got)} of {n} tracks came back"
    return got


def test_stage_tags_as_the_batch_tagger_does():
    tracks = {0: _y16(1, 7.0), 1: _y16(2, 11.0), 2: _y16(3, 2.0)}
    direct = BatchTagger("cpu", 1, 4)
    done = []
    for key, y in tracks.items():
        done.extend(direct.add(key, y))  # the 2-s track: too short for moods, finished at once
    ref = {key: result.to_dict() for key, result in done + direct.drain()}
    assert ref[2]["status"] == "too short for moods" and not ref[2]["moods"]  # 2 s < one patch
    stage = ModelStage("cpu", 1, 4)
    try:
        for key, y in tracks.items():
            stage.add(key, y)
        stage.flush()
        got = _collect(stage, len(tracks))
    finally:
        stage.close()
    for key in tracks:
        result, error = got[key]
        assert error is None
        got_fields = result.to_dict()
        # on a GPU two runs of one batch differ in the last float bits: compare within 1e-5
        assert [s["hash"] for s in got_fields["segments"]] == [s["hash"] for s in ref[key]["segments"]]
        _close(got_fields, ref[key])
    assert stage.tagger.patches_run == direct.patches_run


@pytest.mark.skipif(_cuda_available(), reason="needs a machine without CUDA")
def test_a_model_that_cannot_load_fails_every_track_with_the_reason():
    stage = ModelStage("cuda", 1, 4)
    try:
        stage.add("a", _y16(1, 4.0))
        got = _collect(stage, 1)
        stage.add("b", _y16(2, 4.0))  # added after the failure: comes back at once
        got.update(_collect(stage, 1))
    finally:
        stage.close()
    for key in ("a", "b"):
        result, error = got[key]
        assert result is None and "CUDA" in error


def test_a_failing_forward_pass_fails_the_tracks_held_and_later_ones(monkeypatch):
    stage = ModelStage("cpu", 1, 4)
    try:
        stage.add("ok", _y16(1, 4.0))
        stage.flush()
        first = _collect(stage, 1)
        assert first["ok"][1] is None

        def out_of_memory(x, feature_maps):  # fault injection: what a full GPU raises
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

        # the backend is the engine's, shared with later tests: monkeypatch puts it back
        monkeypatch.setattr(stage.tagger.backend, "run", out_of_memory)
        for key in ("x", "y"):
            stage.add(key, _y16(3, 9.0))
        stage.flush()
        got = _collect(stage, 2)
        stage.add("z", _y16(4, 4.0))
        got.update(_collect(stage, 1))
    finally:
        stage.close()
    for key in ("x", "y", "z"):
        result, error = got[key]
        assert result is None and "out of memory" in error


@pytest.mark.skipif(_cuda_available(), reason="needs a machine without CUDA")
def test_batch_run_finishes_when_the_model_stage_cannot_load(tmp_path):
    paths = [str(write_song(tmp_path / f"s{i}.wav", 20 + i, 4.0)) for i in range(3)]
    results = {}
    stats = run_batch(enumerate(paths), lambda k, p, r: results.__setitem__(k, r),
                      spec=TrackSpec(device="cuda", fingerprint=False), workers=2, model="parent")
    assert (stats.done, stats.failed, stats.model) == (3, 0, "parent")
    for result in results.values():
        analysis = result["analysis"]
        assert "CUDA" in analysis["errors"]["tags"]
        assert analysis["key"] is not None  # the rest of the analysis is kept


def test_a_failing_front_end_fails_every_track_and_never_hangs(monkeypatch):
    stage = ModelStage("cpu", 1, 4)
    try:
        stage.add("ok", _y16(1, 4.0))
        stage.flush()
        assert _collect(stage, 1)["ok"][1] is None

        def broken(samples):  # fault injection: the front end runs out of device memory
            raise RuntimeError("CUDA out of memory in the STFT")

        monkeypatch.setattr(stage.tagger, "prepare", broken)
        for key in ("x", "y", "z"):
            stage.add(key, _y16(3, 5.0))
        stage.flush()
        got = _collect(stage, 3)
    finally:
        stage.close()
    assert all(result is None and "STFT" in error for result, error in got.values())


def test_more_tracks_than_the_model_backlog_all_come_back(tmp_path):
    """With one worker the model stage holds at most two tracks; once that backlog emptied, the
    loop ended with tracks still queued (5 of 12 came back, no error)."""
    # 20-s tracks: tagging one takes longer than decoding it, so the backlog fills
    paths = [str(write_song(tmp_path / f"s{i}.wav", 60 + i, 20.0)) for i in range(6)]
    results = {}
    stats = run_batch(enumerate(paths), lambda k, p, r: results.__setitem__(k, r),
                      spec=TrackSpec(device="cpu", fingerprint=False, music=False), workers=1,
                      model="parent")
    assert (stats.done, stats.failed, stats.cancelled) == (6, 0, False)
    assert sorted(results) == list(range(6))
    assert all(r["analysis"]["hash"] for r in results.values())


def test_a_model_load_that_raises_anything_fails_the_tracks_instead_of_hanging(monkeypatch):
    """A damaged config made the loader raise TypeError: the thread died, the run hung."""
    from musicapp.batch import tagging

    def broken(*args, **kwargs):  # fault injection: what a damaged hashnet config raised
        raise TypeError("'float' object cannot be interpreted as an integer")

    monkeypatch.setattr(tagging, "BatchTagger", broken)
    stage = ModelStage("cpu", 1, 4)
    try:
        stage.add("a", _y16(1, 4.0))
        got = _collect(stage, 1, timeout=30)
    finally:
        stage.close()
    result, error = got["a"]
    assert result is None and "TypeError" in error and "could not be loaded" in error
