"""The reference fingerprint of a whole track computed in bounded blocks, equal bit for bit to
the whole-signal form (:func:`musicapp.library.fingerprint.fingerprint_samples` and
:func:`musicapp.library.signature.reference_signature`).

The whole-signal form holds the track's spectrogram several times (a 3-hour track: ~700 MB per
copy, ~4 GB at its peak). Here the 8 kHz samples arrive as a stream of blocks (an array cut in
pieces, or a longer-rate track resampled on the fly) and every stage keeps only what its
neighbourhood needs:

* ``|STFT|`` in the same 256-frame batches as the whole form (so every FFT is the same call);
* the moving averages (80 ms smoothing, 2 s whitening) as scipy's ``uniform_filter1d`` computes
  them, a running sum in float64 over each bin (``tmp += x[i + size] - x[i]``, out ``tmp / size``)
  carried from block to block, so each value equals scipy's to the last bit;
* the log floor needs the largest smoothed magnitude of the whole track, so the magnitudes are
  computed twice: one pass finds the maximum, the next picks the peaks;
* peaks need three frames on each side; the strongest ``PEAKS_PER_SECOND`` are chosen per whole
  second once every frame of that second has been seen;
* the band-energy signature is computed in the same 4096-frame band products as the whole form.

The source is called once per pass (three passes: maximum, peaks, signature), so memory stays a
few tens of megabytes whatever the track's length; the price is computing the magnitudes twice and
reading (or resampling) the samples three times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from scipy.fft import rfft

from musicapp.library import fingerprint as fp
from musicapp.library import signature as sig

#: Returns a fresh iterator over the track's consecutive 8 kHz mono float32 blocks (any sizes).
Source = Callable[[], Iterator[np.ndarray]]

#: Samples per block when an in-memory array is read as a stream (~8 s at 8 kHz).
ARRAY_BLOCK = 1 << 16


def array_source(y: np.ndarray, block: int = ARRAY_BLOCK) -> Source:
    """A :data:`Source` reading the 1-D array ``y`` in slices of ``block`` samples (no copy)."""
    y = np.asarray(y, dtype=np.float32).reshape(-1)

    def blocks() -> Iterator[np.ndarray]:
        for start in range(0, y.size, block):
            yield y[start:start + block]

    return blocks


def resampled_source(y: np.ndarray, sample_rate: int, block: int = 1 << 18) -> Source:
    """A :data:`Source` resampling the mono array ``y`` from ``sample_rate`` to 8 kHz on the fly
    (soxr's streaming form gives the very samples of the whole-signal resampling)."""
    from musicapp.audio.resample import StreamResampler

    y = np.asarray(y).reshape(-1)
    if sample_rate == fp.SAMPLE_RATE:
        return array_source(y)

    def blocks() -> Iterator[np.ndarray]:
        stream = StreamResampler(sample_rate, fp.SAMPLE_RATE, 1)
        for start in range(0, y.size, block):
            out = stream.process(np.asarray(y[start:start + block], dtype=np.float32))
            if out.shape[0]:
                yield out[:, 0]
        tail = stream.flush()
        if tail.shape[0]:
            yield tail[:, 0]

    return blocks


class _Samples:
    """Consecutive samples of a block iterator, read at increasing positions; zeros past the end."""

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._blocks = blocks
        self._buf = np.zeros(0, np.float32)
        self._start = 0  # stream position of _buf[0]
        self.total: int | None = None  # samples in the stream, once its end has been seen

    def ensure(self, end: int) -> int:
        """Read until ``end`` samples are present or the stream ends; the samples present."""
        parts = [self._buf]
        have = self._start + self._buf.size
        while have < end and self.total is None:
            block = next(self._blocks, None)
            if block is None:
                self.total = have
                break
            block = np.asarray(block, dtype=np.float32).reshape(-1)
            parts.append(block)
            have += block.size
        if len(parts) > 1:
            self._buf = np.concatenate(parts)
        return have

    def get(self, start: int, end: int) -> np.ndarray:
        """Samples ``start..end-1`` (zeros past the stream's end); forgets those before ``start``."""
        self.ensure(end)
        if start > self._start:
            cut = min(start - self._start, self._buf.size)
            self._buf, self._start = self._buf[cut:], self._start + cut
        out = self._buf[start - self._start:end - self._start]
        return np.pad(out, (0, end - start - out.size)) if out.size < end - start else out


def _frame_chunks(samples: _Samples, frame_len: int, chunk: int,
                  count: Callable[[int], int]) -> Iterator[tuple[int, np.ndarray]]:
    """``(first frame, frames (k, frame_len))`` in chunks of ``chunk`` frames starting at
    multiples of ``chunk``; frame ``i`` is samples ``i * HOP ..``; ``count(n)``: frames of ``n``
    samples."""
    first = 0
    while True:
        need = (first + chunk - 1) * fp.HOP + frame_len
        if samples.ensure(need) < need:  # the stream has ended: its length is known
            total = samples.total or 0
            n_frames = count(total)
            while first < n_frames:
                k = min(chunk, n_frames - first)
                y = samples.get(first * fp.HOP, (first + k - 1) * fp.HOP + frame_len)
                yield first, np.lib.stride_tricks.sliding_window_view(y, frame_len)[::fp.HOP][:k]
                first += k
            return
        y = samples.get(first * fp.HOP, need)
        yield first, np.lib.stride_tricks.sliding_window_view(y, frame_len)[::fp.HOP]
        first += chunk


def _landmark_frames(n: int) -> int:
    """Frames of the landmark spectrogram of ``n`` samples (short signals are padded to one)."""
    return 1 if n < fp.N_FFT else (n - fp.N_FFT) // fp.HOP + 1


def _signature_frames(n: int) -> int:
    """Frames of the signature of ``n`` samples."""
    return max(1, 1 + (n - 1) // sig.HOP) if n else 1


class _RunningMean:
    """scipy's ``uniform_filter1d(x, size, axis=1, mode="nearest")`` over columns that arrive in
    pieces: the same float64 running sum, carried across pieces, so the output is identical."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.left = size // 2
        self.right = size - self.left - 1
        self.buf: np.ndarray | None = None  # float64 extended columns not yet consumed
        self.tmp: np.ndarray | None = None  # the running sum (None before the first output)
        self.last: np.ndarray | None = None  # the last real column (right edge extension)

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed columns ``(rows, k)``; returns the means now complete (float32, maybe none)."""
        x64 = x.astype(np.float64)
        if self.buf is None:
            self.buf = np.repeat(x64[:, :1], self.left, axis=1)
        self.buf = np.concatenate([self.buf, x64], axis=1)
        self.last = x64[:, -1:]
        return self._emit()

    def finish(self) -> np.ndarray:
        """The remaining means (the edge column repeated past the end, as scipy's ``nearest``)."""
        if self.buf is None or self.last is None:
            return np.zeros((0, 0), np.float32)
        self.buf = np.concatenate([self.buf, np.repeat(self.last, self.right, axis=1)], axis=1)
        return self._emit()

    def _emit(self) -> np.ndarray:
        buf, size = self.buf, self.size
        assert buf is not None
        if self.tmp is None:
            m = buf.shape[1] - size + 1  # outputs 0 .. m-1
            if m <= 0:
                return np.zeros((buf.shape[0], 0), np.float32)
            tmp = np.zeros(buf.shape[0])
            for k in range(size):  # sequential, as scipy sums the first window
                tmp += buf[:, k]
            steps = buf[:, size:size + m - 1] - buf[:, :m - 1]
            acc = np.cumsum(np.concatenate([tmp[:, None], steps], axis=1), axis=1)
            self.buf = buf[:, m - 1:]
        else:
            # buf starts at the column leaving the window of the next output
            m = buf.shape[1] - size
            if m <= 0:
                return np.zeros((buf.shape[0], 0), np.float32)
            steps = buf[:, size:size + m] - buf[:, :m]
            acc = np.cumsum(np.concatenate([self.tmp[:, None], steps], axis=1), axis=1)[:, 1:]
            self.buf = buf[:, m:]
        self.tmp = acc[:, -1].copy()
        return (acc / size).astype(np.float32)


_WINDOW = np.hanning(fp.N_FFT).astype(np.float32)


def _smoothed_magnitudes(source: Source) -> Iterator[np.ndarray]:
    """``|STFT|`` smoothed over ``SMOOTH_FRAMES``, as ``(bins, k)`` float32 pieces in time order
    (the columns of ``fingerprint._whitened_bins`` before its log)."""
    samples = _Samples(source())
    smooth = _RunningMean(fp.SMOOTH_FRAMES) if fp.SMOOTH_FRAMES > 1 else None
    windowed = np.empty((fp.N_FFT, fp._SUB_FRAMES), dtype=np.float32)
    for _first, frames in _frame_chunks(samples, fp.N_FFT, fp._SUB_FRAMES, _landmark_frames):
        k = frames.shape[0]
        np.multiply(frames.T, _WINDOW[:, None], out=windowed[:, :k])
        mag = np.abs(rfft(windowed[:, :k], axis=0)).astype(np.float32, copy=False)
        out = smooth.push(mag) if smooth is not None else mag
        if out.shape[1]:
            yield out
    if smooth is not None:
        out = smooth.finish()
        if out.shape[1]:
            yield out


class _PeakPicker:
    """Local maxima of the whitened bins (``MIN_BIN..MAX_BIN``) over whitened columns arriving in
    time order, and the strongest ``density`` per whole second (``fingerprint.find_peaks``)."""

    def __init__(self, density: int) -> None:
        self.density = density
        self.sub = np.zeros((fp.MAX_BIN + 1 - fp.MIN_BIN, 0), np.float32)  # whitened columns
        self.fmax = self.sub.copy()  # their maxima over frequency
        self.base = 0  # frame of sub[:, 0]
        self.done = 0  # frames whose peaks have been decided
        # candidate peaks of seconds not yet complete: time, bin, strength
        self.pending = [np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)]
        self.times: list[np.ndarray] = []
        self.bins: list[np.ndarray] = []

    def push(self, cols: np.ndarray, final: bool = False) -> None:
        """Add whitened ``(MAX_BIN + 1 - MIN_BIN, k)`` columns; ``final`` after the last ones."""
        fmax = fp.sliding_max(cols, 2 * fp.PEAK_FREQ_NEIGHBOURS + 1, 0) if cols.shape[1] else cols
        self.sub = np.concatenate([self.sub, cols], axis=1)
        self.fmax = np.concatenate([self.fmax, fmax], axis=1)
        h = fp.PEAK_TIME_NEIGHBOURS
        end = self.base + self.sub.shape[1]  # frames seen
        upto = end if final else end - h  # frames whose neighbourhood is complete
        if upto > self.done:
            self._decide(self.done, upto, end, final)
        keep_from = max(self.base, self.done - h)
        self.sub = self.sub[:, keep_from - self.base:]
        self.fmax = self.fmax[:, keep_from - self.base:]
        self.base = keep_from
        self._select(final, upto)

    def _decide(self, a: int, b: int, end: int, final: bool) -> None:
        h = fp.PEAK_TIME_NEIGHBOURS
        lo, hi = a - self.base, b - self.base
        local = self.fmax[:, lo:hi].copy()
        for s in range(1, h + 1):  # the maximum over +-h frames, -inf beyond the track's edges
            for shift in (-s, s):
                src_lo, src_hi = lo + shift, hi + shift
                c_lo, c_hi = max(src_lo, 0), min(src_hi, self.fmax.shape[1])
                if c_hi > c_lo:
                    dst = slice(c_lo - src_lo, c_lo - src_lo + c_hi - c_lo)
                    np.maximum(local[:, dst], self.fmax[:, c_lo:c_hi], out=local[:, dst])
        sub = self.sub[:, lo:hi]
        t, f = np.nonzero(((sub == local) & (sub > 0.0)).T)
        strength = sub[f, t]
        t = t + a
        self.pending = [np.concatenate([p, v]) for p, v in zip(self.pending, (t, f, strength), strict=True)]
        self.done = b

    def _select(self, final: bool, upto: int) -> None:
        t, f, strength = self.pending
        if t.size == 0:
            return
        block = (t * fp.FRAME_SECONDS).astype(np.int64)
        cut = t.size if final else int(np.searchsorted(block, int(upto * fp.FRAME_SECONDS)))
        if cut == 0:
            return
        self.pending = [t[cut:], f[cut:], strength[cut:]]
        t, f, strength, block = t[:cut], f[:cut], strength[:cut], block[:cut]
        order = np.lexsort((-strength, block))
        t, f, block = t[order], f[order], block[order]
        starts = np.r_[0, np.flatnonzero(np.diff(block)) + 1]
        rank = np.arange(t.size) - np.repeat(starts, np.diff(np.r_[starts, t.size]))
        keep = rank < self.density
        t, f = t[keep], f[keep] + fp.MIN_BIN
        order = np.lexsort((f, t))
        self.times.append(t[order].astype(np.int32))
        self.bins.append(f[order].astype(np.int32))

    def peaks(self) -> fp.Peaks:
        """All peaks chosen so far, sorted by time then bin."""
        if not self.times:
            return fp.Peaks(np.zeros(0, np.int32), np.zeros(0, np.int32))
        return fp.Peaks(np.concatenate(self.times), np.concatenate(self.bins))


def find_peaks(source: Source, density: int | None = None) -> fp.Peaks:
    """:func:`musicapp.library.fingerprint.find_peaks` of the streamed track (equal results)."""
    density = fp.PEAKS_PER_SECOND if density is None else density
    peak = 0.0
    for mag in _smoothed_magnitudes(source):  # pass 1: the log floor's maximum
        peak = max(peak, float(mag.max()))
    floor = 1e-4 * (peak + 1e-9)
    whiten = _RunningMean(fp.WHITEN_FRAMES)
    picker = _PeakPicker(density)
    rows = slice(fp.MIN_BIN, fp.MAX_BIN + 1)
    waiting = np.zeros((rows.stop - rows.start, 0), np.float32)  # log columns awaiting their mean
    for mag in _smoothed_magnitudes(source):  # pass 2: log, whitening, peaks
        logmag = np.log(mag[rows] + floor)
        waiting = np.concatenate([waiting, logmag], axis=1)
        mean = whiten.push(logmag)
        k = mean.shape[1]
        if k:
            picker.push(waiting[:, :k] - mean)
            waiting = waiting[:, k:]
    mean = whiten.finish()
    k = mean.shape[1] if mean.size else 0
    picker.push(waiting[:, :k] - mean if k else waiting[:, :0], final=True)
    return picker.peaks()


def reference_signature(source: Source) -> np.ndarray:
    """:func:`musicapp.library.signature.reference_signature` of the streamed track (equal)."""
    return _signature_and_count(source)[0]


def _signature_and_count(source: Source) -> tuple[np.ndarray, int]:
    samples = _Samples(source())
    words: list[np.ndarray] = []
    held = np.zeros((0, sig.N_BANDS), np.float32)  # band differences awaiting their LAG partner
    spectrum = np.empty((sig._BLOCK, sig.WINDOW // 2 + 1), np.float32)
    windowed = np.empty((sig._SUB, sig.WINDOW), np.float32)
    window = np.hanning(sig.WINDOW).astype(np.float32)
    for _first, frames in _frame_chunks(samples, sig.WINDOW, sig._BLOCK, _signature_frames):
        m = frames.shape[0]
        for a in range(0, m, sig._SUB):
            b = min(m, a + sig._SUB)
            np.multiply(frames[a:b], window, out=windowed[: b - a])
            np.abs(rfft(windowed[: b - a], axis=1), out=spectrum[a:b])
            np.square(spectrum[a:b], out=spectrum[a:b])
        energy = np.log(spectrum[:m] @ sig._BANDS + 1e-10)
        band_diff = np.concatenate([held, energy[:, :-1] - energy[:, 1:]])
        ready = band_diff.shape[0] - sig.LAG
        if ready > 0:
            words.append(sig.pack_bits((band_diff[sig.LAG:] - band_diff[:ready]) > 0))
            held = band_diff[ready:]
        else:
            held = band_diff
    words.append(sig.pack_bits(np.zeros((held.shape[0], sig.N_BANDS), bool)))  # the last LAG
    return np.concatenate(words), samples.total or 0


def fingerprint_samples(source: Source) -> tuple[np.ndarray, np.ndarray]:
    """:func:`musicapp.library.fingerprint.fingerprint_samples` of the streamed track (equal)."""
    return fp.unique_landmarks(*fp.pair_peaks(find_peaks(source)))


def compute_counted(source: Source) -> tuple[fp.Fingerprint, float]:
    """:func:`musicapp.library.fingerprint.compute` of the streamed track, in bounded memory,
    and the track's length in seconds (its 8 kHz samples / 8000)."""
    hashes, times = fingerprint_samples(source)
    signature, n = _signature_and_count(source)
    return fp.Fingerprint(hashes, times, signature), n / fp.SAMPLE_RATE
