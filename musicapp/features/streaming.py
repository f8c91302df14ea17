"""Streaming log-Mel extraction for live input (blocks of any size, any input rate)."""

from __future__ import annotations

import numpy as np

from musicapp.audio.resample import StreamResampler
from musicapp.features.mel import front_end
from musicapp.params import MEL, MelParams


class StreamingLogMel:
    """Feed audio blocks as a recorder delivers them; get log-Mel frames as soon as complete.

    For input at ``params.sample_rate`` the frames equal :func:`musicapp.features.log_mel` of the
    concatenated signal (to float32 rounding) once :meth:`flush` has been called. Input at any
    other rate passes through a streaming SoX resampler first. Not thread-safe: one consumer.
    """

    def __init__(self, input_rate: int | None = None, params: MelParams = MEL) -> None:
        self.params = params
        self._fe = front_end(params)
        rate = input_rate or params.sample_rate
        self._resampler = StreamResampler(rate, params.sample_rate, 1) if rate != params.sample_rate else None
        # Centred framing: the first frame is centred on sample 0, so start with n_fft/2 zeros.
        self._buffer = np.zeros(params.n_fft // 2, dtype=np.float32)
        self.frames_emitted = 0
        self._flushed = False

    def _emit(self) -> np.ndarray:
        p = self.params
        available = (self._buffer.shape[0] - p.n_fft) // p.hop_length + 1
        if available <= 0:
            return np.zeros((0, p.n_mels), dtype=np.float32)
        view = np.lib.stride_tricks.sliding_window_view(self._buffer, p.n_fft)[:: p.hop_length]
        out = self._fe.frames_to_logmel(view[:available])
        self._buffer = self._buffer[available * p.hop_length :].copy()
        self.frames_emitted += available
        return out

    def push(self, block: np.ndarray) -> np.ndarray:
        """Add mono samples (``(n,)`` or ``(n, 1)``); return the new ``(frames, n_mels)``."""
        if self._flushed:
            raise RuntimeError("StreamingLogMel was flushed; create a new one for a new stream")
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if self._resampler is not None:
            x = self._resampler.process(x[:, None])[:, 0]
        if x.size:
            self._buffer = np.concatenate([self._buffer, x])
        return self._emit()

    def flush(self) -> np.ndarray:
        """End of stream: pad like the offline path and return the remaining frames."""
        if self._flushed:
            return np.zeros((0, self.params.n_mels), dtype=np.float32)
        if self._resampler is not None:
            tail = self._resampler.flush()[:, 0]
            self._buffer = np.concatenate([self._buffer, tail])
        self._buffer = np.concatenate([self._buffer, np.zeros(self.params.n_fft // 2, dtype=np.float32)])
        self._flushed = True
        return self._emit()
