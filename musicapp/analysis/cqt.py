"""Constant-Q magnitude spectrum with cached filter banks (the same transform as ``librosa.cqt``).

``librosa.cqt`` rebuilds and sparsifies its per-octave FFT filter bank on every call (about a
fifth of its time on a 3-minute track) and frames each octave through its general-purpose STFT.
This module computes the same multirate transform (one octave at a time, from the top octave
down, halving the sample rate and the hop between octaves) with the filter banks built once per
parameter set by librosa's own ``filters.wavelet`` and ``util.sparsify_rows``, and the frames cut
by a strided view. The result equals ``np.abs(librosa.cqt(...))`` with ``pad_mode="constant"``,
``res_type="soxr_hq"``, ``window="hann"``, ``sparsity=0.01`` and ``scale=True`` to float32
rounding (``tests/analysis/test_cqt.py`` checks it).
"""

from __future__ import annotations

import functools

import numpy as np

SPARSITY = 0.01  # librosa's default


@functools.lru_cache(maxsize=8)
def _octave_basis(sr: float, freqs: tuple[float, ...], alpha: tuple[float, ...],
                  scale_to: float) -> tuple[object, int]:
    """Sparse frequency-domain filters of one octave (as librosa's ``__vqt_filter_fft``)."""
    import librosa

    basis, lengths = librosa.filters.wavelet(freqs=np.array(freqs), sr=sr, filter_scale=1,
                                             norm=1, pad_fft=True, window="hann", gamma=0.0,
                                             alpha=np.array(alpha))
    n_fft = basis.shape[1]
    basis *= lengths[:, None] / float(n_fft)
    fft_basis = np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    fft_basis = librosa.util.sparsify_rows(fft_basis, quantile=SPARSITY, dtype=np.complex64)
    fft_basis = fft_basis * np.sqrt(scale_to / sr)
    return fft_basis.tocsr(), n_fft


def soxr_resample(y: np.ndarray, orig_sr: float, target_sr: float,
                  scale: bool = False) -> np.ndarray:
    """``librosa.resample(y, orig_sr=..., target_sr=..., res_type="soxr_hq", scale=scale)`` of
    mono finite ``y``, the same values without librosa's per-call checks and array plumbing (and
    without importing its audio module): soxr's HQ resampler, the length fixed to
    ``ceil(len * target / orig)`` (zero-padded or cut), ``scale`` dividing by the square root
    of the rate ratio."""
    from musicapp.audio.resample import resample  # soxr HQ, as librosa's "soxr_hq"

    if orig_sr == target_sr:
        return y
    ratio = float(target_sr) / orig_sr
    n_samples = int(np.ceil(y.shape[-1] * ratio))
    y_hat = resample(y, orig_sr, target_sr)
    if y_hat.shape[-1] > n_samples:
        y_hat = y_hat[..., :n_samples]
    elif y_hat.shape[-1] < n_samples:
        y_hat = np.pad(y_hat, (0, n_samples - y_hat.shape[-1]))
    if scale:
        y_hat /= np.sqrt(ratio)
    return np.asarray(y_hat, dtype=y.dtype)


CHUNK_FRAMES = 256  # frames transformed at once (small: the temporaries stay in the CPU caches)


