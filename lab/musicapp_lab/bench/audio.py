"""Benchmark: decode + resample + log-Mel of a 3-minute stereo 44.1 kHz track, ours vs librosa.

Both paths run in the same process on the same files, several times, and the medians are
compared, so the ratio holds on a noisy machine. ``decode only`` (libsndfile reading the file at
its own rate, no resampling) is the floor no pipeline can beat.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp.params import MEL


def synth_track(seconds: float = 180.0, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """A music-like stereo test track: chords, a bass line, noise-burst drums. ``(2, n)`` float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    roots = [220.0, 174.6, 130.8, 196.0]
    bar = 2.0
    idx = (t // bar).astype(int) % len(roots)
    root = np.asarray(roots)[idx]
    phase = 2 * np.pi * np.cumsum(root) / sr
    harm = np.sin(phase) + 0.6 * np.sin(phase * 1.26) + 0.5 * np.sin(phase * 1.5)
    bass = 0.8 * np.sin(phase / 2)
    beat = (t % 0.5) < 0.03
    drums = beat * rng.standard_normal(n) * 0.6
    left = 0.25 * harm + 0.2 * bass + drums * 0.5
    right = 0.25 * np.roll(harm, 300) + 0.2 * bass + drums * 0.4
    return (np.stack([left, right]) * 0.6).astype(np.float32)


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(repeats: int = 5, seconds: float = 180.0) -> list[dict]:
    """Time every path on an MP3 and a FLAC file; return one row per (format, path)."""
    import librosa
    import soundfile as sf

    from musicapp.audio import load_audio
    from musicapp.features import load_log_mel, log_mel

    def librosa_mel(y: np.ndarray) -> np.ndarray:
        S = librosa.feature.melspectrogram(
            y=y, sr=MEL.sample_rate, n_fft=MEL.n_fft, hop_length=MEL.hop_length, n_mels=MEL.n_mels
        )
        return np.log10(np.float32(MEL.log_gain) * S + np.float32(1.0))

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        track = synth_track(seconds)
        for ext, fmt, subtype in [("mp3", "MP3", "MPEG_LAYER_III"), ("flac", "FLAC", "PCM_16")]:
            path = Path(tmp) / f"track.{ext}"
            sf.write(str(path), track.T, 44100, format=fmt, subtype=subtype)
            paths: dict[str, Callable[[], object]] = {
                "decode only (libsndfile, 44.1 kHz)": lambda p=path: sf.read(str(p), dtype="float32"),
                "librosa.load(sr=16000)": lambda p=path: librosa.load(str(p), sr=16000),
                "ours load_audio(sr=16000)": lambda p=path: load_audio(p, sr=16000),
                "librosa.load + librosa Mel": lambda p=path: librosa_mel(librosa.load(str(p), sr=16000)[0]),
                "ours load_log_mel": lambda p=path: load_log_mel(p),
            }
            y16 = load_audio(path, sr=16000).samples
            paths["librosa Mel only"] = lambda y=y16: librosa_mel(y)
            paths["ours log_mel only"] = lambda y=y16: log_mel(y)
            for fn in paths.values():  # warm caches and JIT before timing
                fn()
            for name, fn in paths.items():
                rows.append({"format": ext, "path": name, "seconds": _median_time(fn, repeats)})
    return rows


def report(rows: list[dict]) -> str:
    """Format the rows with the ratios that matter."""
    lines = [f"{'format':6} {'path':38} {'median s':>9}"]
    by = {(r["format"], r["path"]): r["seconds"] for r in rows}
    for r in rows:
        lines.append(f"{r['format']:6} {r['path']:38} {r['seconds']:9.3f}")
    for fmt in sorted({r["format"] for r in rows}):
        ref = by[(fmt, "librosa.load + librosa Mel")]
        ours = by[(fmt, "ours load_log_mel")]
        dec_ref = by[(fmt, "librosa.load(sr=16000)")]
        dec = by[(fmt, "ours load_audio(sr=16000)")]
        lines.append(
            f"{fmt}: decode+resample+Mel speed-up vs librosa {ref / ours:.2f}x "
            f"(ours {ours:.3f} s, librosa {ref:.3f} s); decode+resample {dec_ref / dec:.2f}x; "
            f"floor (decode only) {by[(fmt, 'decode only (libsndfile, 44.1 kHz)')]:.3f} s"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
