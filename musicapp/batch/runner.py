"""The pipelined batch path: many tracks through decoding, analysis and the tagger at once.

Stages (issue 17)::

    tracks --> worker processes (one per core): decode once, key/tempo/beats/chords, fingerprint
                 |        [model "workers": the tagger runs here too, one torch thread each]
                 v
           model stage in this process [model "parent"]: log-Mel on the device, patches of many
                 |        tracks batched together (:mod:`musicapp.batch.tagging`)
                 v
           ``on_result(key, path, result)`` in this process as each track completes (the
           library's single database writer commits it there)

Memory stays flat: each worker holds one track, and the model stage holds at most
``2 * workers`` tracks; no new track is handed out while that backlog is full.

Where the tagger runs (``model``): ``"workers"`` (each worker tags its own track; measured the
faster choice on a 2-core CPU machine, see ``musicapp bench batch``), ``"parent"`` (one model
on the device fed by all workers, for a GPU), ``"auto"`` (``parent`` on CUDA/MPS, else
``workers``).

A worker that dies (segfault, out-of-memory kill) costs only its track: the track is retried once
in the fresh worker that replaces it, and if that one dies too the track fails with "worker died
(SIGSEGV) twice while analysing this file"; the run goes on (issue 14, D1). Workers die with
this process (H3, :mod:`musicapp.batch.workers`).

``cancel`` stops handing out tracks; the tracks in flight finish and are reported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from musicapp.batch.stages import TrackSpec, apply_tags, process_track, stored_form, tag_failed

log = logging.getLogger(__name__)

#: on_result(key, path, result) with ``result`` in the library's stored form
#: (:func:`musicapp.batch.stages.stored_form`).
ResultFn = Callable[[Hashable, str, dict], None]
#: progress(done, total, path)
ProgressFn = Callable[[int, int, str], None]
POLL_S = 0.25
MODELS = ("auto", "workers", "parent")


@dataclass
class BatchStats:
    """What a batch run did."""

    done: int = 0
    failed: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    workers: int = 0
    model: str = "workers"
    worker_deaths: int = 0
    retried: list[str] = field(default_factory=list)
    #: wall seconds summed over tracks per stage: the workers' stages (decode, analysis,
    #: resampling, fingerprint) and the model stage's ("model: log-Mel", "model: forward")
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: patches the model stage ran and in how many forward passes (parent model only)
    patches: int = 0
    batches: int = 0

    def add_timings(self, timings: dict[str, float] | None) -> None:
        """Add one track's per-stage seconds."""
        for stage, seconds in (timings or {}).items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + float(seconds)


def default_workers() -> int:
    """One worker per usable core."""
    from musicapp.models.device import usable_cores

    return usable_cores()


#: most worker processes per usable core (each holds its own decoder, analysis and tagger)
MAX_WORKERS_PER_CORE = 4


def worker_count(requested: int | None, tracks: int) -> int:
    """How many workers to start: ``requested`` (None: one per core), but never more than there
    are tracks, nor more than :data:`MAX_WORKERS_PER_CORE` per usable core (``--workers 1024``
    would start a thousand processes of a few hundred MB each); 0 stays 0 (the serial path)."""
    cores = default_workers()
    n = cores if requested is None else max(0, int(requested))
    if n == 0:
        return 0
    return max(1, min(n, tracks, MAX_WORKERS_PER_CORE * cores))


