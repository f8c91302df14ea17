"""Whole-track analysis: decode once, then the tagger (moods, valence/arousal, genre, hash code)
and the music analysis (key, tempo, beats, chords), each when it is installed and works.

The result is the ``musicapp analyze --json`` object. A part that fails (a tampered model file, a
missing GPU) is reported under ``errors`` and the other parts still run; only an unreadable file
raises.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp.errors import MusicappError
from musicapp.params import ANALYSIS, MEL

#: progress(fraction 0..1, stage name)
ProgressFn = Callable[[float, str], None]

_engines: dict[tuple[str, int | None], object] = {}
_engines_lock = threading.Lock()


def tagger_available() -> bool:
    """True when the tagger engine module is installed."""
    return importlib.util.find_spec("musicapp.models.engine") is not None


def music_analysis_available() -> bool:
    """True when the key/tempo/chord analysis package is installed."""
    return importlib.util.find_spec("musicapp.analysis") is not None


def get_engine(device: str = "auto", threads: int | None = None):
    """A cached tagger engine for ``device`` (models load once per process)."""
    from musicapp.models.engine import TaggerEngine

    key = (device, threads)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = TaggerEngine(device=device, threads=threads)
        return _engines[key]


def _report(progress: ProgressFn | None, fraction: float, stage: str) -> None:
    if progress is not None:
        progress(float(fraction), stage)


def analyze_samples(
    samples: np.ndarray,
    sample_rate: int,
    *,
    tags: bool = True,
    music: bool = True,
    device: str = "auto",
    threads: int | None = None,
    feature_maps: bool = False,
    progress: ProgressFn | None = None,
) -> dict:
    """Analyse mono float32 ``samples``; return the parts' fields plus ``errors`` (part -> message)."""
    from musicapp.audio import resample

    out: dict = {"duration_s": round(samples.shape[-1] / float(sample_rate), 3)}
    errors: dict[str, str] = {}
    if tags and tagger_available():
        _report(progress, 0.1, "tags")
        try:
            engine = get_engine(device, threads)
            y16 = resample(samples, sample_rate, MEL.sample_rate)
            result = engine.analyze(y16, feature_maps=feature_maps)
            fields = result.to_dict()
            fields.pop("duration_s", None)
            out.update(fields)
            if feature_maps:
                out["_feature_maps"] = getattr(result, "feature_maps", None)
        except (MusicappError, RuntimeError, ValueError) as exc:
            errors["tags"] = str(exc)
    if music and music_analysis_available():
        from musicapp.analysis import analyze_music

        def sub_progress(fraction: float, stage: str) -> None:
            _report(progress, 0.5 + 0.5 * fraction, stage)

        _report(progress, 0.5, "music")
        try:
            out.update(analyze_music(samples, sample_rate, progress=sub_progress).to_dict())
        except (MusicappError, RuntimeError, ValueError) as exc:
            errors["music"] = str(exc)
    if errors:
        out["errors"] = errors
    _report(progress, 1.0, "done")
    return out


def analyze_path(
    path: str | Path,
    *,
    tags: bool = True,
    music: bool = True,
    device: str = "auto",
    threads: int | None = None,
    feature_maps: bool = False,
    progress: ProgressFn | None = None,
) -> dict:
    """Decode ``path`` once and analyse it; the ``analyze --json`` object.

    Raises:
        AudioDecodeError: the file cannot be decoded at all.
    """
    from musicapp.audio import load_audio

    _report(progress, 0.0, "decode")
    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    result = {"path": str(Path(path)), "format": audio.info.format}
    result.update(
        analyze_samples(
            audio.samples,
            audio.sample_rate,
            tags=tags,
            music=music,
            device=device,
            threads=threads,
            feature_maps=feature_maps,
            progress=progress,
        )
    )
    if audio.warnings:
        result["warnings"] = list(audio.warnings)
    return result
