"""Run the full analysis of one file, in a child process or in the calling thread.

The GUI runs ``python -m musicapp.gui.analysis_job FILE``: the child imports torch and the
models, reports progress as JSON lines on stdout (``{"progress": f, "message": m}``), and ends
with ``{"result": {...}}`` or ``{"error": "..."}``. A separate process keeps the GUI's event loop
free of the models' CPU work (and of the GIL) and makes cancelling instant. This module never
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
from typing import Any

ProgressFn = Callable[[float, str], None]


def run_analysis(path: str, progress: ProgressFn | None = None, device: str = "auto") -> dict:
    """Analyse ``path`` with :func:`musicapp.pipeline.analyze_path`; the
    :class:`~musicapp.track_analysis.TrackAnalysis` as its JSON dict.

    Raises :class:`musicapp.errors.AudioDecodeError` when the file cannot be decoded. Failures of
    individual parts are in ``result["errors"]`` (part -> message).
    """
    from musicapp.pipeline import analyze_path

    return analyze_path(path, device=device, progress=progress).to_dict()


def main(argv: list[str] | None = None) -> int:
    """Child-process entry point: analyse one file and stream JSON lines."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: python -m musicapp.gui.analysis_job FILE [DEVICE]", file=sys.stderr)
        return 2
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the libraries print goes to stderr, not into the protocol
    sys.stdout = sys.stderr
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(5)  # the GUI stays ahead of the analysis on a busy machine

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj, default=_json_default) + "\n")
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


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
    except ImportError:
        pass
    return str(obj)


if __name__ == "__main__":
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
