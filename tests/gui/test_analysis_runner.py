"""The analysis task: a re-opened track comes from the cache without the worker."""

from __future__ import annotations

import pytest

from musicapp.analysis_cache import AnalysisCache
from musicapp.gui.analysis_runner import analyze_task
from musicapp.gui.analysis_worker import AnalysisWorker
from musicapp.gui.workers import TaskContext, TaskSignals
from musicapp.track_analysis import TrackAnalysis


def test_reopened_track_comes_from_the_cache(qapp, track_file, tmp_path):
    store = AnalysisCache(tmp_path / "cache")
    worker = AnalysisWorker()
    signals = TaskSignals()
    stages = []
    signals.progress.connect(lambda f, m: stages.append(m))
    try:
        first = analyze_task(TaskContext(signals), str(track_file), worker, store)
        assert isinstance(first, TrackAnalysis) and worker.tracks_done == 1
        worker.stop()
        again = analyze_task(TaskContext(signals), str(track_file), worker, store)
        assert not worker.running and worker.starts == 1  # no process needed
        assert again.to_dict() == first.to_dict()
        assert again.duration_s == pytest.approx(12.0, abs=0.05)
    finally:
        worker.stop()
