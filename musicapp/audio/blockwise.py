"""Whole signals mixed to mono and resampled block by block, so a long file (a 3-hour DJ mix)
never needs a whole-track temporary: soxr's streaming form gives the very samples of the
whole-signal :func:`musicapp.audio.resample`, and the channel mean of a block is the mean of
those samples, so the result equals ``resample(samples.mean(axis=0), ...)`` bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

#: input samples mixed and resampled at once
BLOCK = 1 << 18


def resampled_blocks(samples: np.ndarray, sample_rate: int, target_rate: int,
                     block: int = BLOCK) -> Callable[[], Iterator[np.ndarray]]:
    """A source of ``samples`` ((n,) or (channels, n)) mixed to mono and resampled to
    ``target_rate``: each call gives a fresh iterator over consecutive float32 blocks whose
    concatenation is ``resample(mono, sample_rate, target_rate)``."""
    from musicapp.audio.resample import StreamResampler

    y = np.asarray(samples)
    if y.ndim not in (1, 2):
        raise ValueError(f"expected (n,) or (channels, n) samples, got shape {y.shape}")

    def mono(start: int) -> np.ndarray:
        part = y[..., start:start + block]
        part = part if part.ndim == 1 else np.asarray(part, dtype=np.float32).mean(axis=0)
        return np.asarray(part, dtype=np.float32)

    def blocks() -> Iterator[np.ndarray]:
        n = y.shape[-1]
        if sample_rate == target_rate:
            for start in range(0, n, block):
                yield mono(start)
            return
        stream = StreamResampler(sample_rate, target_rate, 1)
        for start in range(0, n, block):
            out = stream.process(mono(start)).reshape(-1)
            if out.size:
                yield out
        tail = stream.flush().reshape(-1)
        if tail.size:
            yield tail

    return blocks


def resample_to_mono(samples: np.ndarray, sample_rate: int, target_rate: int,
                     block: int = BLOCK) -> np.ndarray:
    """``samples`` ((n,) or (channels, n)) mixed to mono and resampled to ``target_rate``,
    filled block by block into one array (no whole-track mono copy at the input rate)."""
    n = np.asarray(samples).shape[-1]
    out = np.empty(int(np.ceil(n * target_rate / sample_rate)) + 2, dtype=np.float32)
    filled = 0
    for part in resampled_blocks(samples, sample_rate, target_rate, block)():
        if filled + part.size > out.size:  # (not expected: soxr gives ceil(n * ratio) at most)
            out = np.concatenate([out[:filled], np.empty(part.size, np.float32)])
        out[filled:filled + part.size] = part
        filled += part.size
    return out[:filled]
