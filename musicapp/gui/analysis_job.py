"""Run the full analysis of one file, in a child process or in the calling thread.

The GUI runs ``python -m musicapp.gui.analysis_job FILE``: the child imports torch and the
models, reports progress as JSON lines on stdout (``{"progress": f, "message": m}``), and ends
with ``{"result": {...}}`` or ``{"error": "..."}``. A separate process keeps the GUI's event loop
free of the models' CPU work (and of the GIL) and makes cancelling instant. This module never
imports Qt.

Each part that exists runs (the tagger, the music analysis); when one fails half-way the others
still give their results and the failure is listed under ``"errors"``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from musicapp.params import MEL

ProgressFn = Callable[[float, str], None]


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _to_dict(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


def _progress_adapter(progress: ProgressFn, lo: float, hi: float, label: str):
    """A callback for core functions whatever their progress signature is."""

    def cb(*args: Any, **kwargs: Any) -> None:
        frac, msg = None, label
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, bool):
                continue
            if isinstance(a, int | float) and frac is None:
                frac = float(a)
            elif isinstance(a, str):
                msg = f"{label}: {a}" if a and a != label else label
        frac = 0.0 if frac is None else (frac / 100.0 if frac > 1.0 else frac)
        progress(lo + (hi - lo) * max(0.0, min(1.0, frac)), msg)

    return cb


def run_analysis(path: str, progress: ProgressFn | None = None, device: str = "auto") -> dict:
    """Analyse ``path`` with every installed part; returns a JSON-ready dict.

    Raises :class:`musicapp.errors.AudioDecodeError` when the file cannot be decoded (nothing
    else can run then). Failures of individual parts are collected in ``result["errors"]``.
    """
    progress = progress or (lambda f, m: None)
    has_tagger = _exists("musicapp.models.engine")
    has_music = _exists("musicapp.analysis") and _music_fn() is not None
    result: dict[str, Any] = {"file": os.path.abspath(path), "errors": []}

    if not has_tagger and not has_music and _exists("musicapp.pipeline"):
        from musicapp.pipeline import analyze_path

        progress(0.02, "analysing")
        out = analyze_path(path, progress=_progress_adapter(progress, 0.02, 0.98, "analysing"))
        result.update(_to_dict(out))
        progress(1.0, "done")
        return result

    from musicapp.audio import load_audio, resample

    progress(0.02, "decoding")
    audio = load_audio(path, sr=None, mono=True)
    result["duration_s"] = float(audio.duration_s)
    y16 = resample(audio.samples, int(audio.sample_rate), MEL.sample_rate)
    progress(0.08, "decoded")
    split = 0.55 if has_tagger and has_music else (0.98 if has_tagger else 0.1)
    if has_tagger:
        progress(0.1, "mood and genre tagging")
        try:
            from musicapp.models.engine import TaggerEngine

            engine = TaggerEngine(device=device)
            tags = engine.analyze(y16, feature_maps=False)
            result["tags"] = _to_dict(tags)
        except Exception as exc:
            result["errors"].append(f"mood tagging failed: {type(exc).__name__}: {exc}")
        progress(split, "tagging done")
    if has_music:
        progress(split, "key, tempo, beats and chords")
        cb = _progress_adapter(progress, split, 0.98, "key, tempo, beats and chords")
        try:
            fn = _music_fn()
            try:
                music = fn(audio.samples, int(audio.sample_rate), progress=cb)
            except TypeError:
                music = fn(audio.samples, int(audio.sample_rate))
            result["music"] = _to_dict(music)
        except Exception as exc:
            result["errors"].append(f"key/tempo/chord analysis failed: {type(exc).__name__}: "
                                    f"{exc}")
    if not has_tagger and not has_music:
        result["errors"].append("no analysis parts are installed (tagger, analysis)")
    progress(1.0, "done")
    return result


def _music_fn():
    try:
        mod = importlib.import_module("musicapp.analysis")
    except ImportError:
        return None
    return getattr(mod, "analyze_music", None)


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
