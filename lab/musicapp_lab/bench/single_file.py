"""The single-file path as a reference for ``musicapp bench batch``.

``musicapp analyze FILE`` and the GUI analyse one track at a time on every usable core: the
tagger and the key/tempo/chord analysis run concurrently (``musicapp.pipeline.analyze_samples``
with ``cores=None``). Indexing a folder by calling that path once per file, one file after
another, is the fastest thing a user could do without the batch path, so the batch path's
speed-up is also reported against it (not only against the one-core serial indexer).

Per track, exactly what the batch path's worker stage computes: one decode at the analysis
rate, the full analysis, and the landmark fingerprint from the same samples. Nothing is written
to a database (the database writer costs well under 1 % of a track here), so this reference is,
if anything, slightly flattered.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def single_file_once(paths: list[Path]) -> dict[str, Any]:
    """Analyse and fingerprint ``paths`` one after another on all cores; figures of the run."""
    import resource

    from musicapp.audio import load_audio
    from musicapp.library import fingerprint as fp
    from musicapp.params import ANALYSIS
    from musicapp.pipeline import analyze_samples

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime

    if paths:  # load the models before the clock starts (the serial indexer's are loaded too)
        first = load_audio(paths[0], sr=ANALYSIS.sample_rate, mono=True)
        analyze_samples(first.samples[: 10 * first.sample_rate], first.sample_rate, cores=None)
    done, failed, audio_s = 0, 0, 0.0
    cpu0, t0 = cpu(), time.perf_counter()
    for path in paths:
        try:
            audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
            track = analyze_samples(audio.samples, audio.sample_rate, cores=None,
                                    damaged_share=audio.damaged_share)
            fp.compute_resampled(audio.samples, audio.sample_rate)
        except Exception:  # a failed track counts as failed, as the indexer's do
            failed += 1
            continue
        done += 1
        audio_s += float(track.duration_s)
    seconds = time.perf_counter() - t0
    used = cpu() - cpu0
    return {
        "tracks": done, "failed": failed, "seconds": seconds,
        "tracks_per_min": 60.0 * done / seconds if seconds > 0 else 0.0,
        "audio_min_per_s": audio_s / 60.0 / seconds if seconds > 0 else 0.0,
        "cpu_s_per_track": used / max(1, done), "cores_used": used / seconds if seconds else 0.0,
    }
