"""Band-energy sign signature: the verification half of the fingerprint (numpy/scipy only).

After Haitsma & Kalker (2002): the energy in ``N_BANDS + 1`` log-spaced bands is compared between
neighbouring bands and between frames ``LAG`` apart; the sign of that double difference is one bit,
so each 16 ms frame (the landmark frame grid) gives 32 bits, stored as one ``uint32``
(~0.9 MB per hour of audio).

Landmarks (peak pairs) find *candidates* quickly but each pair needs two spectral peaks to survive
the noise, so at 0-5 dB SNR few of them do. The signature uses every band of every frame instead.
To verify a candidate (track, offset, tempo factor), the reference's stored signs are compared with
the query's *unquantised* double differences, weighting each bit by how far the query's value is
from zero (a noisy band is close to zero and barely counts):

    score = sum(sign_ref * d_query) / sum(|d_query|)      (1 = identical, ~0 = unrelated)

Stationary noise adds the same energy to a band in every frame, so it cancels in the time
difference; pink noise's spectral tilt cancels in the band difference.

Parameters (chosen on 200 library excerpts at 0 dB, 5 dB and reverb + 10 dB noise, 10 s each):
window 1024 samples (128 ms), 33 bands 150-3500 Hz, lag 4 frames (64 ms). The score of the right
track at the right offset exceeded the largest score of 20 wrong (track, offset) pairs in 95 % of
the 0 dB excerpts, against 92 % for Philips' original 300-2000 Hz bands, a 256 ms window and lag 1.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import rfft

SAMPLE_RATE = 8000
HOP = 128  # samples: the same 16 ms frame grid as the landmarks
WINDOW = 1024
N_BANDS = 32  # bits per frame
LOW_HZ = 150.0
HIGH_HZ = 3500.0
LAG = 4  # frames between the two compared spectra
_BLOCK = 4096  # frames per band product (bounds memory on long tracks)
_SUB = 256  # frames per FFT


def _band_matrix() -> np.ndarray:
    edges = np.geomspace(LOW_HZ, HIGH_HZ, N_BANDS + 2)
    freqs = np.fft.rfftfreq(WINDOW, 1.0 / SAMPLE_RATE)
    matrix = np.zeros((freqs.size, N_BANDS + 1), np.float32)
    for b in range(N_BANDS + 1):
        matrix[(freqs >= edges[b]) & (freqs < edges[b + 1]), b] = 1.0
    return matrix


_BANDS = _band_matrix()


def band_log_energy(y: np.ndarray) -> np.ndarray:
    """Log energy per band, shape ``(frames, N_BANDS + 1)``; frame ``k`` starts at sample ``k * HOP``."""
    y = np.asarray(y, dtype=np.float32)
    n_frames = max(1, 1 + (y.size - 1) // HOP) if y.size else 1
    # Pad the end so that every landmark frame has a signature frame.
    y = np.pad(y, (0, max(0, (n_frames - 1) * HOP + WINDOW - y.size)))
    frames = np.lib.stride_tricks.sliding_window_view(y, WINDOW)[::HOP][:n_frames]
    window = np.hanning(WINDOW).astype(np.float32)
    n = frames.shape[0]
    out = np.empty((n, N_BANDS + 1), np.float32)
    # power spectra of _SUB frames at a time into one reused block (the temporaries stay in the
    # CPU caches); the band product still takes _BLOCK frames at once, so its sums are the same
    spectrum = np.empty((min(_BLOCK, n), WINDOW // 2 + 1), np.float32)
    windowed = np.empty((min(_SUB, n), WINDOW), np.float32)
    for k in range(0, n, _BLOCK):
        m = min(_BLOCK, n - k)
        for a in range(0, m, _SUB):
            b = min(m, a + _SUB)
            np.multiply(frames[k + a : k + b], window, out=windowed[: b - a])
            np.abs(rfft(windowed[: b - a], axis=1), out=spectrum[a:b])
            np.square(spectrum[a:b], out=spectrum[a:b])
        out[k : k + m] = spectrum[:m] @ _BANDS
    return np.log(out + 1e-10)


def double_difference(energy: np.ndarray) -> np.ndarray:
    """Band-then-time difference, shape ``(frames, N_BANDS)`` (the last ``LAG`` frames are 0)."""
    band_diff = energy[:, :-1] - energy[:, 1:]
    out = np.zeros_like(band_diff)
    out[:-LAG] = band_diff[LAG:] - band_diff[:-LAG]
    return out


def query_values(y: np.ndarray) -> np.ndarray:
    """Unquantised double differences of a query, float32 ``(frames, N_BANDS)``."""
    return double_difference(band_log_energy(y))


def reference_signature(y: np.ndarray) -> np.ndarray:
    """Stored signature of a library track: one ``uint32`` per frame, bit ``b`` = band ``b`` > 0."""
    bits = query_values(y) > 0
    return pack_bits(bits)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``(frames, 32)`` booleans -> ``(frames,)`` uint32 (bit b of the word = column b)."""
    packed = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u4").reshape(-1).astype(np.uint32)


class QueryScorer:
    """Scores reference signatures against one query's soft values, many candidates at once.

    Each frame's 32 soft values are split into 4 bytes, and a table of the 256 possible byte
    values per (frame, byte) holds ``sum(sign(bit) * value)``, so scoring a reference word is four
    table look-ups rather than 32 multiplications.
    """

    def __init__(self, values: np.ndarray) -> None:
        values = np.asarray(values, np.float32)
        self.n_frames = values.shape[0]
        byte_bits = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float32) * 2 - 1
        # table[frame, byte, value] = sum over the byte's 8 bits of (+-1) * soft value
        self.table = np.einsum("vk,fjk->fjv", byte_bits, values.reshape(self.n_frames, 4, 8))
        self.weight = np.abs(values).sum(axis=1)  # per frame: sum |value|
        self.energy = np.square(values).sum(axis=1)  # per frame: sum value^2

    def score(
        self, words: np.ndarray, frames: np.ndarray, valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores of reference ``words`` (shape ``(C, F)``) aligned to query ``frames`` ``(C, F)``.

        ``valid`` masks frames outside the reference. Returns, per row, over its valid frames
        (0 where nothing is valid):

        * ``agreement = sum(sign * value) / sum(|value|)`` in [-1, 1];
        * ``z = sum(sign * value) / sqrt(sum(value^2))``: the agreement standardised for the
          query's length and spread (for signs independent of the values its spread is 1 whatever
          the duration, so one acceptance threshold serves 3 s and 10 s queries alike).
        """
        w = np.where(valid, words, 0).astype(np.uint32)
        f = np.where(valid, frames, 0)
        total = np.zeros(w.shape, np.float32)
        for j in range(4):
            byte = (w >> np.uint32(8 * j)) & np.uint32(0xFF)
            total += self.table[f, j, byte]
        total = np.where(valid, total, 0.0).sum(axis=1)
        weight = np.where(valid, self.weight[f], 0.0).sum(axis=1)
        energy = np.where(valid, self.energy[f], 0.0).sum(axis=1)
        agreement = np.divide(total, weight, out=np.zeros_like(total), where=weight > 0)
        z = np.divide(total, np.sqrt(energy), out=np.zeros_like(total), where=energy > 0)
        return agreement, z
