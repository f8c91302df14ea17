"""Indexing: scan folders, analyse pending tracks in worker processes, commit each one.

The workers only compute (``analyze_track``); the calling process is the single writer and
commits every finished track in its own transaction, so killing the run at any moment loses at
most the tracks in flight, and the next run resumes with the tracks still ``pending``. A track
that fails (undecodable file, analyser error) is stored as ``error`` with its message and the
run goes on.

The analyser is pluggable: any picklable callable ``path -> dict`` returning (part of) the
``musicapp analyze --json`` object (``TrackAnalysis.to_dict()``). ``default_analyser`` runs the
one pipeline (:mod:`musicapp.pipeline`) on the same decoded samples as the fingerprint.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicapp.library import fingerprint as fp
from musicapp.library.store import ScanResult, Store

Analyser = Callable[[str], dict]
Progress = Callable[[int, int, str], None]


def default_analyser(path: str) -> dict:
    """``musicapp.pipeline.analyze_path(path)`` as the stored dict."""
    from musicapp.pipeline import analyze_path

    return analyze_path(path, progress=None).to_dict()


def _decode_once(path: str) -> tuple:
    """Decode once for both the pipeline (its rate) and the fingerprint (8 kHz)."""
    from musicapp.audio import load_audio, resample
    from musicapp.params import ANALYSIS
    from musicapp.pipeline import analyze_samples

    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    result = analyze_samples(audio.samples, audio.sample_rate, progress=None)
    result.path, result.format, result.warnings = str(path), audio.info.format, list(audio.warnings)
    analysis = result.to_dict()
    y8 = resample(audio.samples, audio.sample_rate, fp.SAMPLE_RATE)
    return fp.compute(y8), y8.size / fp.SAMPLE_RATE, analysis


def no_analyser(path: str) -> dict:
    """Analyser that computes nothing (fingerprints only)."""
    return {}


def analyze_track(path: str, analyser: Analyser | None = default_analyser) -> dict[str, Any]:
    """Compute everything stored for one track. Runs in a worker; never touches the database.

    Returns ``{"ok": True, "fingerprint": bytes, "n_hashes", "duration_s", "analysis"}`` or
    ``{"ok": False, "error": str}``.
    """
    try:
        if analyser is default_analyser:
            fingerprint, duration, analysis = _decode_once(path)
        else:
            fingerprint, duration = fp.fingerprint_file(path)
            analysis = analyser(path) if analyser is not None else {}
        return {
            "ok": True,
            "fingerprint": fingerprint.pack(),
            "n_hashes": len(fingerprint),
            "duration_s": float(duration),
            "analysis": analysis or {},
        }
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, (OSError, ValueError)) and "AudioDecodeError" not in type(exc).__name__:
            message = f"{type(exc).__name__}: {message}"
        return {"ok": False, "error": message, "trace": traceback.format_exc(limit=3)}


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

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "scan": self.scan.as_dict() if self.scan else None,
            "indexed": self.done,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
        }


class Indexer:
    """Scans folders and analyses pending tracks with a process pool (or in-process)."""

    def __init__(
        self,
        store: Store,
        *,
        analyser: Analyser | None = default_analyser,
        workers: int = 1,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.analyser = analyser
        self.workers = max(0, int(workers))
        self.progress = progress
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

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
        start = time.perf_counter()
        report = IndexReport()
        self.store.requeue_stale_fingerprints(fp.FINGERPRINT_VERSION)
        pending = [(t.id, t.path) for t in self.store.tracks("pending")]
        total = len(pending)

        def finished(track_id: int, path: str, result: dict[str, Any]) -> None:
            if commit_result(self.store, track_id, result):
                report.done += 1
            else:
                report.failed += 1
                report.errors[path] = result.get("error", "")
            if self.progress is not None:
                self.progress(report.done + report.failed, total, path)

        if self.workers == 0:
            for track_id, path in pending:
                if self._cancel.is_set():
                    break
                finished(track_id, path, analyze_track(path, self.analyser))
        else:
            self._run_pool(pending, finished)
        report.cancelled = self._cancel.is_set()
        report.seconds = time.perf_counter() - start
        return report

    def _run_pool(self, pending: list[tuple[int, str]], finished: Callable[[int, str, dict], None]) -> None:
        queue = list(reversed(pending))
        in_flight: dict[Future, tuple[int, str]] = {}
        with ProcessPoolExecutor(max_workers=self.workers) as pool:
            try:
                while queue or in_flight:
                    while queue and len(in_flight) < 2 * self.workers and not self.cancelled:
                        track_id, path = queue.pop()
                        in_flight[pool.submit(analyze_track, path, self.analyser)] = (
                            track_id,
                            path,
                        )
                    if not in_flight:
                        break
                    done, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        track_id, path = in_flight.pop(fut)
                        try:
                            result = fut.result()
                        except Exception as exc:  # worker died (e.g. out of memory)
                            result = {"ok": False, "error": f"worker failed: {exc}"}
                        finished(track_id, path, result)
            finally:
                for fut in in_flight:
                    fut.cancel()

    def start(self, root: str | Path | None = None) -> threading.Thread:
        """Run ``add(root)`` (or ``run()``) on a background thread; ``cancel`` stops it.

        The thread's report is available as ``self.report`` when it has finished.
        """

        def target() -> None:
            # SQLite connections belong to their thread: use a private one for the run.
            with Store(self.store.path) as own:
                worker = Indexer(own, analyser=self.analyser, workers=self.workers, progress=self.progress)
                worker._cancel = self._cancel
                self.report = worker.add(root) if root is not None else worker.run()

        self.report: IndexReport | None = None
        self._thread = threading.Thread(target=target, name="musicapp-indexer", daemon=True)
        self._thread.start()
        return self._thread
