"""The log-Mel spectrogram the models consume, offline and streaming.

Both paths share :class:`MelFrontEnd`, so a signal fed block by block gives the same frames as
the whole signal at once. Parameters come from :data:`musicapp.params.MEL`: 16 kHz, a 512-point
periodic Hann window, hop 256, 96 Slaney-normalised Slaney-scale Mel bands (librosa's defaults),
power 2, centred frames with zero padding, then ``log10(10000 * S + 1)`` computed in float32
(musicnn computed it after a float16 cast that overflows on loud music; we do not).
Output is time-major: ``(frames, n_mels)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from musicapp.params import MEL, MelParams

#: Frames computed per chunk by the offline path (bounds temporary memory on long files).
CHUNK_FRAMES = 4096


@lru_cache(maxsize=8)
def mel_basis(params: MelParams = MEL) -> np.ndarray:
    """The ``(n_mels, n_fft // 2 + 1)`` float32 Mel filter bank (identical to librosa's).

    Built with librosa once and then read from the filter cache
    (:mod:`musicapp.features.filter_cache`), so a fresh process (a batch worker) does not import
    librosa, scipy.signal and numba for it."""
    from musicapp.features.filter_cache import cached

    key = (params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax,
           params.htk, params.mel_norm)
    shape = (params.n_mels, params.n_fft // 2 + 1)

    def build() -> dict[str, np.ndarray]:
        import librosa

        return {"basis": librosa.filters.mel(
            sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels, fmin=params.fmin,
            fmax=params.fmax, htk=params.htk, norm=params.mel_norm, dtype=np.float32)}

    def valid(arrays: dict[str, np.ndarray]) -> bool:
        basis = arrays.get("basis")
        return basis is not None and basis.shape == shape and basis.dtype == np.float32

    return cached("tagger-mel", key, build, valid=valid)["basis"]


@lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    """The periodic Hann window (``scipy.signal.get_window("hann", n_fft)``, computed in float64
    the same way, without importing scipy.signal)."""
    n = np.arange(n_fft, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


class MelFrontEnd:
    """Turns windows of samples into log-Mel frames; shared by offline and streaming paths."""

    def __init__(self, params: MelParams = MEL) -> None:
        self.params = params
        self.window = _window(params.n_fft)
        self.basis_t = np.ascontiguousarray(mel_basis(params).T)  # (n_bins, n_mels)

    def power_mel(self, frames: np.ndarray) -> np.ndarray:
        """``(n, n_fft)`` raw sample frames -> ``(n, n_mels)`` Mel power (float32)."""
        spec = scipy.fft.rfft(frames * self.window, axis=1)
        power = spec.real * spec.real + spec.imag * spec.imag
        if self.params.power != 2.0:
            power = power ** (self.params.power / 2.0)
        return (power @ self.basis_t).astype(np.float32, copy=False)

    def log_compress(self, mel_power: np.ndarray) -> np.ndarray:
        """``log10(log_gain * S + 1)`` in float32."""
        out = mel_power * np.float32(self.params.log_gain)
        out += np.float32(1.0)
        return np.log10(out, out=out)

    def frames_to_logmel(self, frames: np.ndarray) -> np.ndarray:
        """``(n, n_fft)`` sample frames -> ``(n, n_mels)`` log-Mel frames."""
        return self.log_compress(self.power_mel(frames))


@lru_cache(maxsize=8)
def front_end(params: MelParams = MEL) -> MelFrontEnd:
    """A cached :class:`MelFrontEnd` for ``params``."""
    return MelFrontEnd(params)


def n_frames(n_samples: int, params: MelParams = MEL) -> int:
    """Number of centred frames for a signal of ``n_samples`` samples."""
    return 1 + n_samples // params.hop_length


def _padded(y: np.ndarray, params: MelParams) -> np.ndarray:
    pad = params.n_fft // 2
    return np.pad(np.asarray(y, dtype=np.float32), (pad, pad), mode="constant")


def _frame_view(y_padded: np.ndarray, params: MelParams) -> np.ndarray:
    if y_padded.shape[0] < params.n_fft:
        y_padded = np.pad(y_padded, (0, params.n_fft - y_padded.shape[0]))
    return np.lib.stride_tricks.sliding_window_view(y_padded, params.n_fft)[:: params.hop_length]


def _run(y: np.ndarray, params: MelParams, log: bool) -> np.ndarray:
    if y.ndim != 1:
        raise ValueError(f"expected mono samples of shape (n,), got {y.shape}")
    fe = front_end(params)
    frames = _frame_view(_padded(y, params), params)
    total = n_frames(y.shape[0], params)
    out = np.empty((total, params.n_mels), dtype=np.float32)
    for start in range(0, total, CHUNK_FRAMES):
        stop = min(start + CHUNK_FRAMES, total)
        mel = fe.power_mel(frames[start:stop])
        out[start:stop] = fe.log_compress(mel) if log else mel
    return out


def log_mel(y: np.ndarray, params: MelParams = MEL) -> np.ndarray:
    """Log-Mel spectrogram of mono ``y`` sampled at ``params.sample_rate``: ``(frames, n_mels)``."""
    return _run(y, params, log=True)


def mel_power(y: np.ndarray, params: MelParams = MEL) -> np.ndarray:
    """Mel power spectrogram (before log compression): ``(frames, n_mels)``."""
    return _run(y, params, log=False)


def mel_patches(
    logmel: np.ndarray,
    patch_frames: int = MEL.patch_frames,
    hop_frames: int | None = None,
) -> np.ndarray:
    """Cut ``(frames, n_mels)`` into ``(n_patches, patch_frames, n_mels)`` model inputs.

    Patches start every ``hop_frames`` (default: no overlap). The last patch is padded with
    zeros, which is silence in the log domain (``log10(1) = 0``); a signal shorter than one
    patch gives one padded patch.
    """
    hop = hop_frames or patch_frames
    n = logmel.shape[0]
    count = max(1, int(np.ceil(max(n - patch_frames, 0) / hop)) + 1)
    needed = (count - 1) * hop + patch_frames
    if needed > n:
        logmel = np.pad(logmel, ((0, needed - n), (0, 0)))
    view = np.lib.stride_tricks.sliding_window_view(logmel, patch_frames, axis=0)[::hop]
    return np.ascontiguousarray(view.transpose(0, 2, 1)[:count], dtype=np.float32)
