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


def spare_core() -> bool:
    """True when a second core is idle enough to run the two parts side by side."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return cores >= 2
    return cores >= 2 and load < cores - 0.5


def run_analysis(path: str, progress: ProgressFn | None = None, device: str = "auto",
                 parallel: bool | None = None) -> dict:
    """Analyse ``path`` with the one pipeline (:mod:`musicapp.pipeline`); the
    :class:`~musicapp.track_analysis.TrackAnalysis` as its JSON dict.

    The file is decoded once. With ``parallel`` the tagger and the music analysis run at the
    same time in two threads (both spend their time in native code that releases the GIL, so
    on two idle cores the wall time is about the longer of the two rather than their sum); the
    result is the same as :func:`musicapp.pipeline.analyze_path`'s. ``None`` decides by the
    machine's load (:func:`spare_core`): on a busy machine the second thread only competes.

    Raises :class:`musicapp.errors.AudioDecodeError` when the file cannot be decoded. Failures of
    individual parts are in ``result["errors"]`` (part -> message).
    """
    from pathlib import Path

    from musicapp.pipeline import analyze_path

    if parallel is None:
        parallel = spare_core()
    if not parallel:
        return analyze_path(path, device=device, progress=progress).to_dict()
    import threading

    from musicapp.audio import load_audio
    from musicapp.params import ANALYSIS
    from musicapp.pipeline import analyze_samples

    report = progress or (lambda _f, _m: None)
    report(0.0, "decode")
    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    done = {"tags": 0.0, "music": 0.0}
    lock = threading.Lock()

    def part_progress(part: str):
        def hook(fraction: float, stage: str) -> None:
            with lock:
                done[part] = fraction
                total = 0.05 + 0.95 * (done["tags"] + done["music"]) / 2
            report(min(total, 0.99), stage)
        return hook

    out: dict = {}

    def run_tags() -> None:
        try:
            out["tags"] = analyze_samples(audio.samples, audio.sample_rate, tags=True,
                                          music=False, device=device,
                                          progress=part_progress("tags"))
        except BaseException as exc:  # re-raised in the caller's thread
            out["tags_exc"] = exc

    thread = threading.Thread(target=run_tags, name="analysis-tags")
    thread.start()
    music = analyze_samples(audio.samples, audio.sample_rate, tags=False, music=True,
                            device=device, progress=part_progress("music"))
    thread.join()
    if "tags_exc" in out:
        raise out["tags_exc"]
    result = out["tags"]
    result.music = music.music
    result.errors.update(music.errors)
    result.path = str(Path(path))
    result.format = audio.info.format
    result.warnings = list(audio.warnings)
    report(1.0, "done")
    return result.to_dict()


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
    """Import the pipeline and load the models once, before the first request."""
    from musicapp.pipeline import get_engine

    get_engine()
    import musicapp.analysis  # noqa: F401  (librosa and the JIT cache)


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
        try:
            result = run_analysis(
                path, lambda f, m, r=rid: send({"id": r, "progress": f, "message": m}))
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
        send({"id": rid, "result": result, "rss_mb": rss_mb()})
    return 0


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
