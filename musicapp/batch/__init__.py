"""Batch analysis at the speed of the hardware (issue 17): many tracks through a pipeline of worker
processes and one model stage, results delivered as they complete.

Used by ``musicapp library add`` (:class:`musicapp.library.indexer.Indexer`), ``musicapp analyze
DIR`` and the GUI's "add folder". The one entry point is :func:`run_batch`::

    from musicapp.batch import TrackSpec, run_batch

    def on_result(key, path, result):   # called in this thread as each track completes
        ...                             # result["ok"], result["analysis"] or result["error"]

    stats = run_batch(enumerate(paths), on_result, spec=TrackSpec(fingerprint=False),
                      progress=lambda done, total, path: ..., cancel=threading.Event())

Modules: :mod:`~musicapp.batch.stages` (what a worker computes per track),
:mod:`~musicapp.batch.tagging` (patches of many tracks batched for the tagger),
:mod:`~musicapp.batch.workers` (a process pool that survives dead workers and dies with its
parent), :mod:`~musicapp.batch.runner` (the pipeline). Nothing heavy is imported here.
"""

from musicapp.batch.runner import BatchStats, choose_model, default_workers, run_batch
from musicapp.batch.stages import TrackSpec, process_track

__all__ = ["BatchStats", "TrackSpec", "choose_model", "default_workers", "process_track", "run_batch"]
