"""Frame-level features for key, tempo and chord analysis.

* onset envelopes (log-Mel spectral flux, full band and below ~200 Hz),
* a tuning-corrected semitone spectrum (CQT, 3 bins per semitone, C1..B7) from which
  beat-synchronous treble and bass chroma are derived (treble/bass weighting after NNLS-Chroma,
  Mauch & Dixon 2010; an NNLS harmonic-removal step was measured and did not help here).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from musicapp.analysis.cqt import cqt_magnitude, soxr_resample
from musicapp.params import ANALYSIS

SAMPLE_RATE = ANALYSIS.sample_rate  # 22050: whole tracks are decoded once at this rate
HOP = ANALYSIS.hop_length  # 512
FPS = SAMPLE_RATE / HOP
MIDI_LOW = 24  # C1
N_SEMITONES = 84  # C1..B7
BINS_PER_SEMITONE = 3
CQT_RATE = SAMPLE_RATE // 2
#: CQT frames are every ``CQT_HOP`` samples at :data:`CQT_RATE` (two analysis frames, 46 ms) and
#: interpolated onto the analysis frames: chroma is only used as beat-synchronous means, and the
#: CQT filters below C5 are longer than 0.2 s anyway. Halves the cost of the CQT.
CQT_HOP = HOP


@dataclass
class Frames:
    """Frame features of one track (frame rate :data:`FPS`)."""

    onset: np.ndarray  # (n,) full-band spectral flux
    low_onset: np.ndarray  # (n,) spectral flux below ~200 Hz
    semitones: np.ndarray  # (84, n) magnitude per semitone, MIDI 24..107
    rms: np.ndarray  # (n,)
    duration: float
    tuning: float  # in semitones, within +-0.5

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.onset.shape[0])

    def frame_times(self) -> np.ndarray:
        """Centre time of each frame in seconds."""
        return np.arange(self.n_frames) / FPS


def to_analysis_rate(samples: np.ndarray, sample_rate: int, copy: bool = True) -> np.ndarray:
    """Mono float32 at :data:`SAMPLE_RATE`, NaN/inf replaced by 0. ``copy=False``: clean mono
    float32 samples already at the rate are returned as they are (for a reader that never
    writes into them: a 3-hour track is 0.9 GB)."""
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:
        # accept (channels, n) or (n, channels)
        y = y.mean(axis=0) if y.shape[0] <= 8 and y.shape[0] < y.shape[1] else y.mean(axis=1)
    y = y.ravel()
    if _all_finite(y):  # the usual case: one pass instead of nan_to_num's five
        y = y.copy() if copy or sample_rate != SAMPLE_RATE else y
    else:
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    if sample_rate != SAMPLE_RATE and y.size:
        from musicapp.audio import resample

        y = np.asarray(resample(y, int(sample_rate), SAMPLE_RATE), dtype=np.float32)
    return y


#: frames whose spectral flux is computed at once in :func:`_onsets`
FLUX_COLUMNS = 1 << 15


def _all_finite(y: np.ndarray, piece: int = 1 << 20) -> bool:
    """``np.isfinite(y).all()`` read ``piece`` samples at a time (no whole-track mask)."""
    return all(bool(np.isfinite(y[a:a + piece]).all()) for a in range(0, y.size, piece))


def _onsets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(full-band flux, flux below 200 Hz, frame RMS). The log-Mel is made in place of the Mel
    and the flux :data:`FLUX_COLUMNS` frames at a time (each frame's values are those of the
    whole-array form ``np.maximum(0, np.diff(logmel, prepend=...)).mean(axis=0)``: every step is
    per element or per column), so a long track holds one Mel-sized array, not four."""
    mel, rms = _mel_and_rms(y, 2048, HOP)
    ref = max(float(mel.max()), 1e-10)
    logmel = np.maximum(mel, ref * 1e-8, out=mel)  # 80 dB range
    np.divide(logmel, ref, out=logmel)
    np.log10(logmel, out=logmel)
    np.multiply(logmel, 10.0, out=logmel)
    low = _filters()["mel_frequencies"] < 200.0
    n = logmel.shape[1]
    onset = np.empty(n, dtype=np.float32)
    low_onset = np.empty(n, dtype=np.float32)
    for a in range(0, n, FLUX_COLUMNS):
        b = min(n, a + FLUX_COLUMNS)
        prev = logmel[:, max(a - 1, 0):b - 1] if a else np.concatenate(
            [logmel[:, :1], logmel[:, :b - 1]], axis=1)
        flux = np.maximum(0.0, logmel[:, a:b] - prev)
        onset[a:b] = flux.mean(axis=0)
        low_onset[a:b] = flux[low].mean(axis=0)
    return onset, low_onset, rms


