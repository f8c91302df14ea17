"""Indexing: scan folders, analyse pending tracks with the pipelined batch path, commit each one.

The analysis runs in :func:`musicapp.batch.run_batch` (worker processes, one per core by
default; the tagger batched across tracks on a GPU); this process is the single writer and
commits every finished track in its own transaction as it arrives, so killing the run at any
moment loses at most the tracks in flight, and the next run resumes with the tracks still
``pending``. A track that fails (undecodable file, analyser error, a worker that died twice on
it) is stored as ``error`` with its message and the run goes on.

The analyser is pluggable: any picklable callable ``path -> dict`` returning (part of) the
``musicapp analyze --json`` object (``TrackAnalysis.to_dict()``). ``default_analyser`` selects
the one pipeline (:mod:`musicapp.pipeline`) on the same decoded samples as the fingerprint;
``no_analyser`` stores fingerprints only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicapp.batch.stages import TrackSpec, process_track, stored_form
from musicapp.library import fingerprint as fp
from musicapp.library.store import ScanResult, Store

Analyser = Callable[[str], dict]
Progress = Callable[[int, int, str], None]


def default_analyser(path: str) -> dict:
    """``musicapp.pipeline.analyze_path(path)`` as the stored dict.

    Passed to the indexer, it selects the batch path's own stages (one decode for the analysis
    and the fingerprint) rather than being called per file.
    """
    from musicapp.pipeline import analyze_path

    return analyze_path(path, progress=None).to_dict()


def no_analyser(path: str) -> dict:
    """Analyser that computes nothing (fingerprints only)."""
    return {}


def track_spec(analyser: Analyser | None, device: str = "auto") -> TrackSpec:
    """The batch path's :class:`~musicapp.batch.stages.TrackSpec` for a library analyser."""
    if analyser is default_analyser:
        return TrackSpec(device=device)
    return TrackSpec(analyser=analyser if analyser is not None else no_analyser, device=device)


def analyze_track(path: str, analyser: Analyser | None = default_analyser) -> dict[str, Any]:
    """Compute everything stored for one track (the batch path's worker stage, tagger included).
    Runs in a worker; never touches the database.

    Returns ``{"ok": True, "fingerprint": bytes, "n_hashes", "duration_s", "analysis"}`` or
    ``{"ok": False, "error": str}``.
    """
    return stored_form(process_track(path, track_spec(analyser)))


def commit_result(store: Store, track_id: int, result: dict[str, Any]) -> bool:
    """Write one worker result (ok or error) in its own transaction; True when ok."""
    if result.get("ok"):
        store.save_result(
            track_id,
            fingerprint=result["fingerprint"],
            n_hashes=result["n_hashes"],
            analysis=result["analysis"],
            duration_s=result["duration_s"],
            fingerprint_version=fp.FINGERPRINT_VERSION,
        )
        return True
    store.save_error(track_id, result.get("error", "unknown error"))
    return False


@dataclass
class IndexReport:
    """Outcome of an indexing run."""

    scan: ScanResult | None = None
    done: int = 0
    failed: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)
    #: per indexed file, what its decoding or analysis reported (truncated, damaged, ...)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "scan": self.scan.as_dict() if self.scan else None,
            "indexed": self.done,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "warnings": self.warnings,
        }


class Indexer:
    """Scans folders and analyses pending tracks with the batch path (or in-process).

    Args:
        store: the library database (this object's thread is the single writer).
        analyser: ``default_analyser`` (the full pipeline), ``no_analyser`` (fingerprints only)
            or any picklable ``path -> dict``.
        workers: worker processes (None: one per core; 0: in this process, one track after
            another).
        progress: ``progress(done, total, path)`` after each committed track.
        model: where the tagger runs: ``auto``, ``workers`` or ``parent`` (see
            :mod:`musicapp.batch.runner`).
        device: the tagger's device (``auto``, ``cpu``, ``cuda``, ...).
        batch_size: patches per forward pass of the batch path's model stage (None: its default).
    """

    def __init__(
        self,
        store: Store,
        *,
        analyser: Analyser | None = default_analyser,
        workers: int | None = None,
        progress: Progress | None = None,
        model: str = "auto",
        device: str = "auto",
        batch_size: int | None = None,
    ) -> None:
        self.store = store
        self.analyser = analyser
        self.workers = None if workers is None else max(0, int(workers))
        self.progress = progress
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_stats: Any = None

    def cancel(self) -> None:
        """Ask a running ``run`` to stop after the tracks in flight (they are committed)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel`` was called."""
        return self._cancel.is_set()

    def add(self, root: str | Path) -> IndexReport:
        """Scan ``root`` then index every pending track of the library."""
        scan = self.store.scan(root)
        report = self.run()
        report.scan = scan
        return report

    def run(self) -> IndexReport:
        """Analyse every ``pending`` track; each result is committed as soon as it arrives."""
        from musicapp.batch.runner import run_batch

        start = time.perf_counter()
        report = IndexReport()
        self.store.requeue_stale_fingerprints(fp.FINGERPRINT_VERSION)
        if self.analyser is default_analyser:  # tags of an older tagger version: recomputed
            from musicapp.models.engine import MODEL_VERSION

            self.store.requeue_stale_analyses(MODEL_VERSION)
        # Claimed (leased) for this run: a concurrent run on the same database skips them.
        pending = [(t.id, t.path) for t in self.store.claim_pending()]

        def finished(track_id: Any, path: str, result: dict[str, Any]) -> None:
            if commit_result(self.store, int(track_id), result):
                report.done += 1
                said = (result.get("analysis") or {}).get("warnings")
                if said:  # a truncated or damaged file is indexed, and the user told so
                    report.warnings[path] = [str(w) for w in said]
            else:
                report.failed += 1
                report.errors[path] = result.get("error", "")

        try:
            self.last_stats = run_batch(
                pending, finished, spec=track_spec(self.analyser, self.device), workers=self.workers,
                model=self.model, batch_size=self.batch_size, progress=self.progress,
                cancel=self._cancel)
        finally:
            self.store.release_claims()  # tracks not finished (cancel, error) go back to the pool
        report.cancelled = self._cancel.is_set()
        report.seconds = time.perf_counter() - start
        return report

    def start(self, root: str | Path | None = None) -> threading.Thread:
        """Run ``add(root)`` (or ``run()``) on a background thread; ``cancel`` stops it.

        The thread's report is available as ``self.report`` when it has finished.
        """

        def target() -> None:
            # SQLite connections belong to their thread: use a private one for the run.
            with Store(self.store.path) as own:
                worker = Indexer(own, analyser=self.analyser, workers=self.workers,
                                 progress=self.progress, model=self.model, device=self.device,
                                 batch_size=self.batch_size)
                worker._cancel = self._cancel
                self.report = worker.add(root) if root is not None else worker.run()
                self.last_stats = worker.last_stats

        self.report: IndexReport | None = None
        self._thread = threading.Thread(target=target, name="musicapp-indexer", daemon=True)
        self._thread.start()
        return self._thread
