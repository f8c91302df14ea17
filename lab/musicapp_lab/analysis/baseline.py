"""A simple reference method, for the benchmark and the evaluation table.

``librosa.beat.beat_track`` for tempo and beats, Krumhansl-Schmuckler key from mean chroma, and
beat-synchronous ``chroma_cqt`` matched against 24 major/minor templates (plus N by energy).
"""

from __future__ import annotations

import itertools

import numpy as np

from musicapp.analysis.labels import PITCH_NAMES

KS_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KS_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def baseline_analysis(y: np.ndarray, sr: int) -> dict:
    """Tempo, beats, key and chords of mono audio ``y`` by the simple reference method."""
    import librosa

    duration = y.size / sr
    if y.size < 2048 or not np.any(np.abs(y) > 1e-6):
        return {"tempo_bpm": 0.0, "beats": [], "key": (0, "major"),
                "chords": [(0.0, duration, "N")]}
    tempo, beat_frames = librosa.beat.beat_track(y=y, sr=sr, hop_length=512)
    tempo = float(np.atleast_1d(tempo)[0])
    beats = librosa.frames_to_time(beat_frames, sr=sr, hop_length=512)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=512)
    rms = librosa.feature.rms(y=y, hop_length=512)[0]
    n = chroma.shape[1]
    bounds = np.unique(np.concatenate([[0], beat_frames, [n]])).astype(int)
    # key: Krumhansl-Schmuckler on the mean chroma
    mean = chroma.mean(axis=1)
    best, best_r = (0, "major"), -2.0
    for mode, prof in (("major", KS_MAJOR), ("minor", KS_MINOR)):
        for t in range(12):
            r = float(np.corrcoef(mean, np.roll(prof, t))[0, 1])
            if r > best_r:
                best, best_r = (t, mode), r
    # chords: 24 binary triad templates on beat-synchronous chroma
    T, labels = [], []
    for root in range(12):
        for q, ints in (("maj", (0, 4, 7)), ("min", (0, 3, 7))):
            v = np.zeros(12)
            v[[(root + i) % 12 for i in ints]] = 1
            T.append(v / np.linalg.norm(v))
            labels.append(f"{PITCH_NAMES[root]}:{q}")
    T = np.array(T)
    ref = max(float(rms.max()), 1e-12)
    chords: list[tuple[float, float, str]] = []
    for a, b in itertools.pairwise(bounds):
        c = chroma[:, a:b].mean(axis=1)
        loud = 20 * np.log10(max(float(rms[a:b].mean()), 1e-12) / ref) > -45
        lab = labels[int(np.argmax(T @ (c / max(np.linalg.norm(c), 1e-12))))] if loud else "N"
        t0, t1 = a * 512 / sr, min(duration, b * 512 / sr)
        if chords and chords[-1][2] == lab:
            chords[-1] = (chords[-1][0], t1, lab)
        else:
            chords.append((t0, t1, lab))
    return {"tempo_bpm": tempo, "beats": [float(b) for b in beats], "key": best,
            "chords": chords}
