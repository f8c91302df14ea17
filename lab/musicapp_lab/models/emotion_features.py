"""Cache the app's own analyses of the allowed Debian soundtracks for the valence/arousal fusion.

For every track of the eight packages (:data:`musicapp_lab.models.dataset.SPLITS`) this runs the
product pipeline (:func:`musicapp.pipeline.analyze_samples`: tagger + key/tempo/chord analysis)
on up to :data:`WINDOWS` excerpts of :data:`WINDOW_S` seconds (at 30 % and 70 % of the
track; a short track is analysed whole) and stores each analysis' flat JSON (without hashes and
feature maps) under ``data/va_fusion/analyses/``. The fusion model
(:mod:`musicapp.models.va_fusion`) is trained and evaluated on these, so its inputs are exactly
what the app computes at run time. Resumable: existing files are kept.

    nice -n 5 .venv/bin/python -m musicapp_lab.models.emotion_features
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp_lab.models.dataset import DEFAULT_CACHE, REPO, discover_tracks

#: Cache folder name per tagger version (``musicapp.models.engine.MODEL_VERSION``): version 1's
#: analyses (absolute-level tagger input) stay under ``analyses`` for the before/after figures;
#: version 2 (level-normalised input) re-tagged them (``emotion_level retag``) into ``analyses_v2``.
ANALYSES_NAME = "analyses_v2"
OUT = REPO / "data" / "va_fusion" / ANALYSES_NAME
WINDOW_S = 40.0
WINDOWS = (0.3, 0.7)
#: Fields kept from an analysis (the others are large and unused by the fusion).
DROP = ("beats", "downbeats", "tempo_curve", "key_timeline_detail")


def windows(duration: float) -> list[tuple[float, float]]:
    """(offset, length) of the excerpts of a track of ``duration`` seconds."""
    if duration <= WINDOW_S * len(WINDOWS):
        return [(0.0, duration)]
    return [(max(0.0, min(duration - WINDOW_S, f * duration - WINDOW_S / 2)), WINDOW_S)
            for f in WINDOWS]


def slim(d: dict) -> dict:
    """The analysis dict without per-segment hashes and the bulky fields."""
    out = {k: v for k, v in d.items() if k not in DROP}
    out["n_beats"] = len(d.get("beats") or [])
    out["segments"] = [{k: v for k, v in s.items() if k != "hash"}
                       for s in d.get("segments") or []]
    return out


def analyse_windows(path: str, package: str, key: str, split: str,
                    out: Path) -> tuple[int, float]:
    """Analyse the evaluation windows of one track (:func:`windows`) into
    ``out/PACKAGE_KEY_W.json`` (slim form, written atomically; windows already there are
    skipped). Returns (new files, track duration in seconds)."""
    from musicapp.audio import load_audio
    from musicapp.params import ANALYSIS
    from musicapp.pipeline import analyze_samples
    from musicapp.track_analysis import json_default

    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    y, sr = audio.samples, audio.sample_rate
    dur = y.shape[-1] / sr
    new = 0
    for w, (off, length) in enumerate(windows(dur)):
        dest = out / f"{package}_{key}_{w}.json"
        if dest.exists():
            continue
        res = analyze_samples(y[int(off * sr): int((off + length) * sr)], sr, device="cpu",
                              threads=1)
        d = slim(res.to_dict())
        d.update({"track_path": path, "package": package, "track_key": key, "split": split,
                  "window": w, "offset_s": off, "track_duration_s": dur})
        tmp = dest.with_suffix(".tmp")
        tmp.write_text(json.dumps(d, default=json_default))
        os.replace(tmp, dest)
        new += 1
    return new, dur


def run(out: Path = OUT, log: Callable[[str], None] = print, only: str | None = None) -> int:
    """Analyse every track's excerpts not cached yet; returns the number of new files."""

    out.mkdir(parents=True, exist_ok=True)
    new = 0
    t0 = time.time()
    tracks = discover_tracks(cache=DEFAULT_CACHE)
    for n, t in enumerate(tracks):
        if only and t.package != only:
            continue
        added, dur = analyse_windows(t.path, t.package, t.key, t.split, out)
        new += added
        log(f"{n + 1}/{len(tracks)} {t.package} {Path(t.path).name} {dur:.0f}s "
            f"({time.time() - t0:.0f} s)")
    return new


def load_all(out: Path = OUT) -> list[dict]:
    """Every cached analysis (sorted by file name)."""
    return [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    np.seterr(all="ignore")
    print(f"{run(only=sys.argv[1] if len(sys.argv) > 1 else None)} new analyses", flush=True)
