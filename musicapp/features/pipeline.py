"""Decode a file and compute its log-Mel: the models' input in one call."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicapp.audio.decode import load_audio
from musicapp.audio.info import Audio
from musicapp.features.mel import log_mel
from musicapp.params import MEL, MelParams


def load_log_mel(
    path: str | Path,
    offset: float = 0.0,
    duration: float | None = None,
    params: MelParams = MEL,
) -> tuple[Audio, np.ndarray]:
    """Decode ``path`` to mono at the model rate; return it with its ``(frames, n_mels)`` log-Mel.

    Decoding already overlaps file reading with resampling (a reader thread); computing the
    spectrogram block by block as well was measured slower than one pass over the whole signal
    (``musicapp bench audio``), so the Mel is computed once at the end.
    """
    audio = load_audio(path, sr=params.sample_rate, mono=True, offset=offset, duration=duration)
    return audio, log_mel(audio.samples, params)
