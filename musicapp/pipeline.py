"""Whole-track analysis: decode once, then the tagger (moods, valence/arousal, genre, hash code)
and the music analysis (key, tempo, beats, chords); the result is a
:class:`~musicapp.track_analysis.TrackAnalysis`.

This is the one pipeline: the CLI's ``analyze``, the GUI's analysis worker and the library indexer
all call :func:`analyze_path` or :func:`analyze_samples`. A part that fails (a tampered model
file, an unavailable GPU) is recorded in ``TrackAnalysis.errors`` with its reason and logged with
its traceback; the other part still runs. Silence and clips too short to analyse give
``status`` "silence" / "too short" and no part runs. Only an undecodable file raises.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp.errors import MusicappError
from musicapp.params import ANALYSIS, MEL, SILENCE
from musicapp.track_analysis import OK, TOO_SHORT, TrackAnalysis
from musicapp.track_analysis import SILENCE as SILENT

#: progress(fraction 0..1, stage name)
ProgressFn = Callable[[float, str], None]

log = logging.getLogger(__name__)
_engines: dict[tuple[str, int | None], object] = {}
_engines_lock = threading.Lock()


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


def _describe(exc: Exception) -> str:
    """The user's message for a failed part: ours verbatim, a bug with its type and the log."""
    if isinstance(exc, MusicappError):
        return str(exc)
    from musicapp.logs import log_path

    return f"internal error ({type(exc).__name__}: {exc}); details in {log_path()}"


def loudest_window_dbfs(samples: np.ndarray, sample_rate: int,
                        window_s: float = SILENCE.window_s) -> float:
    """RMS level in dBFS of the loudest ``window_s`` window (windows overlap by half).

    Works in blocks of half a window, so a 3-hour file needs no more than a few megabytes here.
    """
    y = np.asarray(samples).reshape(-1)
    if y.size == 0:
        return float("-inf")
    win = max(2, min(y.size, int(round(window_s * sample_rate))))
    hop = win // 2
    n_blocks = -(-y.size // hop)
    energy = np.empty(n_blocks, dtype=np.float64)  # sum of squares of each half-window block
    chunk = hop * max(1, (1 << 22) // hop)  # ~4 M samples per step, whole blocks
    for start in range(0, y.size, chunk):
        part = np.asarray(y[start:start + chunk], dtype=np.float64)
        sq = np.square(part, out=part)
        first = start // hop
        sums = np.add.reduceat(sq, np.arange(0, sq.size, hop))
        energy[first:first + sums.size] = sums
    windows = energy[:-1] + energy[1:] if n_blocks > 1 else energy
    peak = float(np.max(windows)) / (2 * hop if n_blocks > 1 else y.size)
    return float(10.0 * np.log10(peak)) if peak > 0 else float("-inf")


def classify_level(samples: np.ndarray, sample_rate: int) -> tuple[str, float]:
    """(status, level_dbfs): "too short" under ``SILENCE.min_duration_s``, "silence" below
    ``SILENCE.threshold_dbfs``, else "ok"."""
    level = loudest_window_dbfs(samples, sample_rate)
    if samples.shape[-1] < SILENCE.min_duration_s * sample_rate:
        return TOO_SHORT, level
    if not np.isfinite(level) or level < SILENCE.threshold_dbfs:
        return SILENT, level
    return OK, level


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
) -> TrackAnalysis:
    """Analyse mono float32 ``samples`` at ``sample_rate``."""
    from musicapp.audio import resample

    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    status, level = classify_level(samples, sample_rate)
    result = TrackAnalysis(duration_s=samples.shape[-1] / float(sample_rate), status=status,
                           level_dbfs=level if np.isfinite(level) else None)
    if status != OK:
        _report(progress, 1.0, status)
        return result
    if tags:
        _report(progress, 0.1, "tags")
        try:
            engine = get_engine(device, threads)
            y16 = resample(samples, sample_rate, MEL.sample_rate)
            tagged = engine.analyze(y16, feature_maps=feature_maps)
            fields = tagged.to_dict()
            fields.pop("duration_s", None)
            maps = fields.pop("feature_maps", None)
            fields.pop("feature_map_seconds_per_column", None)
            result.tags = fields
            if feature_maps:
                result.feature_maps = {"maps": maps,
                                       "seconds_per_column": tagged.feature_map_seconds_per_column}
        except Exception as exc:  # one part failing must not lose the other: reported, logged
            log.exception("tagging failed")
            result.errors["tags"] = _describe(exc)
    if music:
        from musicapp.analysis import analyze_music

        def sub_progress(fraction: float, stage: str) -> None:
            _report(progress, 0.5 + 0.5 * fraction, stage)

        _report(progress, 0.5, "music")
        try:
            result.music = analyze_music(samples, sample_rate, progress=sub_progress).to_dict()
        except Exception as exc:
            log.exception("key/tempo/chord analysis failed")
            result.errors["music"] = _describe(exc)
    _report(progress, 1.0, "done")
    return result


def analyze_path(
    path: str | Path,
    *,
    tags: bool = True,
    music: bool = True,
    device: str = "auto",
    threads: int | None = None,
    feature_maps: bool = False,
    progress: ProgressFn | None = None,
) -> TrackAnalysis:
    """Decode ``path`` once and analyse it.

    Raises:
        AudioDecodeError: the file cannot be decoded at all.
    """
    from musicapp.audio import load_audio

    _report(progress, 0.0, "decode")
    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    result = analyze_samples(audio.samples, audio.sample_rate, tags=tags, music=music,
                             device=device, threads=threads, feature_maps=feature_maps,
                             progress=progress)
    result.path = str(Path(path))
    result.format = audio.info.format
    result.warnings = list(audio.warnings)
    return result