def choose_model(spec: TrackSpec, model: str = "auto") -> str:
    """Resolve ``model`` (``auto``/``workers``/``parent``) for ``spec``."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    if not spec.tags or spec.analyser is not None:
        return "workers"
    if model != "auto":
        return model
    from musicapp.errors import MusicappError
    from musicapp.models.device import select_device

    try:
        kind = select_device(spec.device).type
    except MusicappError:
        return "workers"  # every track then records the device error, as the serial path does
    return "parent" if kind in ("cuda", "mps") else "workers"


#: how much lower the workers' CPU priority is than this process's (Unix ``nice``)
WORKER_NICE = 5


def lower_priority(increment: int = WORKER_NICE) -> None:
    """Run this process at a lower CPU priority (nothing happens where that is not possible).

    The workers are many and interchangeable; this process is the single model stage, database
    writer and, in the app, the GUI. When every core is busy it must not wait for a time slice:
    on a 16-core GPU machine the workers kept the model stage waiting and the GPU idle."""
    import contextlib
    import os

    with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
        os.nice(increment)


def _init_worker(threads: int | None, verbose: bool = False) -> None:
    """Worker start-up: a lower CPU priority than the parent's, torch threads for the tagger
    (when it runs here), and logging to the app's log file like the parent (a failure's
    traceback goes to the log, never the terminal)."""
    import os

    lower_priority()
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    from musicapp.logs import setup_logging

    if setup_logging(verbose) is None and not verbose:  # no log file: drop records silently
        logging.getLogger("musicapp").addHandler(logging.NullHandler())


def _is_cancelled(cancel: threading.Event | Callable[[], bool] | None) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def run_batch(
    items: Iterable[tuple[Hashable, str]],
    on_result: ResultFn,
    *,
    spec: TrackSpec | None = None,
    workers: int | None = None,
    model: str = "auto",
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> BatchStats:
    """Analyse ``items`` (``(key, path)`` pairs) and call ``on_result`` for each as it completes.

    Args:
        items: the tracks; ``key`` identifies a track to the caller (a library row id, an index).
        on_result: called in this thread with ``(key, path, result)``; ``result`` is
            ``{"ok": True, "fingerprint", "n_hashes", "duration_s", "analysis"}`` or
            ``{"ok": False, "error"}``.
        spec: what to compute (default: everything, the tagger on ``auto``).
        workers: worker processes (None: one per core; 0: everything in this process, one track
            after another, which is the serial path).
        model: where the tagger runs (see the module documentation).
        batch_size: patches per forward pass in the model stage (None: the engine's default).
        progress: ``progress(done, total, path)`` after each track.
        cancel: a ``threading.Event`` or a callable; when set, no further track starts.
    """
    spec = spec or TrackSpec()
    todo = list(items)
    stats = BatchStats()
    start = time.perf_counter()
    total = len(todo)

    def emit(key: Hashable, path: str, result: dict[str, Any]) -> None:
        stats.add_timings(result.get("timings"))
        stored = stored_form(result)
        on_result(key, path, stored)
        if stored["ok"]:
            stats.done += 1
        else:
            stats.failed += 1
        if progress is not None:
            progress(stats.done + stats.failed, total, path)

    n_workers = worker_count(workers, total)
    stats.workers = n_workers
    if n_workers == 0:
        stats.model = "in-process"
        local = replace(spec, tags_in_worker=True)
        for key, path in todo:
            if _is_cancelled(cancel):
                break
            emit(key, path, process_track(path, local))
    else:
        stats.model = choose_model(spec, model)
        _run_pool(todo, spec, n_workers, stats, emit, batch_size, cancel)
    stats.cancelled = _is_cancelled(cancel)
    stats.seconds = time.perf_counter() - start
    return stats


def _run_pool(todo: list[tuple[Hashable, str]], spec: TrackSpec, n_workers: int, stats: BatchStats,
              emit: Callable[[Hashable, str, dict], None], batch_size: int | None,
              cancel: threading.Event | Callable[[], bool] | None) -> None:
    from musicapp.batch.model_stage import ModelStage
    from musicapp.batch.workers import WorkerPool

    parent_model = stats.model == "parent"
    if parent_model:
        worker_spec = replace(spec, tags_in_worker=False)
        worker_threads = None
    else:
        worker_spec = replace(spec, tags_in_worker=True, threads=spec.threads or 1)
        worker_threads = worker_spec.threads if spec.tags else None
    max_backlog = 2 * n_workers
    queue = deque(todo)
    in_flight: dict[int, tuple[Hashable, str, int]] = {}  # task id -> (key, path, attempt)
    at_model: dict[Hashable, tuple[str, dict]] = {}  # key -> (path, worker result)
    next_id = 0
    stage: ModelStage | None = None

    def submit(pool: WorkerPool, key: Hashable, path: str, attempt: int, slot: int | None = None) -> None:
        nonlocal next_id
        next_id += 1
        in_flight[next_id] = (key, path, attempt)
        pool.submit(next_id, process_track, (path, worker_spec), slot)

    def worker_done(key: Hashable, path: str, result: dict[str, Any]) -> None:
        y16 = result.pop("y16", None)
        if y16 is None or stage is None:
            emit(key, path, result)
        else:
            at_model[key] = (path, result)
            stage.add(key, y16)

    def tagged() -> None:
        for key, tagger_result, error in stage.take():
            path, result = at_model.pop(key)
            if error is None:
                apply_tags(result["track"], tagger_result)
            else:
                tag_failed(result["track"], error)
            emit(key, path, result)

    verbose = logging.getLogger("musicapp").getEffectiveLevel() <= logging.DEBUG
    with WorkerPool(n_workers, _init_worker, (worker_threads, verbose)) as pool:
        if parent_model:  # loads in its thread while the workers start on their first tracks
            stage = ModelStage(spec.device, spec.threads, batch_size)
        try:
            while True:
                if stage is not None:
                    tagged()  # first: a finished backlog makes room for more tracks below
                while (queue and pool.idle_slots() and len(at_model) < max_backlog
                       and not _is_cancelled(cancel)):
                    key, path = queue.popleft()
                    submit(pool, key, path, 0)
                if stage is not None and at_model and (pool.busy == 0
                                                       or len(at_model) >= max_backlog):
                    stage.flush()  # no more tracks are coming soon: run a partial batch
                if not (pool.busy or at_model) and (not queue or _is_cancelled(cancel)):
                    break
                events = pool.poll(POLL_S, also=[stage.wake] if stage is not None else ())
                for kind, task_id, payload, slot in events:
                    key, path, attempt = in_flight.pop(task_id)
                    if kind == "done":
                        ok, value = payload
                        failure = {"ok": False, "error": f"worker failed: {str(value).splitlines()[0]}"}
                        worker_done(key, path, value if ok else failure)
                    elif attempt == 0 and not _is_cancelled(cancel):
                        stats.retried.append(path)
                        log.warning("retrying %s in a fresh worker (the last one died: %s)", path, payload)
                        submit(pool, key, path, 1, slot)
                    elif attempt == 0:
                        pass  # cancelled: the track stays pending for the next run
                    else:
                        emit(key, path, {"ok": False,
                                         "error": f"worker died ({payload}) twice while analysing this file"})
        finally:
            if stage is not None:
                stage.close()
        stats.worker_deaths = pool.deaths
    if stage is not None and stage.tagger is not None:
        stats.add_timings(stage.tagger.timings)
        stats.patches, stats.batches = stage.tagger.patches_run, stage.tagger.batches_run