def has_signal(y: np.ndarray, threshold: float = 1e-6, piece: int = 1 << 20) -> bool:
    """Whether any sample's magnitude exceeds ``threshold`` (``np.any(np.abs(y) > threshold)``
    read ``piece`` samples at a time: no whole-track temporaries)."""
    return any(bool(np.any(np.abs(y[a:a + piece]) > threshold)) for a in range(0, y.size, piece))


def _mel_and_rms(y: np.ndarray, n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """64-band Mel power (64, frames) and frame RMS of centred, Hann-windowed frames: the same
    values as ``librosa.stft`` + ``melspectrogram`` at about half the cost (frames cut from a
    strided view, a BLAS product for the filter bank), 2048 frames at a time. The windowing,
    transform and power run :data:`SUB_FRAMES` frames at a time into reused buffers (large
    temporaries cost more in memory traffic than the arithmetic); the filter-bank product still
    takes 2048 frames at once, so its sums are the same."""
    from scipy import fft as sfft

    y = np.asarray(y, dtype=np.float32)
    n = (y.size + 2 * (n_fft // 2) - n_fft) // hop + 1
    mel = np.empty((64, n), dtype=np.float32)
    rms = np.empty(n, dtype=np.float32)
    basis_t = _mel_basis().T
    window = _hann(n_fft)
    chunk = min(2048, n)
    power = np.empty((chunk, n_fft // 2 + 1), dtype=np.float32)
    windowed = np.empty((min(SUB_FRAMES, chunk), n_fft), dtype=np.float32)
    imag2 = np.empty((min(SUB_FRAMES, chunk), n_fft // 2 + 1), dtype=np.float32)
    for a in range(0, n, 2048):
        m = min(2048, n - a)
        frames = _padded_frames(y, n_fft, hop, a, m)
        for b in range(0, m, SUB_FRAMES):
            k = min(SUB_FRAMES, m - b)
            np.multiply(frames[b:b + k], window, out=windowed[:k])
            spec = sfft.rfft(windowed[:k], axis=1)
            np.square(spec.real, out=power[b:b + k])
            np.add(power[b:b + k], np.square(spec.imag, out=imag2[:k]), out=power[b:b + k])
        rms[a:a + m] = np.sqrt(np.mean(power[:m], axis=1) / n_fft * 2)
        mel[:, a:a + m] = (power[:m] @ basis_t).T
    return mel, rms


#: frames windowed and transformed at once (keeps the temporaries in the CPU caches)
SUB_FRAMES = 256


def _padded_frames(y: np.ndarray, n_fft: int, hop: int, first: int, count: int) -> np.ndarray:
    """Frames ``first .. first + count - 1`` (count, n_fft) of ``y`` zero-padded by
    ``n_fft // 2`` each side, every ``hop`` samples: the rows of
    ``sliding_window_view(np.pad(y, pad), n_fft)[::hop]``, cut from a padded copy of only the
    samples they cover (a 3-hour track is not copied whole for its padding)."""
    from numpy.lib.stride_tricks import sliding_window_view

    pad = n_fft // 2
    start = first * hop - pad  # in y's samples
    stop = start + (count - 1) * hop + n_fft
    seg = np.zeros(stop - start, dtype=np.float32)
    lo, hi = max(start, 0), min(stop, y.size)
    if hi > lo:
        seg[lo - start:hi - start] = y[lo:hi]
    return sliding_window_view(seg, n_fft)[::hop]


@functools.lru_cache(maxsize=2)
def _hann(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def _build_filters() -> dict[str, np.ndarray]:
    import librosa

    return {"mel_basis": librosa.filters.mel(sr=SAMPLE_RATE, n_fft=2048, n_mels=64, fmax=8000.0),
            "mel_frequencies": librosa.mel_frequencies(n_mels=64, fmax=8000.0),
            "cqt_fmin": librosa.midi_to_hz(MIDI_LOW - 1.0 / BINS_PER_SEMITONE)}


@functools.lru_cache(maxsize=1)
def _filters() -> dict[str, np.ndarray]:
    """The 64-band Mel filter bank (2048-point FFT), its band centres and the CQT's lowest bin
    frequency, built with librosa or read from the filter cache
    (:mod:`musicapp.features.filter_cache`, no librosa import then)."""
    from musicapp.features.filter_cache import cached

    key = (SAMPLE_RATE, 2048, 64, 8000.0, MIDI_LOW, BINS_PER_SEMITONE)
    return cached("features", key, _build_filters, valid=_filters_valid)


def _filters_valid(f: dict[str, np.ndarray]) -> bool:
    """Whether stored filters have every part in the shapes and kinds the analysis uses."""
    return ({"mel_basis", "mel_frequencies", "cqt_fmin"} <= set(f)
            and f["mel_basis"].shape == (64, 1025) and f["mel_basis"].dtype.kind == "f"
            and f["mel_frequencies"].shape == (64,) and f["mel_frequencies"].dtype.kind == "f"
            and f["cqt_fmin"].shape == () and f["cqt_fmin"].dtype.kind == "f")


def _mel_basis() -> np.ndarray:
    return _filters()["mel_basis"]


#: Tracks longer than this (seconds) get their CQT in blocks (:func:`_cqt_in_blocks`); shorter
#: ones in one piece, exactly as before (a 10-minute track's CQT is ~90 MB, a 3-hour one's 1.7 GB
#: with its temporaries).
LONG_TRACK_S = 600.0
#: CQT frames each block newly contributes (~6.3 minutes).
CQT_BLOCK_FRAMES = 8192
#: Input samples each side of an output that a 2:1 soxr HQ stage reads (measured: an impulse's
#: response falls below 1e-9 of its peak 415 outputs from it, i.e. 830 inputs).
SOXR_HALF_SUPPORT = 830


def _cqt_whole(y: np.ndarray) -> np.ndarray:
    """|CQT| (252 bins, frames every :data:`CQT_HOP` samples at :data:`CQT_RATE`) of ``y`` at
    :data:`SAMPLE_RATE` in one piece."""
    n_bins = N_SEMITONES * BINS_PER_SEMITONE
    fmin = float(_filters()["cqt_fmin"])  # bin 3k+1 is semitone k
    # The CQT only needs up to B7 (3.95 kHz): compute it at half the rate (same frame times).
    y_half = soxr_resample(y, SAMPLE_RATE, CQT_RATE)
    with warnings.catch_warnings():
        # very short clips: librosa warns that its low-octave FFTs exceed the signal length
        warnings.filterwarnings("ignore", message="n_fft=.*is too large", category=UserWarning)
        return cqt_magnitude(y_half, CQT_RATE, CQT_HOP, fmin, n_bins, 12 * BINS_PER_SEMITONE)


def cqt_margin_frames() -> int:
    """CQT frames of context each side of a block that make its frames equal the whole-track
    ones (to float rounding; ``tests/analysis/test_features.py`` measures it): the longest
    octave's frame (half of it each side; the sparsified filters are not strictly time-limited,
    so the whole frame is counted) plus the support of every 2:1 resampler stage before it
    (22.05 -> 11.025 kHz, then one per octave), each at its own input rate, doubled for safety."""
    from musicapp.analysis.cqt import _plan

    n_bins = N_SEMITONES * BINS_PER_SEMITONE
    octaves, _lengths = _plan(float(CQT_RATE), CQT_HOP, float(_filters()["cqt_fmin"]), n_bins,
                              12 * BINS_PER_SEMITONE)
    frame_s = max(n_fft * 2 ** i / CQT_RATE for i, (_b, n_fft) in enumerate(octaves))
    resampler_s = SOXR_HALF_SUPPORT / SAMPLE_RATE + sum(
        SOXR_HALF_SUPPORT * 2 ** i / CQT_RATE for i in range(len(octaves) - 1))
    seconds = 2.0 * (frame_s + resampler_s)
    return int(np.ceil(seconds * CQT_RATE / CQT_HOP))


def _cqt_in_blocks(y: np.ndarray, block_frames: int = CQT_BLOCK_FRAMES,
                   margin_frames: int | None = None) -> np.ndarray:
    """:func:`_cqt_whole` computed ``block_frames`` frames at a time, each block's samples
    taken with ``margin_frames`` frames of context each side (:func:`cqt_margin_frames`), so
    only one block's resampled copies and octave responses exist at once.

    Blocks start on whole frames (every ``2 * CQT_HOP`` input samples), so each octave's
    decimation keeps the whole track's sample grid; the first block has the track's own zero
    padding on the left, the last its own end (the same frame count as the whole). Interior
    frames equal the whole-track ones to float rounding (soxr's block-wise arithmetic)."""
    margin = cqt_margin_frames() if margin_frames is None else int(margin_frames)
    step = 2 * CQT_HOP  # input samples per CQT frame
    n = y.size
    # the whole form has 1 + ceil(n / 2) // CQT_HOP frames at most: filled block by block
    out = np.empty((N_SEMITONES * BINS_PER_SEMITONE, n // step + 2), dtype=np.float32)
    first = 0
    while True:
        lo = max(0, first - margin)
        hi_sample = min(n, (first + block_frames + margin) * step)
        C = _cqt_whole(y[lo * step:hi_sample])
        if hi_sample >= n:  # the track's own end: every remaining frame
            part = C[:, first - lo:]
            out[:, first:first + part.shape[1]] = part
            return out[:, :first + part.shape[1]]
        out[:, first:first + block_frames] = C[:, first - lo:first - lo + block_frames]
        first += block_frames


def _semitone_spectrum(y: np.ndarray, n_frames: int, in_blocks: bool | None = None,
                       block_frames: int = CQT_BLOCK_FRAMES) -> tuple[np.ndarray, float]:
    """(semitones (84, n_frames), tuning). ``in_blocks`` None: tracks up to
    :data:`LONG_TRACK_S` in one piece, longer ones in blocks: the CQT ``block_frames`` frames at
    a time (:func:`_cqt_in_blocks`) and the interpolation, tuning and folding in column chunks
    (:func:`_fold_semitones`), so no whole-track copy of the 252-bin spectrum at the analysis
    frame rate exists (a 3-hour track: 0.5 GB per copy, ~1.8 GB at the one-piece peak)."""
    factor = CQT_HOP * SAMPLE_RATE // (CQT_RATE * HOP)
    if in_blocks is None:
        in_blocks = y.size > LONG_TRACK_S * SAMPLE_RATE
    if not in_blocks:
        C = _to_analysis_frames(_cqt_whole(y), factor)
        C = C[:, :n_frames]
        if C.shape[1] < n_frames:
            C = np.pad(C, ((0, 0), (0, n_frames - C.shape[1])))
        # Tuning: circular mean of the energy's position within each semitone's 3 bins.
        energy = (C**2).reshape(N_SEMITONES, BINS_PER_SEMITONE, -1).sum(axis=(0, 2))
        tuning = _tuning(energy)
        return _shift_and_fold(C, tuning), tuning
    C = _cqt_in_blocks(y, block_frames)
    return _fold_semitones(C, factor, n_frames)


def _tuning(energy: np.ndarray) -> float:
    """Tuning in semitones (within +-0.5): the circular mean of the energy's position within
    each semitone's 3 bins (``energy``: summed per position)."""
    phase = np.angle(np.sum(energy * np.exp(2j * np.pi * (np.arange(3) - 1) / 3)))
    return float(phase / (2 * np.pi))


def _shift_and_fold(C: np.ndarray, tuning: float) -> np.ndarray:
    """The 252-bin spectrum ``C`` shifted by ``tuning`` (linear interpolation between bins)
    and folded into 84 semitones (weights 1/4, 1/2, 1/4); element by element, so any column
    range gives the same values as the whole."""
    n_bins = N_SEMITONES * BINS_PER_SEMITONE
    shift = tuning * BINS_PER_SEMITONE  # bins
    idx = np.arange(n_bins, dtype=np.float64) + shift
    i0 = np.clip(np.floor(idx).astype(int), 0, n_bins - 1)
    i1 = np.clip(i0 + 1, 0, n_bins - 1)
    a = (idx - np.floor(idx)).astype(np.float32)[:, None]
    Cs = (1 - a) * C[i0] + a * C[i1]
    Cs = Cs.reshape(N_SEMITONES, BINS_PER_SEMITONE, -1)
    semis = 0.25 * Cs[:, 0] + 0.5 * Cs[:, 1] + 0.25 * Cs[:, 2]
    return semis.astype(np.float32)


#: CQT columns interpolated and folded at once in :func:`_fold_semitones`
FOLD_COLUMNS = 4096


def _fold_semitones(C: np.ndarray, factor: int, n_frames: int) -> tuple[np.ndarray, float]:
    """The one-piece path's interpolation onto analysis frames, tuning and folding of the CQT
    frames ``C``, :data:`FOLD_COLUMNS` CQT columns at a time: the interpolated values and the
    folded ones are the same element by element; the tuning's energy is summed per chunk (in
    float64), so it can differ from the one-piece sum in its last bits."""
    m = C.shape[1]
    if m < 2:  # (not reached by long tracks; kept for completeness)
        full = _to_analysis_frames(C, factor)[:, :n_frames]
        full = np.pad(full, ((0, 0), (0, max(0, n_frames - full.shape[1]))))
        energy = (full**2).reshape(N_SEMITONES, BINS_PER_SEMITONE, -1).sum(axis=(0, 2))
        tuning = _tuning(energy)
        return _shift_and_fold(full, tuning), tuning

    def chunks():
        """(first analysis frame, interpolated chunk) covering frames 0 .. n_frames - 1."""
        for k in range(0, m - 1, FOLD_COLUMNS):
            last = min(m, k + FOLD_COLUMNS + 1)
            part = _to_analysis_frames(C[:, k:last], factor)
            if last < m:  # the next chunk starts with this chunk's last column
                part = part[:, :-1]
            start = k * factor
            if start >= n_frames:
                return
            yield start, part[:, :n_frames - start]

    energy = np.zeros(BINS_PER_SEMITONE, dtype=np.float64)
    for _start, part in chunks():
        energy += (part.astype(np.float64) ** 2).reshape(
            N_SEMITONES, BINS_PER_SEMITONE, -1).sum(axis=(0, 2))
    tuning = _tuning(energy)
    semis = np.zeros((N_SEMITONES, n_frames), dtype=np.float32)  # zero beyond the CQT's frames
    for start, part in chunks():
        semis[:, start:start + part.shape[1]] = _shift_and_fold(part, tuning)
    return semis, tuning


def _to_analysis_frames(C: np.ndarray, factor: int) -> np.ndarray:
    """Linear interpolation of frames every ``factor`` analysis frames onto every frame
    (centred frames: column k is at analysis frame ``k * factor``).

    Frame ``k * factor + p`` is ``(1 - a) * C[:, k] + a * C[:, k + 1]`` with ``a`` its offset
    ``p / factor`` (float32), the last frame ``C[:, -1]`` the same way from ``k = -2``; each
    phase ``p`` is computed from column slices (no gathered copies of ``C``). The result is
    column-major (Fortran order)."""
    if factor <= 1 or C.shape[1] < 2:
        return C
    m = C.shape[1]
    n = (m - 1) * factor + 1
    pos = np.arange(n) / factor
    i0 = np.minimum(pos.astype(int), m - 2)
    a = (pos - i0).astype(np.float32)
    # column-major, as the gathered form ``(1 - a) * C[:, i0] + ...`` was: the tuning's energy
    # sum below runs in memory order, so the layout decides its last bits
    out = np.empty((C.shape[0], n), dtype=np.result_type(C.dtype, np.float32), order="F")
    left, right = C[:, :-1], C[:, 1:]
    for p in range(factor):  # frames p, p + factor, ... before the last: i0 = k
        w = a[p:n - 1:factor]
        out[:, p:n - 1:factor] = (1 - w) * left + w * right
    out[:, -1] = (1 - a[-1]) * C[:, -2] + a[-1] * C[:, -1]
    return out


def compute_frames(y: np.ndarray) -> Frames:
    """Frame features of mono audio at :data:`SAMPLE_RATE`."""
    if y.size < 4096:
        y = np.pad(y, (0, 4096 - y.size))
    onset, low_onset, rms = _onsets(y)
    semis, tuning = _semitone_spectrum(y, onset.shape[0])
    return Frames(onset=onset.astype(np.float32), low_onset=low_onset.astype(np.float32),
                  semitones=semis, rms=rms, duration=y.size / SAMPLE_RATE, tuning=tuning)


#: frames whose running sum :func:`segment_mean` computes at once
SEGMENT_COLUMNS = 1 << 15


def segment_mean(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Mean of ``x`` (d, n) over frame ranges ``bounds[i]:bounds[i+1]`` -> (d, len(bounds)-1).

    From the running sum ``cs`` (``cs[:, j]`` = sum of the first ``j`` frames, accumulated
    frame by frame as ``np.cumsum``) at the bounds, computed :data:`SEGMENT_COLUMNS` frames at
    a time with the previous chunk's last sum as the first term, so every sum is the whole
    ``np.cumsum``'s to the last bit without a whole-track copy (a 3-hour semitone spectrum:
    0.16 GB per copy)."""
    n = x.shape[1]
    b = np.clip(np.asarray(bounds, dtype=int), 0, n)
    carry = np.zeros((x.shape[0], 1), x.dtype)
    cs = np.empty((x.shape[0], b.size), dtype=np.result_type(carry, np.cumsum(x[:, :0], axis=1)))
    for a in range(0, max(n, 1), SEGMENT_COLUMNS):
        e = min(n, a + SEGMENT_COLUMNS)
        acc = np.cumsum(np.concatenate([carry, x[:, a:e]], axis=1), axis=1)  # cs[:, a..e]
        here = (b >= a) & (b <= e)
        cs[:, here] = acc[:, b[here] - a]
        carry = acc[:, -1:]
    lengths = np.maximum(1, b[1:] - b[:-1])
    return (cs[:, 1:] - cs[:, :-1]) / lengths


def bass_treble_chroma(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fold a semitone spectrum (84, m) into (treble chroma, bass chroma), each (12, m).

    Weights follow NNLS-Chroma: bass is a raised-cosine window centred near MIDI 40 (E2), treble
    one over MIDI ~50..96.
    """
    midi = np.arange(N_SEMITONES) + MIDI_LOW
    bass_w = np.clip(np.cos((midi - 38) / 20.0 * np.pi), 0, None) * (midi < 58)
    treble_w = np.clip(np.sin((midi - 38) / 66.0 * np.pi), 0, None) * (midi >= 42)
    fold = np.zeros((12, N_SEMITONES), dtype=np.float32)
    fold[midi % 12, np.arange(N_SEMITONES)] = 1.0
    treble = fold @ (notes * treble_w[:, None])
    bass = fold @ (notes * bass_w[:, None])
    return treble.astype(np.float32), bass.astype(np.float32)


#: semitone offset of the partial removed (the 5th: a major third two octaves up) and its assumed
#: relative magnitude; the octave and fifth partials coincide with chord tones and are kept
PARTIALS = ((28, 0.2),)


def suppress_partials(notes: np.ndarray, strength: float = 0.0, below_midi: int = 52) -> np.ndarray:
    """Remove the expected upper partials of each note from a semitone spectrum (84, m),
    lowest notes first (a light, one-pass form of NNLS-Chroma's approximate transcription):
    the major third two octaves above a loud bass note (its 5th partial) otherwise turns minor
    chords major. Only notes below ``below_midi`` (the bass register) are treated."""
    if strength <= 0:
        return notes
    x = np.array(notes, dtype=np.float64, copy=True)
    n = x.shape[0]
    for k in range(min(n, below_midi - MIDI_LOW)):
        for off, amp in PARTIALS:
            if k + off < n:
                x[k + off] = np.maximum(0.0, x[k + off] - strength * amp * x[k])
    return x.astype(np.float32)
