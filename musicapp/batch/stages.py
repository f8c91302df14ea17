"""The per-track stages of the batch path: what a worker computes, and how a result is finished.

:func:`process_track` is the CPU stage run in a worker process (or in-process): decode once at the
analysis rate, then the one pipeline's :func:`musicapp.pipeline.analyze_samples` (key, tempo,
beats, chords, and the tagger when it runs in the worker), and the landmark fingerprint from the
same samples. When the tagger runs in a separate model stage (:mod:`musicapp.batch.tagging`), the
worker sends the 16 kHz samples along instead and the model stage fills in the tags with
:func:`apply_tags`. Either way the result equals the serial path's (tested in
``tests/test_batch.py``).

A result is a small picklable dict; :func:`stored_form` turns it into the form the library stores
(``{"ok", "fingerprint", "n_hashes", "duration_s", "analysis"}`` or ``{"ok": False, "error"}``).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackSpec:
    """What to compute for every track of a batch (picklable; sent to the workers).

    Attributes:
        tags: run the tagger (moods, valence/arousal, genres, hash code, embedding).
        music: run key/tempo/beats/chords.
        fingerprint: compute the landmark fingerprint (the library needs it; ``analyze`` does not).
        device: the tagger's device (``auto``, ``cpu``, ``cuda``, ...).
        threads: torch CPU threads of the tagger (None: the engine's choice).
        tags_in_worker: the worker runs the tagger itself; False: it returns 16 kHz samples for
            the model stage.
        analyser: a custom picklable ``path -> dict`` analyser used instead of the pipeline (the
            library's pluggable analyser); the fingerprint is then decoded separately.
    """

    tags: bool = True
    music: bool = True
    fingerprint: bool = True
    device: str = "auto"
    threads: int | None = None
    tags_in_worker: bool = True
    analyser: Callable[[str], dict] | None = None


def error_message(exc: BaseException) -> str:
    """The message stored for a failed track (decode errors as they are, others with their type)."""
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, (OSError, ValueError)) and "AudioDecodeError" not in type(exc).__name__:
        message = f"{type(exc).__name__}: {message}"
    return message


def _custom(path: str, spec: TrackSpec) -> dict[str, Any]:
    from musicapp.library import fingerprint as fp

    fingerprint, duration, notes = (fp.fingerprint_file_checked(path) if spec.fingerprint
                                    else (None, 0.0, {}))
    analysis = spec.analyser(path) if spec.analyser is not None else {}
    analysis = fp.with_decoder_notes(analysis or {}, notes)  # truncated/damaged, as a full add
    return {
        "ok": True,
        "fingerprint": fingerprint.pack() if fingerprint is not None else None,
        "n_hashes": len(fingerprint) if fingerprint is not None else 0,
        "duration_s": float(duration),
        "analysis": analysis or {},
    }


def _pipeline(path: str, spec: TrackSpec) -> dict[str, Any]:
    from musicapp.audio import load_audio, resample
    from musicapp.params import ANALYSIS, MEL
    from musicapp.pipeline import analyze_samples
    from musicapp.track_analysis import OK

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        clock = now

    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    lap("decode")
    in_worker = spec.tags and spec.tags_in_worker
    track = analyze_samples(audio.samples, audio.sample_rate, tags=in_worker, music=spec.music,
                            device=spec.device, threads=spec.threads,
                            damaged_share=audio.damaged_share)
    lap("analysis (tagger too)" if in_worker else "key/tempo/beats/chords")
    # the decoder's warnings first, as analyze_path (the analysis' own, e.g. "damaged", after)
    track.path, track.format = str(path), audio.info.format
    track.warnings = [*audio.warnings, *track.warnings]
    out: dict[str, Any] = {"ok": True, "track": track, "fingerprint": None, "n_hashes": 0,
                           "duration_s": float(track.duration_s), "y16": None,
                           "timings": timings}
    if spec.tags and not in_worker and track.status == OK:
        out["y16"] = resample(audio.samples, audio.sample_rate, MEL.sample_rate)
        lap("resample for the tagger")
    if spec.fingerprint:
        from musicapp.library import fingerprint as fp

        # resampled to 8 kHz and fingerprinted block by block (bounded memory, same result)
        fingerprint, seconds = fp.compute_resampled(audio.samples, audio.sample_rate)
        out["fingerprint"], out["n_hashes"] = fingerprint.pack(), len(fingerprint)
        out["duration_s"] = seconds
        lap("fingerprint")
    return out


def process_track(path: str, spec: TrackSpec) -> dict[str, Any]:
    """The CPU stage for one track; never raises (a failure is ``{"ok": False, "error": ...}``).

    Returns ``{"ok": True, "fingerprint": bytes | None, "n_hashes", "duration_s"}`` plus either
    ``"analysis"`` (a custom analyser's dict) or ``"track"`` (a
    :class:`~musicapp.track_analysis.TrackAnalysis`), ``"y16"`` (16 kHz samples still to be
    tagged by the model stage, else None) and ``"timings"`` (wall seconds per stage in this
    worker: decode, analysis, resampling, fingerprint).
    """
    try:
        if spec.analyser is not None:
            return _custom(path, spec)
        return _pipeline(path, spec)
    except Exception as exc:
        return {"ok": False, "error": error_message(exc), "trace": traceback.format_exc(limit=3)}


def apply_tags(track: Any, tagged: Any) -> None:
    """Put a :class:`~musicapp.models.engine.TaggerResult` into ``track`` as the pipeline does."""
    track.tags = tagged.tag_fields()  # as the pipeline's _store_tags
    from musicapp.models.no_music import withhold_moods_without_music
    from musicapp.models.va_fusion import apply_fusion  # as the pipeline does, both parts in

    withhold_moods_without_music(track)
    apply_fusion(track)


def tag_failed(track: Any, message: str) -> None:
    """Record that the tagger part failed for ``track`` (as the pipeline does)."""
    track.errors["tags"] = message


def stored_form(result: dict[str, Any]) -> dict[str, Any]:
    """The library's form of a finished result (drops the samples, flattens the analysis)."""
    if not result.get("ok"):
        return {"ok": False, "error": result.get("error", "unknown error")}
    track = result.get("track")
    analysis = track.to_dict() if track is not None else result.get("analysis") or {}
    return {
        "ok": True,
        "fingerprint": result.get("fingerprint"),
        "n_hashes": int(result.get("n_hashes") or 0),
        "duration_s": float(result.get("duration_s") or 0.0),
        "analysis": analysis,
    }
