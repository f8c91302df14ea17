"""Sample-rate conversion with the SoX resampler (``soxr``, also librosa's default).

The streaming form gives the same output as converting the whole signal at once, so blocks of
any size can be fed as they are decoded or recorded.
"""

from __future__ import annotations

import numpy as np
import soxr

#: soxr quality used everywhere; "HQ" is what librosa.load uses (``res_type="soxr_hq"``).
QUALITY = "HQ"


def resample(y: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Resample a whole signal; ``y`` is ``(n,)`` or ``(channels, n)``, float32 is returned."""
    y = np.asarray(y, dtype=np.float32)
    if sr_from == sr_to:
        return y
    if y.ndim == 1:
        return soxr.resample(y, sr_from, sr_to, quality=QUALITY).astype(np.float32, copy=False)
    out = soxr.resample(np.ascontiguousarray(y.T), sr_from, sr_to, quality=QUALITY)
    return np.ascontiguousarray(out.T, dtype=np.float32)


class StreamResampler:
    """Resample consecutive ``(frames, channels)`` blocks; call :meth:`flush` at the end."""

    def __init__(self, sr_from: int, sr_to: int, channels: int) -> None:
        self.sr_from = int(sr_from)
        self.sr_to = int(sr_to)
        self.channels = int(channels)
        self._stream = soxr.ResampleStream(
            self.sr_from, self.sr_to, self.channels, dtype="float32", quality=QUALITY
        )

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample one block; returns ``(frames_out, channels)`` float32 (may be empty)."""
        x = np.ascontiguousarray(block, dtype=np.float32)
        if self.channels == 1 and x.ndim == 2:
            x = x[:, 0]
        out = self._stream.resample_chunk(x, last=False)
        return out.reshape(-1, self.channels)

    def flush(self) -> np.ndarray:
        """Return the samples still held in the filter."""
        empty = np.zeros((0,) if self.channels == 1 else (0, self.channels), dtype=np.float32)
        return self._stream.resample_chunk(empty, last=True).reshape(-1, self.channels)
