"""Landmark audio fingerprints (spectral peak pairs, after Wang 2003), numpy/scipy only.

Pipeline: 8 kHz mono -> STFT (512-point Hann, hop 128 = 16 ms) -> log magnitude -> spectral
whitening (each bin minus its moving average over ~2 s, which removes stationary noise and the
spectral tilt of pink noise) -> local maxima in a time/frequency neighbourhood -> the strongest
``PEAKS_PER_SECOND`` per second -> each anchor peak paired with the next ``FAN_OUT`` peaks in a
target zone -> a 22-bit hash ``f1 (8 bits) | f2 (8 bits) | dt (6 bits)`` at the anchor time.

A stored ``Fingerprint`` is the landmarks plus the band-energy sign ``signature`` (one 32-bit
word per frame, see ``signature``) that the matcher uses to verify candidates.

Time-stretch (tempo change with the pitch kept) moves peaks in time but not in frequency, so a
query is matched at several stretch factors by rescaling its peak times before pairing (see
``matcher``); the reference side is computed once at factor 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.fft import rfft
from scipy.ndimage import uniform_filter1d

SAMPLE_RATE = 8000
N_FFT = 512
HOP = 128
FRAME_SECONDS = HOP / SAMPLE_RATE
MIN_BIN = 8  # 125 Hz: lower peaks (hum, sub-bass) are shared by unrelated tracks
FINGERPRINT_VERSION = 4  # bump when the landmarks change (stored fingerprints are recomputed)
MAX_BIN = 255  # 8 bits of frequency
PEAK_FREQ_NEIGHBOURS = 4  # bins each side (+-62 Hz)
PEAK_TIME_NEIGHBOURS = 3  # frames each side (+-48 ms)
PEAKS_PER_SECOND = 32
FAN_OUT = 8
# Queries use denser peaks and a wider fan-out than the reference: noise adds peaks between the
# reference's, so the reference pairs survive only if the query pairs each peak with more partners.
QUERY_PEAKS_PER_SECOND = 48
QUERY_FAN_OUT = 24
MAX_DT = 63  # frames (6 bits), ~1 s
MAX_DF = 80  # bins between anchor and target
WHITEN_FRAMES = 125  # ~2 s moving average per bin
SMOOTH_FRAMES = 5  # moving average of the magnitude over 80 ms before peak picking (steadies
# partials against noise fluctuations: 0 dB top-1 0.85 -> 0.88, reverb+noise 0.87 -> 0.92 in tuning)
HASH_BITS = 22
_PAIR_CHUNK = 8192  # anchors paired at once
_SUB_FRAMES = 256  # frames transformed at once (the temporaries stay in the CPU caches)


@dataclass
class Peaks:
    """Spectral peaks of one signal: frame index and frequency bin (sorted by time)."""

    times: np.ndarray  # int32 frames
    bins: np.ndarray  # int32 bins

    def __len__(self) -> int:
        return int(self.times.size)


def spectrogram(y: np.ndarray) -> np.ndarray:
    """Whitened log-magnitude spectrogram, shape (frames, N_FFT // 2 + 1), float32."""
    return np.ascontiguousarray(_whitened_bins(y).T)


def _whitened_bins(y: np.ndarray) -> np.ndarray:
    """:func:`spectrogram` transposed, shape (N_FFT // 2 + 1, frames): the moving averages run
    along contiguous rows (scipy's filters are faster there; the values are the same)."""
    y = np.asarray(y, dtype=np.float32)
    if y.size < N_FFT:
        y = np.pad(y, (0, N_FFT - y.size))
    frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP]
    window = np.hanning(N_FFT).astype(np.float32)
    # |STFT|, transformed _SUB_FRAMES frames at a time along axis 0 of the transposed frames
    # (each chunk's (bins, frames) spectrum comes out in the layout the filters below want)
    mag = np.empty((N_FFT // 2 + 1, frames.shape[0]), dtype=np.float32)
    windowed = np.empty((N_FFT, min(_SUB_FRAMES, frames.shape[0])), dtype=np.float32)
    for a in range(0, frames.shape[0], _SUB_FRAMES):
        k = min(_SUB_FRAMES, frames.shape[0] - a)
        np.multiply(frames[a:a + k].T, window[:, None], out=windowed[:, :k])
        np.abs(rfft(windowed[:, :k], axis=0), out=mag[:, a:a + k])
    if SMOOTH_FRAMES > 1:
        mag = uniform_filter1d(mag, size=SMOOTH_FRAMES, axis=1, mode="nearest")
    logmag = np.log(mag + 1e-4 * (float(mag.max()) + 1e-9))
    logmag -= uniform_filter1d(logmag, size=WHITEN_FRAMES, axis=1, mode="nearest")
    return logmag


def sliding_max(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Maximum over a centred window of odd ``size`` along ``axis``, ``-inf`` beyond the edges:
    ``scipy.ndimage.maximum_filter1d(x, size, axis, mode="constant", cval=-inf)`` by doubling
    (windows of 1, 2, 4, ... samples combined by ``np.maximum``), about twice as fast."""
    h = size // 2
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (h, h)
    m = np.pad(x, pad, constant_values=-np.inf)

    def part(a: np.ndarray, start: int, length: int) -> np.ndarray:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + length)
        return a[tuple(index)]

    width, length = 1, n + 2 * h
    while 2 * width <= size:  # m[i] = max of the padded input over i .. i + 2 * width - 1
        length -= width
        m = np.maximum(part(m, 0, length), part(m, width, length))
        width *= 2
    if width < size:
        m = np.maximum(part(m, 0, n), part(m, size - width, n))
    return part(m, 0, n)


def find_peaks(y: np.ndarray, density: int | None = None) -> Peaks:
    """Pick landmark peaks from 8 kHz mono audio, at most ``density`` per second
    (default ``PEAKS_PER_SECOND``)."""
    density = PEAKS_PER_SECOND if density is None else density
    sub = _whitened_bins(y)[MIN_BIN : MAX_BIN + 1]  # (bins, frames)
    # local maxima: the maximum over the (time, frequency) neighbourhood, -inf beyond the edges
    local_max = sliding_max(sliding_max(sub, 2 * PEAK_FREQ_NEIGHBOURS + 1, 0),
                            2 * PEAK_TIME_NEIGHBOURS + 1, 1)
    is_peak = (sub == local_max) & (sub > 0.0)
    t, f = np.nonzero(is_peak.T)  # time-major order, as the ranking below expects
    if t.size == 0:
        return Peaks(np.zeros(0, np.int32), np.zeros(0, np.int32))
    strength = sub[f, t]
    # Keep the strongest peaks of each one-second block (density control).
    block = (t * FRAME_SECONDS).astype(np.int64)
    order = np.lexsort((-strength, block))
    t, f, block = t[order], f[order], block[order]
    starts = np.r_[0, np.flatnonzero(np.diff(block)) + 1]
    rank = np.arange(t.size) - np.repeat(starts, np.diff(np.r_[starts, t.size]))
    keep = rank < density
    t, f = t[keep], f[keep] + MIN_BIN
    order = np.lexsort((f, t))
    return Peaks(t[order].astype(np.int32), f[order].astype(np.int32))


def landmark_hash(f1: np.ndarray, f2: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """The 22-bit hash ``f1 (8 bits) | f2 (8 bits) | dt (6 bits)`` as uint32."""
    f1, f2, dt = (np.asarray(v).astype(np.uint32) for v in (f1, f2, dt))
    return (f1 << np.uint32(14)) | (f2 << np.uint32(6)) | dt


def pair_peaks(peaks: Peaks, stretch: float = 1.0, fan_out: int = FAN_OUT) -> tuple[np.ndarray, np.ndarray]:
    """Hashes and anchor times of peak pairs; peak times are first multiplied by ``stretch``.

    Returns ``(hashes uint32, anchor_times int32)``. ``fan_out`` defaults to ``FAN_OUT``.
    """
    fan_out = FAN_OUT if fan_out is None else fan_out
    n = len(peaks)
    if n < 2:
        return np.zeros(0, np.uint32), np.zeros(0, np.int32)
    times = peaks.times.astype(np.float64) * stretch
    bins = peaks.bins
    window = 4 * fan_out
    hashes, anchors = [], []
    # anchors in chunks (each anchor's pairs depend on its own row only): a 3-hour track's
    # ~350,000 peaks would otherwise take several (peaks, window) int64 arrays of ~90 MB each
    for start in range(0, n, _PAIR_CHUNK):
        i = np.arange(start, min(n, start + _PAIR_CHUNK))[:, None]
        j = i + np.arange(1, window + 1)[None, :]
        valid = j < n
        j = np.minimum(j, n - 1)
        dt = np.rint(times[j] - times[i]).astype(np.int64)
        df = bins[j] - bins[i]
        ok = valid & (dt >= 1) & (dt <= MAX_DT) & (np.abs(df) <= MAX_DF)
        ok &= np.cumsum(ok, axis=1) <= fan_out
        ai, aj = np.nonzero(ok)
        jj = j[ai, aj]
        ai = ai + start
        anchors.append(np.rint(times[ai]).astype(np.int32))
        hashes.append(landmark_hash(bins[ai], bins[jj], dt[ai - start, aj]))
    return np.concatenate(hashes), np.concatenate(anchors)


@dataclass
class QueryPairs:
    """Candidate peak pairs of a query, computed once and re-hashed for each stretch factor.

    Pairs are taken with a wide fan-out over raw time gaps up to ``MAX_DT / min_stretch`` so
    that every pair a stretched reference could contain is present.
    """

    f1: np.ndarray  # uint32
    f2: np.ndarray  # uint32
    dt: np.ndarray  # float64 raw frames
    t: np.ndarray  # float64 anchor frames

    @classmethod
    def from_peaks(cls, peaks: Peaks, fan_out: int, min_stretch: float = 1.0) -> QueryPairs:
        """All pairs of ``peaks`` inside the (widened) target zone, ``fan_out`` per anchor."""
        n = len(peaks)
        if n < 2:
            z = np.zeros(0)
            return cls(z.astype(np.uint32), z.astype(np.uint32), z, z)
        times, bins = peaks.times.astype(np.float64), peaks.bins
        max_dt = (MAX_DT + 0.5) / min(min_stretch, 1.0)
        i = np.arange(n)[:, None]
        j = i + np.arange(1, 4 * fan_out + 1)[None, :]
        valid = j < n
        j = np.minimum(j, n - 1)
        dt = times[j] - times[i]
        ok = valid & (dt >= 0.5) & (dt <= max_dt) & (np.abs(bins[j] - bins[i]) <= MAX_DF)
        ok &= np.cumsum(ok, axis=1) <= fan_out
        ai, aj = np.nonzero(ok)
        jj = j[ai, aj]
        return cls(bins[ai].astype(np.uint32), bins[jj].astype(np.uint32), dt[ai, aj], times[ai])

    def hashes(self, stretch: float, pivot: float, tolerant: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, anchor_times)`` with query times scaled by ``stretch`` about ``pivot``.

        ``tolerant`` also emits every hash with ``f1``, ``f2`` and ``dt`` moved by one step
        (27 variants per pair): noise often shifts a peak by one bin or frame, which changes the
        exact hash but not these neighbours.
        """
        dt = np.rint(self.dt * stretch)
        t = np.rint((self.t - pivot) * stretch + pivot).astype(np.int64)
        if not tolerant:
            ok = (dt >= 1) & (dt <= MAX_DT)
            return landmark_hash(self.f1[ok], self.f2[ok], dt[ok]), t[ok]
        f1, f2, d = self.f1.astype(np.int64), self.f2.astype(np.int64), dt.astype(np.int64)
        out_h, out_t = [], []
        for a in (-1, 0, 1):
            g1 = f1 + a
            for b in (-1, 0, 1):
                g2 = f2 + b
                for c in (-1, 0, 1):
                    gd = d + c
                    ok = (
                        (g1 >= 0) & (g1 <= MAX_BIN) & (g2 >= 0) & (g2 <= MAX_BIN) & (gd >= 1) & (gd <= MAX_DT)
                    )
                    out_h.append(landmark_hash(g1[ok], g2[ok], gd[ok]))
                    out_t.append(t[ok])
        return np.concatenate(out_h), np.concatenate(out_t)


def unique_landmarks(hashes: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``(hash, time)`` landmarks, sorted by time then hash."""
    if hashes.size == 0:
        return hashes, times
    packed = np.unique((times.astype(np.uint64) << np.uint64(32)) | hashes.astype(np.uint64))
    return (packed & np.uint64(0xFFFFFFFF)).astype(np.uint32), (packed >> np.uint64(32)).astype(np.int32)


def fingerprint_samples(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference landmarks of 8 kHz audio: unique ``(hashes uint32, times int32)`` (the
    whole-signal form; :func:`compute` takes the block-wise one, which gives the same)."""
    return unique_landmarks(*pair_peaks(find_peaks(y)))


_MAGIC = b"MFP4"


@dataclass
class Fingerprint:
    """What is stored per library track: landmarks and the verification signature."""

    hashes: np.ndarray  # uint32 landmark hashes
    times: np.ndarray  # int32 anchor frames
    signature: np.ndarray  # uint32, one word per frame (``signature.reference_signature``)

    def __len__(self) -> int:
        return int(self.hashes.size)

    def pack(self) -> bytes:
        """Serialise: ``MFP4``, landmark count, frame count (uint32 LE), then the landmarks as
        interleaved (hash, time) uint32 LE, then the signature words (uint32 LE)."""
        head = np.array([self.hashes.size, self.signature.size], dtype="<u4").tobytes()
        pairs = np.empty((self.hashes.size, 2), dtype="<u4")
        pairs[:, 0] = self.hashes
        pairs[:, 1] = self.times.astype(np.int64).astype("<u4")
        return _MAGIC + head + pairs.tobytes() + self.signature.astype("<u4").tobytes()

    @classmethod
    def unpack(cls, blob: bytes) -> Fingerprint:
        """Inverse of ``pack``; raises ValueError on a blob of another format or a damaged one."""
        if len(blob) < 12 or blob[:4] != _MAGIC:
            raise ValueError("not a format-4 fingerprint (re-index the library to recompute it)")
        n_landmarks, n_frames = (int(v) for v in np.frombuffer(blob, dtype="<u4", count=2, offset=4))
        if len(blob) != 12 + 8 * n_landmarks + 4 * n_frames:
            raise ValueError(f"damaged fingerprint: {len(blob)} bytes for {n_landmarks} landmarks")
        pairs = np.frombuffer(blob, dtype="<u4", count=2 * n_landmarks, offset=12).reshape(-1, 2)
        signature = np.frombuffer(blob, dtype="<u4", count=n_frames, offset=12 + 8 * n_landmarks)
        return cls(pairs[:, 0].astype(np.uint32), pairs[:, 1].astype(np.int32), signature.astype(np.uint32))


#: Tracks up to this many 8-kHz samples (10 minutes) take the whole-signal form, which computes
#: the magnitudes once instead of twice (a 3-minute track: about 0.2 s instead of 0.35 s) and
#: holds at most a few hundred MB; longer ones take the block form. Both give the same bits.
WHOLE_FORM_MAX_SAMPLES = 10 * 60 * SAMPLE_RATE


def _whole_form(y: np.ndarray) -> Fingerprint:
    """The whole-signal form of :func:`compute` (8 kHz mono float32)."""
    from musicapp.library.signature import reference_signature

    hashes, times = fingerprint_samples(y)
    return Fingerprint(hashes, times, reference_signature(y))


def compute(y: np.ndarray) -> Fingerprint:
    """Fingerprint 8 kHz mono audio (landmarks and signature): whole up to
    :data:`WHOLE_FORM_MAX_SAMPLES`, else in bounded blocks
    (:mod:`musicapp.library.fingerprint_blocks`; the same result as the whole-signal form)."""
    from musicapp.library import fingerprint_blocks

    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.size <= WHOLE_FORM_MAX_SAMPLES:
        return _whole_form(y)
    return fingerprint_blocks.compute_counted(fingerprint_blocks.array_source(y))[0]


def compute_resampled(samples: np.ndarray, sample_rate: int) -> tuple[Fingerprint, float]:
    """Fingerprint mono ``samples`` at ``sample_rate``: ``(fingerprint, seconds at 8 kHz)``.

    The samples are resampled to 8 kHz block by block, so the 8 kHz copy never exists whole;
    the result equals ``compute(resample(samples, sample_rate, 8000))``.
    """
    from musicapp.library import fingerprint_blocks

    source = fingerprint_blocks.resampled_source(samples, sample_rate)
    if np.asarray(samples).size * SAMPLE_RATE / sample_rate <= WHOLE_FORM_MAX_SAMPLES:
        parts = list(source())  # the same streamed samples, joined: at most 10 minutes
        y8 = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return _whole_form(y8), y8.size / SAMPLE_RATE
    return fingerprint_blocks.compute_counted(source)


def fingerprint_file(path: str | Path) -> tuple[Fingerprint, float]:
    """Fingerprint an audio file: ``(fingerprint, duration_s)``. The file is decoded once at
    8 kHz (a 3-hour file: 350 MB) and fingerprinted in bounded blocks."""
    from musicapp.library._audio import load_mono

    y = load_mono(path, SAMPLE_RATE)
    return compute(y), y.size / SAMPLE_RATE


def fingerprint_file_checked(path: str | Path) -> tuple[Fingerprint, float, dict[str, Any]]:
    """:func:`fingerprint_file` plus what a fingerprint-only track stores as its analysis.

    The third item holds the decoder's warnings (``truncated ...``, non-finite samples, a skipped
    tag) and the pipeline's status of these samples (``silence``, ``too short``, ``damaged``; no
    part runs), as ``{"warnings": [...], "status": ...}`` with only what differs from a clean
    file (``{}`` for a clean file), so ``library add --fingerprint-only`` flags the same files
    as a full add.
    """
    from musicapp.audio import load_audio
    from musicapp.pipeline import analyze_samples
    from musicapp.track_analysis import OK

    audio = load_audio(path, sr=SAMPLE_RATE, mono=True)
    y = np.ascontiguousarray(audio.samples, dtype=np.float32)
    found = analyze_samples(y, SAMPLE_RATE, tags=False, music=False,
                            damaged_share=audio.damaged_share)
    notes: dict[str, Any] = {}
    warnings = [*audio.warnings, *found.warnings]
    if warnings:
        notes["warnings"] = warnings
    if found.status != OK:
        notes["status"] = found.status
    return compute(y), y.size / SAMPLE_RATE, notes


def with_decoder_notes(analysis: dict[str, Any], notes: dict[str, Any]) -> dict[str, Any]:
    """``analysis`` (a custom analyser's dict) with ``notes`` from
    :func:`fingerprint_file_checked` added: its warnings first (those the analysis does not
    already give), its status unless the analysis has one."""
    if not notes:
        return analysis
    out = dict(analysis)
    said = [str(w) for w in out.get("warnings") or []]
    out_warnings = [w for w in notes.get("warnings", []) if w not in said] + said
    if out_warnings:
        out["warnings"] = out_warnings
    if "status" in notes and "status" not in out:
        out["status"] = notes["status"]
    return out
