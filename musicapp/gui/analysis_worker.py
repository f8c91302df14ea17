"""The long-lived analysis worker process the GUI keeps warm between tracks.

One ``python -m musicapp.gui.analysis_job --serve`` child is started on demand (when the first
file is opened or analysed). It imports torch, loads the models and warms the JIT cache once, so
every later track pays only for its own analysis. Cancelling kills the child and starts a fresh
one at once (it warms up while the user carries on). Memory stays bounded: after
``max_tracks`` analyses, or when the child reports a resident size above ``max_rss_mb``, it is
replaced by a fresh one before the next request.

The child's tracebacks come back with each error and are written to the log
(:mod:`musicapp.logs`); when the child dies without answering, the end of its stderr is logged.
This module never imports Qt.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from musicapp.errors import MusicappError

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]


class AnalysisError(MusicappError):
    """The analysis of a file failed; the message says why."""


class AnalysisCancelled(Exception):
    """The request was cancelled (the worker was killed and is being restarted)."""


class AnalysisWorker:
    """A warm child process that analyses one file at a time (thread-safe)."""

    def __init__(self, max_tracks: int = 25, max_rss_mb: float = 2000.0,
                 command: list[str] | None = None) -> None:
        self.max_tracks = int(max_tracks)
        self.max_rss_mb = float(max_rss_mb)
        self.command = command or [sys.executable, "-m", "musicapp.gui.analysis_job", "--serve"]
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] | None = None
        self._stderr = None
        self._lock = threading.Lock()  # one request at a time
        self._state = threading.Lock()  # guards _proc/_lines between threads
        self._next_id = 0
        self.tracks_done = 0
        self.last_rss_mb = 0.0
        #: where the last request's time went: ``round_trip`` (request sent to result parsed,
        #: here) and the child's ``decode`` and ``analysis`` seconds
        self.last_seconds: dict[str, float] = {}
        self.starts = 0
        self.pid: int | None = None

    # ---- process life ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while a child process is alive."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def start(self) -> None:
        """Start the child if it is not running (returns at once; it warms up on its own)."""
        with self._state:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._spawn()

    def _spawn(self) -> None:
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("MKL_NUM_THREADS", "1")
        self._stderr = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115  (lives with the child)
        proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=self._stderr, text=True, bufsize=1, env=env)
        lines: queue.Queue[str | None] = queue.Queue()

        def reader(stream=proc.stdout) -> None:
            assert stream is not None
            with contextlib.suppress(ValueError, OSError):
                for line in stream:
                    lines.put(line)
            lines.put(None)

        threading.Thread(target=reader, daemon=True, name="analysis-worker-reader").start()
        self._proc, self._lines = proc, lines
        self.pid = proc.pid
        self.tracks_done = 0
        self.starts += 1
        log.info("analysis worker started (pid %d)", proc.pid)

    def stop(self, timeout: float = 3.0) -> None:
        """End the child: close its input and wait, then kill it if it does not go."""
        with self._state:
            proc, self._proc, self._lines = self._proc, None, None
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Kill the child now (a cancelled analysis)."""
        with self._state:
            proc, self._proc, self._lines = self._proc, None, None
        if proc is not None:
            proc.kill()
            proc.wait()
            log.info("analysis worker %d killed", proc.pid)

    def restart(self) -> None:
        """Kill the child and start a fresh one (warming up in the background)."""
        self.kill()
        self.start()

    def _stderr_tail(self, n: int = 2000) -> str:
        f = self._stderr
        if f is None:
            return ""
        try:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    # ---- requests -------------------------------------------------------------------------
    def analyze(self, path: str, progress: ProgressFn | None = None,
                cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Analyse ``path`` in the child; the :class:`TrackAnalysis` dict.

        Raises:
            AnalysisCancelled: ``cancelled()`` became true (the child was killed and restarted).
            AnalysisError: the analysis failed, or the child died (its stderr is logged).
        """
        with self._lock:
            self.start()
            proc, lines = self._proc, self._lines
            assert proc is not None and lines is not None and proc.stdin is not None
            self._next_id += 1
            rid = self._next_id
            sent = time.perf_counter()
            try:
                proc.stdin.write(json.dumps({"id": rid, "path": str(path)}) + "\n")
                proc.stdin.flush()
            except (OSError, ValueError):
                pass  # it died: the reader's end-of-stream says so below
            while True:
                if cancelled is not None and cancelled():
                    self.restart()
                    raise AnalysisCancelled()
                try:
                    line = lines.get(timeout=0.05)
                except queue.Empty:
                    continue
                if line is None:
                    proc.wait()
                    tail = self._stderr_tail()
                    log.error("analysis worker %d ended (exit code %s) while analysing %s; "
                              "its last output:\n%s", proc.pid, proc.returncode, path, tail)
                    with self._state:
                        if self._proc is proc:
                            self._proc, self._lines = None, None
                    last = tail.splitlines()[-1] if tail else ""
                    raise AnalysisError(f"the analysis stopped (exit code {proc.returncode})"
                                        + (f": {last}" if last else ""))
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "ready" in msg:
                    if not msg.get("ready"):
                        log.error("analysis worker warm-up failed: %s", msg.get("error"))
                    continue
                if msg.get("id") != rid:
                    continue
                if "progress" in msg:
                    if progress is not None:
                        try:
                            progress(float(msg["progress"]), str(msg.get("message", "")))
                        except BaseException:  # the caller cancelled from its progress hook
                            self.restart()
                            raise
                elif "error" in msg:
                    log.error("analysis of %s failed in the worker: %s\n%s", path,
                              msg["error"], msg.get("traceback", ""))
                    self._after_request(msg)
                    raise AnalysisError(str(msg["error"]))
                elif "result" in msg:
                    self.last_seconds = {"round_trip": time.perf_counter() - sent,
                                         **dict(msg.get("seconds") or {})}
                    self._after_request(msg)
                    return msg["result"]

    def _after_request(self, msg: dict) -> None:
        self.tracks_done += 1
        self.last_rss_mb = float(msg.get("rss_mb") or 0.0)
        if self.tracks_done >= self.max_tracks or self.last_rss_mb > self.max_rss_mb:
            log.info("analysis worker replaced after %d tracks (%.0f MB resident)",
                     self.tracks_done, self.last_rss_mb)
            self.stop()
            self.start()
