"""Generated music-like test audio for the library tests (no downloads).

Each seed gives a different "song": a random melody and bass line of harmonic notes with
envelopes plus noise-burst percussion, so that spectral peaks look like those of real music.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000


def song(seed: int, seconds: float = 20.0, sr: int = SR) -> np.ndarray:
    """A deterministic music-like mono signal in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n, np.float64)
    beat = rng.uniform(0.18, 0.32)
    t_note = 0.0
    while t_note < seconds:
        dur = beat * rng.choice([1, 1, 2, 0.5])
        for voice, (lo, hi) in enumerate(((48, 84), (36, 55))):
            if voice == 1 and rng.random() < 0.5:
                continue
            midi = rng.integers(lo, hi)
            f0 = 440.0 * 2 ** ((midi - 69) / 12)
            m = int(dur * sr)
            start = int(t_note * sr)
            t = np.arange(min(m, n - start)) / sr
            env = np.exp(-t * rng.uniform(2, 8)) * np.minimum(1, t / 0.005)
            tone = sum(
                (0.6**h) * np.sin(2 * np.pi * f0 * (h + 1) * t + rng.uniform(0, 6.28))
                for h in range(6)
                if f0 * (h + 1) < sr / 2
            )
            y[start : start + t.size] += env * tone * (0.5 if voice else 0.35)
        if rng.random() < 0.6:
            start = int(t_note * sr)
            k = min(int(0.05 * sr), n - start)
            y[start : start + k] += 0.3 * rng.standard_normal(k) * np.exp(-np.arange(k) / (0.01 * sr))
        t_note += dur
    return (0.9 * y / (np.max(np.abs(y)) + 1e-9)).astype(np.float32)


def write_song(path: Path, seed: int, seconds: float = 20.0, sr: int = SR) -> Path:
    """Write ``song(seed)`` as 16-bit WAV (or FLAC/OGG by extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), song(seed, seconds, sr), sr)
    return path
