"""Task functions that run the analysis off the GUI thread (child process by default)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading

from musicapp.errors import MusicappError
from musicapp.gui.analysis_job import run_analysis
from musicapp.gui.workers import CancelledError, TaskContext


class AnalysisError(MusicappError):
    """The analysis of a file failed; the message says why."""


def analyze_task(ctx: TaskContext, path: str, isolate: bool = True) -> dict:
    """Analyse ``path``; progress and cancellation go through ``ctx``.

    With ``isolate`` the work runs in ``python -m musicapp.gui.analysis_job`` so that the models
    never compete with the GUI thread for the interpreter lock; cancelling kills the child.
    """
    if not isolate or getattr(sys, "frozen", False):
        # a frozen (PyInstaller) build has no ``python -m``: analyse in this worker thread
        return run_analysis(path, progress=ctx.progress)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    with tempfile.TemporaryFile(mode="w+") as errlog:
        proc = subprocess.Popen(
            [sys.executable, "-m", "musicapp.gui.analysis_job", path],
            stdout=subprocess.PIPE, stderr=errlog, stdin=subprocess.DEVNULL, text=True, env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=reader, daemon=True, name="analysis-reader").start()
        result = None
        error = None
        try:
            while True:
                if ctx.cancelled:
                    raise CancelledError()
                try:
                    line = lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if line is None:
                    break
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "progress" in msg:
                    ctx.progress(float(msg["progress"]), str(msg.get("message", "")))
                elif "result" in msg:
                    result = msg["result"]
                elif "error" in msg:
                    error = str(msg["error"])
        except CancelledError:
            proc.kill()
            proc.wait()
            raise
        proc.wait()
        if error is not None:
            raise AnalysisError(error)
        if result is None:
            errlog.seek(0)
            tail = errlog.read()[-800:].strip()
            raise AnalysisError(
                f"analysis of {path} stopped (exit code {proc.returncode})"
                + (f": {tail.splitlines()[-1]}" if tail else "")
            )
        return result
