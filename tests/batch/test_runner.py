"""The batch path gives the serial path's results (same code, same run), in both model placements."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from musicapp.audio import load_audio, resample
from musicapp.batch import TrackSpec, run_batch
from musicapp.library import fingerprint as fp
from musicapp.params import ANALYSIS
from musicapp.pipeline import analyze_path
from tests.library.music import write_song

MUSIC_FIELDS = ("status", "key", "key_timeline", "tempo_bpm", "tempo_confidence", "meter", "beats",
                "downbeats", "chords", "duration_s", "errors", "warnings")


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    paths = [write_song(root / f"s{i}.flac", 40 + i, 7.0 + 4 * i, sr=22050) for i in range(2)]
    paths.append(write_song(root / "short.wav", 7, 2.0))  # too short for moods (< one patch)
    return [str(p) for p in paths]


def _serial(path, device="auto"):
    return analyze_path(path, device=device).to_dict()


def _serial_fresh(paths, device="auto"):
    """The serial path in a freshly started process, like the batch workers: the analysis code is
    being edited while tests run, so both sides must import it at the same moment."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return dict(zip(paths, pool.map(_serial, paths, [device] * len(paths)), strict=True))


def _close(a, b, path=""):
    """Nested equality with numbers within 1e-4."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= 1e-4 + 1e-9, f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.parametrize("model, device", [
    ("workers", "cpu"), ("parent", "cpu"),
    pytest.param("parent", "cuda", marks=pytest.mark.skipif(
        not _cuda_available(), reason="needs a CUDA GPU (run on the device machine)")),
])
def test_same_results_as_serial_path(tracks, model, device):
    serial = _serial_fresh(tracks, device)
    results = {}
    seen = []
    stats = run_batch(enumerate(tracks), lambda k, p, r: results.__setitem__(p, r),
                      spec=TrackSpec(device=device), workers=2, model=model,
                      progress=lambda d, t, p: seen.append((d, t)))
    assert (stats.done, stats.failed, stats.model) == (len(tracks), 0, model)
    assert sorted(seen) == [(i, len(tracks)) for i in range(1, len(tracks) + 1)]
    for path in tracks:
        got, ref = results[path]["analysis"], serial[path]
        assert got.get("hash") == ref.get("hash")
        assert got.get("moods_status") == ref.get("moods_status")
        assert ("moods_status" in got) == path.endswith("short.wav")
        for name in MUSIC_FIELDS:
            assert got.get(name) == ref.get(name), f"{path}: {name}"
        # The worker runs the very same pipeline (with one torch thread, as the serial path on a
        # small machine); the model stage batches across tracks. Either way: the raw tag values
        # within 1e-4; percentiles (rounded to 0.1) within one rounding step.
        _close({k: v for k, v in got.items() if k not in ("moods", "genres", "segments")},
               {k: v for k, v in ref.items() if k not in ("moods", "genres", "segments")})
        for field in ("moods", "genres"):
            a = {m["tag"]: m for m in got.get(field) or []}
            b = {m["tag"]: m for m in ref.get(field) or []}
            assert set(a) == set(b)
            for tag in a:
                assert abs(a[tag]["score"] - b[tag]["score"]) <= 1e-4 * max(1.0, abs(b[tag]["score"]))
                assert abs(a[tag]["percentile"] - b[tag]["percentile"]) <= 0.1 + 1e-9
        assert [s["hash"] for s in got.get("segments") or []] == \
            [s["hash"] for s in ref.get("segments") or []]
        audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
        fresh = fp.compute(resample(audio.samples, audio.sample_rate, fp.SAMPLE_RATE))
        stored = fp.Fingerprint.unpack(results[path]["fingerprint"])
        assert np.array_equal(stored.hashes, fresh.hashes) and np.array_equal(stored.times, fresh.times)
        assert np.array_equal(stored.signature, fresh.signature)


def test_in_process_equals_serial_and_bad_file_reported(tracks, tmp_path):
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"OggS" + b"\x00" * 64)
    results = {}
    stats = run_batch([(0, tracks[0]), (1, str(bad))], lambda k, p, r: results.__setitem__(k, r),
                      spec=TrackSpec(device="cpu", fingerprint=False), workers=0)
    assert (stats.done, stats.failed) == (1, 1)
    assert results[0]["analysis"] == analyze_path(tracks[0]).to_dict()
    assert results[0]["fingerprint"] is None
    assert results[1]["ok"] is False and "bad.ogg" in results[1]["error"]


def test_cancel_stops_handing_out_tracks(tracks):
    cancel = threading.Event()
    done = []

    def on_result(key, path, result):
        done.append(key)
        cancel.set()

    spec = TrackSpec(tags=False, device="cpu")
    stats = run_batch(enumerate(tracks * 3), on_result, spec=spec, workers=1, cancel=cancel)
    assert stats.cancelled and 1 <= len(done) < len(tracks) * 3


def _niceness(_path):
    import os

    return {"nice": os.nice(0)}


def test_workers_run_at_a_lower_priority_than_the_parent(tmp_path):
    """The parent is the one serial stage (model, database writer, GUI): busy workers must not
    keep it waiting for a time slice."""
    import os

    from musicapp.batch.runner import WORKER_NICE, run_batch
    from musicapp.batch.stages import TrackSpec

    path = tmp_path / "a.wav"
    path.write_bytes(b"")
    got = {}
    run_batch([(0, str(path))], lambda key, p, result: got.update(result), workers=1,
              spec=TrackSpec(analyser=_niceness, fingerprint=False))
    assert got["ok"] and got["analysis"]["nice"] == min(19, os.nice(0) + WORKER_NICE)


def test_no_more_workers_than_tracks_or_four_per_core(monkeypatch):
    """`--workers 1024` would start a thousand processes; 16 workers for 10 files started 17."""
    from musicapp.batch import runner

    monkeypatch.setattr(runner, "default_workers", lambda: 2)
    assert runner.worker_count(None, 100) == 2
    assert runner.worker_count(1024, 100) == 8  # 4 per core
    assert runner.worker_count(16, 10) == 8 and runner.worker_count(6, 3) == 3
    assert runner.worker_count(0, 100) == 0  # the serial path stays serial
    assert runner.worker_count(None, 1) == 1
