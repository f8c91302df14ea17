"""Run the full analysis of one file, in a child process or in the calling thread.

The GUI keeps one long-lived ``python -m musicapp.gui.analysis_job --serve`` process (see
:mod:`musicapp.gui.analysis_worker`): it imports torch and loads the models once, then analyses
one file per request line and answers with JSON lines (``{"id", "progress", "message"}``, then
``{"id", "result"}`` or ``{"id", "error", "traceback"}``). ``python -m musicapp.gui.analysis_job
FILE`` analyses a single file the same way. A separate process keeps the GUI's event loop free
of the models' CPU work (and of the GIL) and makes cancelling instant. This module never
imports Qt.

The result is the one :class:`~musicapp.track_analysis.TrackAnalysis` of the pipeline (the same
as ``musicapp analyze --json``); a part that fails is listed under ``"errors"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable

from musicapp.track_analysis import json_default

ProgressFn = Callable[[float, str], None]


def run_analysis(path: str, progress: ProgressFn | None = None, device: str = "auto",
                 cores: int | None = None) -> dict:
    """Analyse ``path`` with the one pipeline (:func:`musicapp.pipeline.analyze_path`); the
    :class:`~musicapp.track_analysis.TrackAnalysis` as its JSON dict.

    The file is decoded once; the tagger and the music analysis share ``cores`` cores (None:
    every usable core; work sharing, so a busy machine costs no more than the one-core path),
    and the result is the same as on one core.

    Raises :class:`musicapp.errors.AudioDecodeError` when the file cannot be decoded. Failures of
    individual parts are in ``result["errors"]`` (part -> message).
    """
    from musicapp.pipeline import analyze_path

    return analyze_path(path, device=device, progress=progress, cores=cores).to_dict()


def _protocol_stream():
    """The real stdout for the protocol; anything the libraries print goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(5)  # the GUI stays ahead of the analysis on a busy machine
    return proto


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux: now; elsewhere: the peak so far)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1e6 if sys.platform == "darwin" else 1e3)
    except (ImportError, OSError):
        return 0.0


def warm_up() -> None:
    """Everything the first request would otherwise pay for, done before it arrives: import the
    pipeline, load the models, and analyse a short generated clip on the concurrent path, so
    numba's cached kernels are loaded, the tagger threads' OpenMP teams and oneDNN's primitives
    (full and final partial batches) exist and FFT plans are made."""
    import numpy as np

    from musicapp.params import ANALYSIS
    from musicapp.pipeline import analyze_samples, get_engine

    get_engine()
    sr = ANALYSIS.sample_rate
    t = np.arange(int(7.5 * sr), dtype=np.float64) / sr  # 3 patches: a full and a partial batch
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    pulse = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(np.float64)  # something to track beats on
    y = (0.2 * chord * (0.6 + 0.4 * pulse)).astype(np.float32)
    analyze_samples(y, sr, cores=None)


def serve(stdin=None) -> int:
    """Long-lived worker: one JSON request per line on stdin (``{"id", "path"}``), JSON lines
    back (``progress``, then ``result`` or ``error`` with the same ``id``); ends at EOF.

    Every failure is logged with its traceback (:mod:`musicapp.logs`) and its message and
    traceback are sent back too, so the GUI's log has them even if this process dies later.
    """
    import logging
    import traceback

    from musicapp.logs import setup_logging

    setup_logging()
    log = logging.getLogger("musicapp.gui.analysis_worker")
    proto = _protocol_stream()

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj, default=json_default) + "\n")
        proto.flush()

    try:
        warm_up()
        send({"ready": True, "pid": os.getpid(), "rss_mb": rss_mb()})
    except Exception as exc:  # the requests will say what is missing
        log.exception("analysis worker warm-up failed")
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
    for line in stdin or sys.stdin:
        try:
            req = json.loads(line)
            rid, path = req["id"], str(req["path"])
        except (ValueError, KeyError, TypeError):
            log.error("bad request to the analysis worker: %r", line[:200])
            continue
        clock = _StageClock(lambda f, m, r=rid: send({"id": r, "progress": f, "message": m}))
        try:
            result = run_analysis(path, clock.progress)
        except Exception as exc:
            from musicapp.errors import MusicappError

            if isinstance(exc, MusicappError):
                log.info("analysis of %s refused: %s", path, exc)
                msg = str(exc)
            else:
                log.exception("analysis of %s failed", path)
                msg = f"{type(exc).__name__}: {exc}"
            send({"id": rid, "error": msg, "traceback": traceback.format_exc()})
            continue
        send({"id": rid, "result": result, "rss_mb": rss_mb(), "seconds": clock.seconds()})
    return 0


class _StageClock:
    """Passes progress on and notes when decoding ended, for the ``seconds`` of a result
    (``decode``, ``analysis``: where a request's time went, read by ``musicapp bench gui``)."""

    def __init__(self, progress: ProgressFn) -> None:
        import time

        self._now = time.perf_counter
        self._progress = progress
        self.start = self._now()
        self.decoded: float | None = None

    def progress(self, fraction: float, message: str) -> None:
        """The pipeline's progress hook."""
        if self.decoded is None and message != "decode":
            self.decoded = self._now()
        self._progress(fraction, message)

    def seconds(self) -> dict[str, float]:
        """Seconds spent decoding and analysing so far."""
        end = self._now()
        decoded = self.decoded if self.decoded is not None else end
        return {"decode": round(decoded - self.start, 4), "analysis": round(end - decoded, 4)}


def main(argv: list[str] | None = None) -> int:
    """Child-process entry point: ``--serve`` (long-lived worker) or analyse one FILE."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        return serve()
    if not argv:
        print("usage: python -m musicapp.gui.analysis_job (--serve | FILE [DEVICE])",
              file=sys.stderr)
        return 2
    proto = _protocol_stream()

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj, default=json_default) + "\n")
        proto.flush()

    try:
        result = run_analysis(argv[0], lambda f, m: send({"progress": f, "message": m}),
                              device=argv[1] if len(argv) > 1 else "auto")
    except Exception as exc:
        from musicapp.errors import MusicappError

        msg = str(exc) if isinstance(exc, MusicappError) else f"{type(exc).__name__}: {exc}"
        send({"error": msg})
        return 1
    send({"result": result})
    return 0




if __name__ == "__main__":
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
