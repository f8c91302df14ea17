"""Decode a file and compute its log-Mel in one pass, overlapping the two."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicapp.audio.decode import load_audio
from musicapp.audio.info import Audio
from musicapp.features.streaming import StreamingLogMel
from musicapp.params import MEL, MelParams

#: Samples gathered before each spectrogram step (about 8 s at 16 kHz).
PUSH_SAMPLES = 1 << 17


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
    pending: list[np.ndarray] = []
    pending_samples = 0

    def on_block(block: np.ndarray) -> None:
        # Decoder blocks are small; batching them keeps the FFT calls large and cheap.
        nonlocal pending_samples
        pending.append(block)
        pending_samples += block.shape[0]
        if pending_samples >= PUSH_SAMPLES:
            parts.append(stream.push(np.concatenate(pending)))
            pending.clear()
            pending_samples = 0

    audio = load_audio(
        path, sr=params.sample_rate, mono=True, offset=offset, duration=duration, on_block=on_block
    )
    if pending:
        parts.append(stream.push(np.concatenate(pending)))
    parts.append(stream.flush())
    frames = np.concatenate(parts)
    expected = 1 + audio.samples.shape[0] // params.hop_length
    if frames.shape[0] != expected:  # a duration cut trimmed the last block after it was pushed
        from musicapp.features.mel import log_mel

        frames = log_mel(audio.samples, params)
    return audio, frames
