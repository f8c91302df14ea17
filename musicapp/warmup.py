"""Compile librosa's numba kernels once (``python -m musicapp.warmup``).

numba caches compiled code on disk (in the folder :mod:`musicapp.jitcache` chooses), so the first
spectrogram, chroma or beat tracking in later processes takes milliseconds instead of ~30 s. The
installer runs this once; otherwise the first process that imports librosa runs it under a file
lock (:func:`musicapp.jitcache.ensure_warm`), so concurrent first runs cannot corrupt the cache.
"""

from __future__ import annotations

import time


def warm_up() -> float:
    """Run the librosa paths the app uses on a short signal; return the seconds it took."""
    import numpy as np

    start = time.perf_counter()
    import librosa

    from musicapp.features import chroma, log_mel, mfcc

    sr = 22050
    t = np.arange(sr * 4) / sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t)))).astype(np.float32)
    log_mel(y[: 16000 * 2])
    mfcc(y[: 16000 * 2])
    chroma(y, sr=sr, hop_length=512)
    librosa.feature.melspectrogram(y=y, sr=sr)
    onset = librosa.onset.onset_strength(y=y, sr=sr)
    librosa.beat.beat_track(onset_envelope=onset, sr=sr)
    librosa.feature.chroma_stft(y=y, sr=sr, tuning=0.0)
    librosa.cqt(y, sr=sr, hop_length=256, n_bins=84)
    librosa.feature.chroma_cqt(y=y, sr=sr)  # the analysis baseline estimates tuning (piptrack)
    librosa.load  # noqa: B018 - imports the loader module
    return time.perf_counter() - start


if __name__ == "__main__":
    from musicapp.jitcache import cache_dir, ensure_warm

    start = time.perf_counter()
    compiled = ensure_warm()  # under the cache's file lock; a no-op once the cache is warm
    seconds = time.perf_counter() - start if compiled else warm_up()
    print(f"librosa warm-up done in {seconds:.1f} s (cache: {cache_dir()})")
