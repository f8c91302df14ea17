"""MFCC and chroma features on the project's parameters (wrappers over librosa)."""

from __future__ import annotations

import numpy as np

from musicapp.features.mel import mel_power
from musicapp.params import MEL, MelParams


def mfcc(y: np.ndarray, n_mfcc: int = 20, params: MelParams = MEL) -> np.ndarray:
    """MFCCs ``(frames, n_mfcc)`` from the project's Mel power spectrogram (dB, DCT-II ortho)."""
    import librosa

    mel_db = librosa.power_to_db(mel_power(y, params).T)
    return np.ascontiguousarray(librosa.feature.mfcc(S=mel_db, n_mfcc=n_mfcc).T, dtype=np.float32)


def chroma(
    y: np.ndarray, sr: int = MEL.sample_rate, hop_length: int = MEL.hop_length, tuning: float = 0.0
) -> np.ndarray:
    """Chromagram ``(frames, 12)`` (C, C#, ..., B) from a constant-Q transform.

    Frames are centred like the Mel frames, so with the default hop the two align one to one.
    ``tuning`` is the reference's deviation from A440 in fractions of a bin; it is fixed (0.0)
    rather than estimated, because librosa's estimate runs the numba-compiled ``piptrack``
    (issue 14, C10).
    """
    import librosa

    c = librosa.feature.chroma_cqt(
        y=np.asarray(y, dtype=np.float32), sr=sr, hop_length=hop_length, tuning=tuning
    )
    return np.ascontiguousarray(c.T, dtype=np.float32)
