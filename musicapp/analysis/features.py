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
    if np.isfinite(y).all():  # the usual case: one pass instead of nan_to_num's five
        y = y.copy() if copy or sample_rate != SAMPLE_RATE else y
    else:
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    if sample_rate != SAMPLE_RATE and y.size:
        from musicapp.audio import resample

        y = np.asarray(resample(y, int(sample_rate), SAMPLE_RATE), dtype=np.float32)
    return y


def _onsets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mel, rms = _mel_and_rms(y, 2048, HOP)
    ref = max(float(mel.max()), 1e-10)
    logmel = 10.0 * np.log10(np.maximum(mel, ref * 1e-8) / ref)  # 80 dB range
    flux = np.maximum(0.0, np.diff(logmel, axis=1, prepend=logmel[:, :1]))
    low = _filters()["mel_frequencies"] < 200.0
    return flux.mean(axis=0), flux[low].mean(axis=0), rms


def _mel_and_rms(y: np.ndarray, n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """64-band Mel power (64, frames) and frame RMS of centred, Hann-windowed frames: the same
    values as ``librosa.stft`` + ``melspectrogram`` at about half the cost (frames cut from a
    strided view, a BLAS product for the filter bank), 2048 frames at a time. The windowing,
    transform and power run :data:`SUB_FRAMES` frames at a time into reused buffers (large
    temporaries cost more in memory traffic than the arithmetic); the filter-bank product still
    takes 2048 frames at once, so its sums are the same."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy import fft as sfft

    yp = np.pad(np.asarray(y, dtype=np.float32), (n_fft // 2, n_fft // 2))
    frames = sliding_window_view(yp, n_fft)[::hop]
    n = frames.shape[0]
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
        for b in range(0, m, SUB_FRAMES):
            k = min(SUB_FRAMES, m - b)
            np.multiply(frames[a + b:a + b + k], window, out=windowed[:k])
            spec = sfft.rfft(windowed[:k], axis=1)
            np.square(spec.real, out=power[b:b + k])
            np.add(power[b:b + k], np.square(spec.imag, out=imag2[:k]), out=power[b:b + k])
        rms[a:a + m] = np.sqrt(np.mean(power[:m], axis=1) / n_fft * 2)
        mel[:, a:a + m] = (power[:m] @ basis_t).T
    return mel, rms


#: frames windowed and transformed at once (keeps the temporaries in the CPU caches)
SUB_FRAMES = 256


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


def _semitone_spectrum(y: np.ndarray, n_frames: int) -> tuple[np.ndarray, float]:
    n_bins = N_SEMITONES * BINS_PER_SEMITONE
    fmin = float(_filters()["cqt_fmin"])  # bin 3k+1 is semitone k
    # The CQT only needs up to B7 (3.95 kHz): compute it at half the rate (same frame times).
    y_half = soxr_resample(y, SAMPLE_RATE, CQT_RATE)
    with warnings.catch_warnings():
        # very short clips: librosa warns that its low-octave FFTs exceed the signal length
        warnings.filterwarnings("ignore", message="n_fft=.*is too large", category=UserWarning)
        C = cqt_magnitude(y_half, CQT_RATE, CQT_HOP, fmin, n_bins, 12 * BINS_PER_SEMITONE)
    C = _to_analysis_frames(C, CQT_HOP * SAMPLE_RATE // (CQT_RATE * HOP))
    C = C[:, :n_frames]
    if C.shape[1] < n_frames:
        C = np.pad(C, ((0, 0), (0, n_frames - C.shape[1])))
    # Tuning: circular mean of the energy's position within each semitone's 3 bins.
    energy = (C**2).reshape(N_SEMITONES, BINS_PER_SEMITONE, -1).sum(axis=(0, 2))
    phase = np.angle(np.sum(energy * np.exp(2j * np.pi * (np.arange(3) - 1) / 3)))
    tuning = float(phase / (2 * np.pi))  # semitones, within +-0.5
    shift = tuning * BINS_PER_SEMITONE  # bins
    idx = np.arange(n_bins, dtype=np.float64) + shift
    i0 = np.clip(np.floor(idx).astype(int), 0, n_bins - 1)
    i1 = np.clip(i0 + 1, 0, n_bins - 1)
    a = (idx - np.floor(idx)).astype(np.float32)[:, None]
    Cs = (1 - a) * C[i0] + a * C[i1]
    Cs = Cs.reshape(N_SEMITONES, BINS_PER_SEMITONE, -1)
    semis = 0.25 * Cs[:, 0] + 0.5 * Cs[:, 1] + 0.25 * Cs[:, 2]
    return semis.astype(np.float32), tuning


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


def segment_mean(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Mean of ``x`` (d, n) over frame ranges ``bounds[i]:bounds[i+1]`` -> (d, len(bounds)-1)."""
    n = x.shape[1]
    b = np.clip(np.asarray(bounds, dtype=int), 0, n)
    cs = np.concatenate([np.zeros((x.shape[0], 1), x.dtype), np.cumsum(x, axis=1)], axis=1)
    lengths = np.maximum(1, b[1:] - b[:-1])
    return (cs[:, b[1:]] - cs[:, b[:-1]]) / lengths


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
