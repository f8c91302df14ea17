"""The warm analysis worker: kept between tracks, restarted on cancel and after N tracks,
failures and a dying child logged (real child processes, real files)."""

from __future__ import annotations

import logging
import os
import signal
import threading

import pytest

from musicapp.gui.analysis_worker import AnalysisCancelled, AnalysisError, AnalysisWorker
from tests.gui.conftest import SR, make_track
from tests.helpers.signals import write_audio


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("worker")
    a = write_audio(folder / "a.wav", make_track(), SR)
    b = write_audio(folder / "b.wav", make_track(1.0, 2), SR)
    bad = folder / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8)
    return a, b, bad


def test_worker_stays_warm_and_restarts_after_max_tracks(files):
    a, b, bad = files
    worker = AnalysisWorker(max_tracks=2)
    try:
        first = worker.analyze(str(a))
        pid = worker.pid
        assert first["duration_s"] == pytest.approx(12.0, abs=0.05) and first["moods"]
        with pytest.raises(AnalysisError, match=r"bad\.wav"):  # refused, counted as a request
            worker.analyze(str(bad))
        assert worker.pid != pid and worker.starts == 2  # two requests: replaced
        second = worker.analyze(str(b))
        assert second["duration_s"] == pytest.approx(8.0, abs=0.05)
        assert worker.tracks_done == 1 and worker.last_rss_mb > 50
    finally:
        worker.stop()
    assert not worker.running


def test_cancel_kills_and_restarts_the_worker(files):
    a, _b, _bad = files
    worker = AnalysisWorker()
    cancel = threading.Event()
    try:
        worker.start()
        pid = worker.pid

        def progress(_f, _m):
            cancel.set()  # cancel as soon as the analysis reports anything

        with pytest.raises(AnalysisCancelled):
            worker.analyze(str(a), progress=progress, cancelled=cancel.is_set)
        assert worker.running and worker.pid != pid  # a fresh one is warming up
        assert worker.analyze(str(a))["duration_s"] == pytest.approx(12.0, abs=0.05)
    finally:
        worker.stop()


def test_a_dying_worker_is_reported_and_logged(files, caplog):
    a, _b, _bad = files
    worker = AnalysisWorker()
    try:
        worker.start()

        def progress(_f, _m):
            os.kill(worker.pid, signal.SIGKILL)

        with caplog.at_level(logging.ERROR, logger="musicapp"), \
                pytest.raises(AnalysisError, match="stopped"):
            worker.analyze(str(a), progress=progress)
        assert any("ended" in r.getMessage() for r in caplog.records)
        assert worker.analyze(str(a))["moods"]  # the next request starts a new one
    finally:
        worker.stop()


def test_the_warm_worker_gives_the_one_core_pipelines_result(files, caplog):
    """The worker warms up without error, then analyses on every core (the concurrent path)
    and answers exactly what the one-core pipeline computes in this process."""
    import json

    from musicapp.pipeline import analyze_path
    from musicapp.track_analysis import json_default

    a, _b, _bad = files
    worker = AnalysisWorker()
    try:
        with caplog.at_level(logging.ERROR, logger="musicapp"):
            got = worker.analyze(str(a))
        assert not [r for r in caplog.records if "warm-up" in r.getMessage()]
        where = worker.last_seconds  # where the request's time went (bench gui prints it)
        assert set(where) == {"round_trip", "decode", "analysis"}
        assert where["decode"] > 0 and where["analysis"] > 0
        assert where["decode"] + where["analysis"] <= where["round_trip"]
    finally:
        worker.stop()
    want = json.loads(json.dumps(analyze_path(str(a), cores=1).to_dict(), default=json_default))
    assert got == want and got["moods"] and got["chords"]
