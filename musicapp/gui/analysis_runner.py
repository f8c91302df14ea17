"""The task that analyses the open track: from the cache, or in the warm worker process."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from musicapp.gui.analysis_worker import AnalysisCancelled, AnalysisError, AnalysisWorker
from musicapp.gui.workers import CancelledError, TaskContext
from musicapp.track_analysis import TrackAnalysis

if TYPE_CHECKING:
    from musicapp.analysis_cache import AnalysisCache

__all__ = ["FROM_CACHE", "AnalysisError", "analyze_task"]

#: the progress text of a result taken from the analysis cache (the window says so)
FROM_CACHE = "analysis from the cache"


def analyze_task(ctx: TaskContext, path: str, worker: AnalysisWorker | None = None,
                 cache: AnalysisCache | None = None) -> TrackAnalysis:
    """Analyse ``path``; progress and cancellation go through ``ctx``.

    A file analysed before (same bytes, same models) comes from the analysis cache. Otherwise
    the work runs in ``worker`` (a warm child process, so the models never compete with the GUI
    thread for the interpreter lock; cancelling kills it). Without a worker, and in a frozen
    build (no ``python -m``), it runs in this thread.
    """
    from musicapp.analysis_cache import AnalysisCache  # off the start-up path (hashlib, jitcache)

    store = cache if cache is not None else AnalysisCache()
    ctx.progress(0.0, "looking in the analysis cache")
    try:
        key = store.key(path)
    except OSError:
        key = None  # the pipeline reports an unreadable file in its own words
    if key is not None:
        hit = store.get(path, key)
        if hit is not None:
            ctx.progress(1.0, FROM_CACHE)
            return hit
    if worker is None or getattr(sys, "frozen", False):
        from musicapp.pipeline import analyze_path

        result = analyze_path(path, progress=ctx.progress)
    else:
        try:
            data = worker.analyze(path, progress=ctx.progress, cancelled=lambda: ctx.cancelled)
        except AnalysisCancelled:
            raise CancelledError() from None
        result = TrackAnalysis.from_dict(data)
    if key is not None:
        store.put(path, result, key)
    return result