def centred_frames(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Frames (frames, n_fft) of ``y`` every ``hop`` samples, centred (zero-padded by n_fft/2
    each side; at least one frame), as a read-only view."""
    from numpy.lib.stride_tricks import sliding_window_view

    pad = n_fft // 2
    yp = np.pad(np.asarray(y, dtype=np.float32), (pad, pad))
    if yp.size < n_fft:
        yp = np.pad(yp, (0, n_fft - yp.size))
    return sliding_window_view(yp, n_fft)[::hop]


def _octave_response(y: np.ndarray, n_fft: int, hop: int, basis: object) -> np.ndarray:
    """|basis @ STFT| (filters, frames) of ``y``: centred (zero-padded), unwindowed frames,
    transformed :data:`CHUNK_FRAMES` at a time. Each chunk is transformed along axis 0 of the
    transposed frames, which gives the (bins, frames) spectrum C-contiguous - the layout the
    sparse product needs (the same values as transforming along axis 1 and transposing, without
    the copy scipy.sparse would otherwise make)."""
    from scipy import fft as sfft

    frames = centred_frames(y, n_fft, hop)
    out = np.empty((basis.shape[0], frames.shape[0]), dtype=np.float32)
    for a in range(0, frames.shape[0], CHUNK_FRAMES):
        spec = sfft.rfft(frames[a:a + CHUNK_FRAMES].T, axis=0)
        out[:, a:a + CHUNK_FRAMES] = np.abs(basis @ spec)
    return out


def _build_plan(sr: float, hop_length: int, fmin: float, n_bins: int,
                bins_per_octave: int) -> dict[str, np.ndarray]:
    """The filters of every octave (sparse parts ``data{i}``, ``indices{i}``, ``indptr{i}``,
    ``shape{i}``, ``n_fft{i}``) and the filter lengths, built with librosa."""
    import librosa

    n_octaves = int(np.ceil(n_bins / bins_per_octave))
    n_filters = min(bins_per_octave, n_bins)
    freqs = librosa.cqt_frequencies(n_bins=n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    alpha = librosa.filters._relative_bandwidth(freqs=freqs)
    lengths, _ = librosa.filters.wavelet_lengths(freqs=freqs, sr=sr, window="hann",
                                                 filter_scale=1, gamma=0.0, alpha=alpha)
    plan: dict[str, np.ndarray] = {"lengths": lengths, "n_octaves": np.array(n_octaves)}
    my_sr, my_hop = float(sr), int(hop_length)
    for i in range(n_octaves):
        sl = slice(-n_filters, None) if i == 0 else slice(-n_filters * (i + 1), -n_filters * i)
        basis, n_fft = _octave_basis(my_sr, tuple(freqs[sl].tolist()), tuple(alpha[sl].tolist()),
                                     float(sr))
        plan.update({f"data{i}": basis.data, f"indices{i}": basis.indices,
                     f"indptr{i}": basis.indptr, f"shape{i}": np.array(basis.shape),
                     f"n_fft{i}": np.array(n_fft)})
        if my_hop % 2 == 0:
            my_hop //= 2
            my_sr /= 2.0
    return plan


def _complete(plan: dict[str, np.ndarray]) -> bool:
    """Whether a stored plan has every part and each octave is a well-formed CSR matrix of
    (filters, n_fft // 2 + 1) (an index out of range would crash the sparse product)."""
    try:
        if plan["lengths"].ndim != 1 or plan["n_octaves"].shape != ():
            return False
        for i in range(int(plan["n_octaves"])):
            data, indices, indptr = plan[f"data{i}"], plan[f"indices{i}"], plan[f"indptr{i}"]
            shape, n_fft = plan[f"shape{i}"], int(plan[f"n_fft{i}"])
            if (shape.shape != (2,) or int(shape[1]) != n_fft // 2 + 1
                    or data.ndim != 1 or indices.shape != data.shape
                    or indices.dtype.kind != "i" or indptr.dtype.kind != "i"
                    or indptr.shape != (int(shape[0]) + 1,) or indptr[0] != 0
                    or int(indptr[-1]) != data.size or np.any(np.diff(indptr) < 0)
                    or (indices.size and (indices.min() < 0 or indices.max() >= shape[1]))):
                return False
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    return True


@functools.lru_cache(maxsize=8)
def _plan(sr: float, hop_length: int, fmin: float, n_bins: int,
          bins_per_octave: int) -> tuple[list[tuple[object, int]], np.ndarray]:
    """Per octave (top first) the sparse filters and FFT size, and the filter lengths: from
    the filter cache (:mod:`musicapp.features.filter_cache`; librosa is then not imported) or
    built. The same CSR arrays (values, index order, dtypes) either way."""
    from scipy.sparse import csr_matrix

    from musicapp.features.filter_cache import cached

    key = (float(sr), int(hop_length), float(fmin), int(n_bins), int(bins_per_octave), SPARSITY)
    plan = cached("cqt", key, lambda: _build_plan(sr, hop_length, fmin, n_bins, bins_per_octave),
                  valid=_complete)
    octaves = []
    for i in range(int(plan["n_octaves"])):
        basis = csr_matrix((plan[f"data{i}"], plan[f"indices{i}"], plan[f"indptr{i}"]),
                           shape=tuple(int(v) for v in plan[f"shape{i}"]))
        octaves.append((basis, int(plan[f"n_fft{i}"])))
    return octaves, plan["lengths"]


def cqt_magnitude(y: np.ndarray, sr: float, hop_length: int, fmin: float, n_bins: int,
                  bins_per_octave: int) -> np.ndarray:
    """|CQT| (n_bins, frames) of mono ``y``; ``hop_length`` must be divisible by 2 once per
    octave below the top one."""
    octaves, lengths = _plan(float(sr), int(hop_length), float(fmin), int(n_bins),
                             int(bins_per_octave))
    responses = []
    my_y, my_hop = np.asarray(y, dtype=np.float32), int(hop_length)
    for i, (basis, n_fft) in enumerate(octaves):
        responses.append(_octave_response(my_y, n_fft, my_hop, basis))
        if my_hop % 2 == 0 and i + 1 < len(octaves):  # (no octave below the last one)
            my_hop //= 2
            my_y = soxr_resample(my_y, 2, 1, scale=True)
    n_cols = min(r.shape[1] for r in responses)
    out = np.empty((n_bins, n_cols), dtype=np.float32)
    end = n_bins
    for r in responses:
        k = r.shape[0]
        if end < k:
            out[:end] = r[-end:, :n_cols]
        else:
            out[end - k:end] = r[:, :n_cols]
        end -= k
    out /= np.sqrt(lengths)[:, None].astype(np.float32)
    return out
