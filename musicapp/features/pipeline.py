"""Decode a file and compute its log-Mel in one pass, overlapping the two."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicapp.audio.decode import load_audio
from musicapp.audio.info import Audio
from musicapp.features.streaming import StreamingLogMel
from musicapp.params import MEL, MelParams


def load_log_mel(
    path: str | Path,
    offset: float = 0.0,
    duration: float | None = None,
    params: MelParams = MEL,
) -> tuple[Audio, np.ndarray]:
    """Decode ``path`` to mono at the model rate and return it with its ``(frames, n_mels)`` log-Mel.

    The spectrogram is computed block by block while the decoder thread reads ahead, so the
    total time is close to the decode time alone. The frames equal
    ``log_mel(load_audio(path).samples)``.
    """
    stream = StreamingLogMel(params=params)
    parts: list[np.ndarray] = []
    audio = load_audio(
        path,
        sr=params.sample_rate,
        mono=True,
        offset=offset,
        duration=duration,
        on_block=lambda block: parts.append(stream.push(block)),
    )
    parts.append(stream.flush())
    frames = np.concatenate(parts)
    expected = 1 + audio.samples.shape[0] // params.hop_length
    if frames.shape[0] != expected:  # a duration cut trimmed the last block after it was pushed
        from musicapp.features.mel import log_mel

        frames = log_mel(audio.samples, params)
    return audio, frames
