"""Tempo estimation (autocorrelation with a log-Gaussian prior) and dynamic-programming beats.

The beat tracker follows Ellis (2007): the best chain of onset-strong frames with inter-beat
intervals close to the estimated period, found by dynamic programming.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicapp.analysis.features import FPS

MIN_BPM = 40.0
MAX_BPM = 240.0
PRIOR_CENTER_BPM = 115.0
PRIOR_SIGMA_OCT = 1.0


@dataclass
class TempoEstimate:
    """Tempo with a confidence in [0, 1] and the second-best metrical level."""

    bpm: float
    confidence: float
    alternative_bpm: float


def normalize_onset(onset: np.ndarray) -> np.ndarray:
    """High-pass (subtract a 1 s moving average), half-wave rectify, scale to unit std."""
    o = np.asarray(onset, dtype=np.float64)
    if o.size == 0:
        return o
    from scipy.ndimage import uniform_filter1d

    o = np.maximum(0.0, o - uniform_filter1d(o, size=max(3, int(FPS)), mode="nearest"))
    sd = o.std()
    return o / sd if sd > 1e-9 else np.zeros_like(o)


def onset_autocorrelation(o: np.ndarray, max_lag: int) -> np.ndarray:
    """Unbiased autocorrelation of ``o`` for lags 0..max_lag, normalised so r[0] = 1.

    Lags beyond half the signal length (too few products to be reliable) are set to 0.
    """
    n = o.size
    out = np.zeros(max_lag + 1)
    if n < 4:
        return out
    x = o - o.mean()
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, nfft)
    r = np.fft.irfft(f * np.conj(f), nfft)[: min(max_lag, n // 2) + 1]
    r = r / (n - np.arange(r.size))
    if r[0] <= 0:
        return out
    out[: r.size] = r / r[0]
    return out


def _interp(r: np.ndarray, lag: np.ndarray | float) -> np.ndarray:
    return np.interp(lag, np.arange(r.size), r, right=0.0)


def _salience(r: np.ndarray, bpms: np.ndarray) -> np.ndarray:
    lags = FPS * 60.0 / bpms
    sal = (_interp(r, lags) + 0.5 * _interp(r, 2 * lags) + 0.25 * _interp(r, 4 * lags)
           + 0.25 * _interp(r, 3 * lags))
    return np.maximum(sal, 0.0)


def _refine(r: np.ndarray, bpm: float) -> float:
    lag = FPS * 60.0 / bpm
    lo, hi = int(np.floor(lag * 0.96)), int(np.ceil(lag * 1.04)) + 1
    if hi >= r.size or hi - lo < 3:
        return bpm
    k = lo + int(np.argmax(r[lo:hi]))
    if 0 < k < r.size - 1:
        a, b, c = r[k - 1], r[k], r[k + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if abs(den) > 1e-12 else 0.0
        return float(FPS * 60.0 / (k + np.clip(off, -0.5, 0.5)))
    return bpm


def _peaks_near(x: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``[x[max(0, f - 2):f + 3].max() for f in frames]`` as an array: the largest value within
    two frames of each frame, from a sliding-window view (frames inside ``x``)."""
    frames = np.asarray(frames, dtype=int)
    if frames.size and (frames.min() < 0 or frames.max() >= x.size):
        return np.array([x[max(0, f - 2):f + 3].max() for f in frames])
    edge = np.full(2, -np.inf, dtype=x.dtype)
    from numpy.lib.stride_tricks import sliding_window_view

    return sliding_window_view(np.concatenate([edge, x, edge]), 5)[frames].max(axis=1)


def alternation(onset: np.ndarray, bpm: float, low_onset: np.ndarray | None = None) -> float:
    """How much every other beat of a beat grid at ``bpm`` is weaker (>= 1; 1 = no pattern).

    When a grid alternates strong/weak, its beats are really subdivisions of a slower beat.
    Strength is the full-band plus the low-band (bass, kick) onset envelope.
    """
    o = normalize_onset(onset)
    if low_onset is not None:
        o = o + normalize_onset(low_onset)
    beats = track_beats(onset, bpm)
    if beats.size < 8:
        return 1.0
    strength = _peaks_near(o, beats)
    even, odd = strength[0::2].mean(), strength[1::2].mean()
    return float(max(even, odd) / max(min(even, odd), 1e-3))


def estimate_tempo(onset: np.ndarray, low_onset: np.ndarray | None = None,
                   prior_center: float = PRIOR_CENTER_BPM,
                   prior_sigma: float = PRIOR_SIGMA_OCT, alternation_threshold: float = 2.4,
                   level_salience: float = 0.35) -> TempoEstimate:
    """Estimate the beat tempo of an onset envelope at :data:`FPS` frames per second.

    1. the strongest periodicity (autocorrelation plus its multiples, broad log-Gaussian prior);
    2. start from the fastest metrical level (x2, x4) that is still clearly periodic;
    3. halve while the beat grid alternates strong/weak (the beats are then subdivisions).
    """
    o = normalize_onset(onset)
    max_lag = int(np.ceil(FPS * 60.0 / MIN_BPM * 4.4))
    if o.size < int(2 * FPS) or not np.any(o):
        return TempoEstimate(120.0, 0.0, 60.0)
    r = onset_autocorrelation(o, max_lag)
    bpms = np.arange(MIN_BPM, MAX_BPM + 0.25, 0.25)
    sal = _salience(r, bpms)
    prior = np.exp(-0.5 * (np.log2(bpms / prior_center) / prior_sigma) ** 2)
    score = sal * prior
    best = int(np.argmax(score))
    if score[best] <= 0:
        return TempoEstimate(120.0, 0.0, 60.0)
    bpm = _refine(r, float(bpms[best]))
    # Fastest plausible level.
    peak_r = float(_interp(r, FPS * 60.0 / bpm))
    level = bpm
    while True:
        ups = [(float(_interp(r, FPS * 60.0 / (level * f))), f) for f in (2, 3)
               if level * f <= MAX_BPM]
        ups = [u for u in ups if u[0] > level_salience * peak_r]
        if not ups:
            break
        level = _refine(r, level * max(ups)[1])
    # Step down while the grid alternates.
    while level / 2 >= MIN_BPM and alternation(onset, level, low_onset) > alternation_threshold:
        level = level / 2
    bpm = _refine(r, level)
    alt_candidates = [bpm / 2, bpm * 2]
    alt_scores = [float(np.interp(a, bpms, sal, left=0, right=0)) for a in alt_candidates]
    alternative = alt_candidates[int(np.argmax(alt_scores))]
    here = float(np.interp(bpm, bpms, sal))
    confidence = float(np.clip(_interp(r, FPS * 60.0 / bpm) / 0.3, 0.0, 1.0))
    if here > 0:
        confidence *= float(np.clip(1.5 - max(alt_scores) / here, 0.2, 1.0))
    return TempoEstimate(bpm, confidence, alternative)


def track_beats(onset: np.ndarray, bpm: float | np.ndarray, tightness: float = 100.0) -> np.ndarray:
    """Beat frames (int array) for onset envelope ``onset`` and tempo ``bpm`` (Ellis DP).

    ``bpm`` may be an array with one tempo per frame (a tempo that changes).
    """
    o = normalize_onset(onset)
    n = o.size
    if n == 0 or not np.any(o):
        return np.zeros(0, dtype=int)
    periods = FPS * 60.0 / np.broadcast_to(np.asarray(bpm, dtype=np.float64), (n,))
    period = float(np.median(periods))
    # Local score: onset smoothed by a Gaussian of width period/32 (as in Ellis 2007).
    w = max(1, int(round(period / 16)))
    t = np.arange(-2 * w, 2 * w + 1)
    g = np.exp(-0.5 * (t / max(1.0, period / 32)) ** 2)
    local = np.convolve(o, g / g.sum(), mode="same")
    window = np.arange(-int(round(2 * periods.max())), -int(round(periods.min() / 2)) + 1)
    cs, bp = _dp_scores(local, window, periods, period, tightness)
    # Last beat: best cumulative score among the final period (local maxima above median).
    tail = max(1, int(round(period)))
    start = max(0, n - tail)
    last = start + int(np.argmax(cs[start:]))
    beats = [last]
    while bp[beats[-1]] >= 0:
        beats.append(int(bp[beats[-1]]))
    beats = np.array(beats[::-1], dtype=int)
    # Drop beats in silent lead-in / tail (no onset energy within half a period).
    thr = 0.1 * float(np.max(local))
    active = np.flatnonzero(local > thr)
    if active.size:
        first_a, last_a = active[0] - period / 2, active[-1] + period / 2
        beats = beats[(beats >= first_a) & (beats <= last_a)]
    return beats


def _dp_scores(local: np.ndarray, window: np.ndarray, periods: np.ndarray, period: float,
               tightness: float) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative scores and back-pointers of the Ellis beat DP.

    Frame ``i`` looks back at frames ``i + window`` (a contiguous range, all at least
    ``-window[-1]`` frames earlier), so a block of that many consecutive frames depends only on
    frames before the block: each block is scored at once (same arithmetic and tie-breaking as a
    frame-by-frame loop, ``tests/analysis/test_tempo.py``). The candidates of frame ``i`` are row
    ``i`` of a sliding-window view of the scores behind ``-window[0]`` leading ``-inf`` (frames
    before the track), plus a constant 0 (a frame whose best predecessor scores <= 0 starts a
    chain: its score stays ``local``). The loop only needs each frame's best candidate score;
    which predecessor it was (the back-pointer, the first of equal ones) is found afterwards for
    all frames at once, from the same, by then final, scores.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    n = local.size
    varying = bool(periods.max() > 1.001 * periods.min())
    w0, width = int(window[0]), int(window.size)
    store = np.full(n - w0, -np.inf)
    cs = store[-w0:]  # a view: scores written here are seen through ``rows``
    cs[:] = local
    rows = sliding_window_view(store, width)  # rows[i] = cs[i + window] (-inf before frame 0)
    step = max(1, int(-window[-1]))
    chunk = step * max(1, 4096 // step)  # frames whose candidates are held at once

    def costs(start: int) -> np.ndarray:
        if not varying:
            return -tightness * np.log(-window / period) ** 2
        return -tightness * np.log(-window[None, :] / periods[start:start + chunk][:, None]) ** 2

    best = np.empty(n)  # max(0, best predecessor's score + transition cost)
    cand = np.zeros((step, width + 1))  # the last column stays 0
    scored = cand[:, :width]
    cost = costs(0)
    add = np.add
    for start in range(0, n, step):
        stop = min(n, start + step)
        m = stop - start
        if varying:
            if start % chunk == 0:
                cost = costs(start)
            add(rows[start:stop], cost[start % chunk:start % chunk + m], out=scored[:m])
        else:
            add(rows[start:stop], cost, out=scored[:m])
        cand[:m].max(axis=1, out=best[start:stop])
        add(local[start:stop], best[start:stop], out=cs[start:stop])  # local + 0 = local
    bp = np.full(n, -1, dtype=int)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        j = (rows[start:stop] + (costs(start)[:stop - start] if varying else cost)).argmax(axis=1)
        ok = best[start:stop] > 0
        bp[start:stop][ok] = (np.arange(start, stop) + w0 + j)[ok]
    return cs.copy(), bp


#: DP tightness for re-tracking a steady song at its fitted tempo (:func:`steady_beats`).
STEADY_TIGHTNESS = 400.0


def steady_beats(onset: np.ndarray, beat_frames: np.ndarray,
                 tightness: float = STEADY_TIGHTNESS) -> np.ndarray:
    """Beat frames re-tracked at one fixed tempo when the tracked grid has one tempo segment
    and is steady (:func:`musicapp.analysis.grid.describe_tempo`'s jitter and stability limits,
    the stability around the median interval; free time keeps its tracked beats and its "no
    steady beat").

    When the tempo segmentation of the tracked beats (:func:`musicapp.analysis.grid.fit_grid`)
    finds no tempo change, the DP runs again with one constant period (the fitted tempo's, or
    the median interval's where the two disagree) and a higher ``tightness``: a break, a fill
    or a held chord then cannot pull the beats off the grid for a few beats, while a beat that
    is clearly early or late on strong onsets still moves; then :func:`snap_to_local_grid`.
    A grid with tempo segments (a real tempo change) is returned unchanged.
    """
    from musicapp.analysis.grid import MIN_SEGMENT_BEATS, fit_grid

    beat_frames = np.asarray(beat_frames, dtype=int)
    if beat_frames.size < 2 * MIN_SEGMENT_BEATS:
        return beat_frames
    fit = fit_grid(beat_frames / FPS)
    if fit is None or len(fit.segments) != 1 or not np.isfinite(fit.bpm) or fit.bpm <= 0:
        return beat_frames
    from musicapp.analysis.grid import MAX_JITTER, MIN_STABILITY

    ibi = np.diff(beat_frames) / float(np.median(np.diff(beat_frames)))
    stability = float(np.mean(np.abs(ibi - np.round(ibi)) < 0.1))  # around the median interval
    if fit.jitter > MAX_JITTER or stability < MIN_STABILITY:  # no steady beat: as tracked
        return beat_frames
    # The fitted tempo; where it is more than 4 % off the median interval's, a run of beats at
    # a wrong rate (each counted as a beat) pulled the line: the median interval refined on the
    # onset autocorrelation instead.
    bpm = fit.bpm
    period = float(np.median(np.diff(beat_frames)))
    if abs(np.log(bpm * period / (FPS * 60.0))) > np.log(1.04):
        r = onset_autocorrelation(normalize_onset(onset), int(np.ceil(period * 1.05)) + 2)
        bpm = _refine(r, FPS * 60.0 / period)
    beats = track_beats(onset, bpm, tightness)
    if beats.size < 2 * MIN_SEGMENT_BEATS:
        return beat_frames
    return snap_to_local_grid(normalize_onset(onset), beats)


#: Beats each side of a beat whose line fit predicts where the beat should be.
SNAP_HALF_WINDOW = 12
#: A beat off its neighbours' line stays where it is only when the onset there is this many
#: times the onset at the line's position (and not weak).
SNAP_EVIDENCE = 2.0


def snap_to_local_grid(o: np.ndarray, beats: np.ndarray, half_window: int = SNAP_HALF_WINDOW,
                       evidence: float = SNAP_EVIDENCE) -> np.ndarray:
    """Beats moved onto the line through their neighbours unless the onsets say otherwise.

    For each beat a Theil-Sen line (time against beat number) through the ``half_window``
    beats on either side predicts its frame. A beat off that prediction is moved there, except
    a played beat (an onset, ``o`` normalised, of at least half the median on the beats) one
    frame off (the line's rounding) or with ``evidence`` times the onset at the prediction: a
    break or a held chord (no onsets) then keeps the grid, a clearly played early or late beat
    stays. The local line follows gradual tempo drift.
    """
    from musicapp.analysis.grid import beat_numbers, theil_sen

    b = np.asarray(beats, dtype=int)
    if b.size < 2 * half_window or o.size == 0:
        return b
    idx = beat_numbers(b.astype(np.float64), float(np.median(np.diff(b))))

    def peak(f: int) -> float:
        return float(o[max(0, f - 1):min(o.size, f + 2)].max()) if 0 <= f < o.size else 0.0

    typical = float(np.median([peak(int(f)) for f in b]))
    out = b.copy()
    for i in range(b.size):
        lo, hi = max(0, i - half_window), min(b.size, i + half_window + 1)
        near = np.r_[lo:i, i + 1:hi]
        slope, intercept = theil_sen(idx[near].astype(np.float64), b[near].astype(np.float64))
        pred = int(round(slope * idx[i] + intercept))
        if b[i] == pred or not 0 <= pred < o.size:
            continue
        here = peak(int(b[i]))
        if here >= 0.5 * typical and (abs(b[i] - pred) == 1 or here >= evidence * peak(pred)):
            continue  # a played beat: within a frame (the rounding), or clearly early or late
        out[i] = pred
    out = np.unique(out)
    return out if out.size == b.size else b


def fix_offbeat(beats: np.ndarray, low_onset: np.ndarray, ratio: float = 1.3) -> np.ndarray:
    """Move the grid by half a beat when it sits on the off-beats.

    A beat tracker driven by the full-band onset envelope can lock onto off-beat accents (comping
    stabs, hi-hats). Kick drum and bass notes mark the beats in most music, so when the low-band
    onset envelope is clearly stronger halfway between the tracked beats, the midpoints are used.
    """
    if beats.size < 4:
        return beats
    low = normalize_onset(low_onset)
    if not np.any(low):
        return beats
    mids = ((beats[:-1] + beats[1:]) // 2).astype(int)

    def strength(frames: np.ndarray) -> float:
        return float(np.mean(_peaks_near(low, frames)))

    if strength(mids) > ratio * max(strength(beats), 1e-6):
        period = int(np.median(np.diff(beats)))
        head = [mids[0] - period] if mids[0] - period >= 0 else []
        tail = [mids[-1] + period] if mids[-1] + period < low.size else []
        return np.concatenate([head, mids, tail]).astype(int)
    return beats


def level_scores(onset: np.ndarray, bpms: list[float]) -> list[float]:
    """Periodicity salience (autocorrelation at the lag and its multiples) of each tempo in
    ``bpms``, for ranking metrical levels (half/double) of an estimate."""
    o = normalize_onset(onset)
    if o.size < int(2 * FPS) or not np.any(o):
        return [0.0 for _ in bpms]
    max_lag = int(np.ceil(FPS * 60.0 / MIN_BPM * 4.4))
    r = onset_autocorrelation(o, max_lag)
    out = []
    for bpm in bpms:
        if not np.isfinite(bpm) or bpm <= 0:
            out.append(0.0)
            continue
        out.append(float(_salience(r, np.array([float(bpm)]))[0]))
    return out


def fold_octaves(tempi: np.ndarray, ref: float) -> np.ndarray:
    """Each tempo moved by a power of two (any number of octaves) to the one nearest ``ref``.

    Window estimates of one steady song come out at different metrical levels (pop909 001:
    45, 90 and 180 BPM windows for a 90-BPM song). Folding only by x1/2 and x2 left the 45-BPM
    windows at 90 beside 180-BPM ones; that octave step read as a tempo change and the tracker
    slid across it at interpolated tempi (135 BPM) and lost the beat for a few seconds.
    """
    t = np.asarray(tempi, dtype=np.float64)
    if t.size == 0 or not np.isfinite(ref) or ref <= 0:
        return t.copy()
    return t * 2.0 ** np.round(np.log2(ref / t))


LOCAL_WINDOW_S = 12.0
MIN_TEMPO_CHANGE = 0.06


def local_tempo_track(onset: np.ndarray, bpm: float, window_s: float = LOCAL_WINDOW_S,
                      low_onset: np.ndarray | None = None) -> np.ndarray | None:
    """Per-frame tempo when the tempo clearly changes, else None.

    The tempo of each half-overlapping ``window_s`` window is estimated on its own (same method
    as the whole track); each is moved by whole octaves to the metrical level nearest the
    windows' median (:func:`fold_octaves`, twice: the median of the folded tempi is the reference
    of the second pass; an octave step between windows is a level flip, not a tempo change),
    median-filtered, and interpolated to frames. "Clearly" means the 10th and 90th percentiles
    of the window tempi differ by more than :data:`MIN_TEMPO_CHANGE`. ``bpm`` (the whole
    track's estimate) is not used.
    """
    win = int(window_s * FPS)
    if onset.size < 2 * win:
        return None
    hop = win // 2
    centres, tempi = [], []
    for start in range(0, onset.size - win + 1, hop):
        low = None if low_onset is None else low_onset[start:start + win]
        est = estimate_tempo(onset[start:start + win], low)
        if est.confidence <= 0.1:
            continue
        centres.append(start + win / 2)
        tempi.append(est.bpm)
    if len(tempi) < 3:
        return None
    t = np.array(tempi)
    t = fold_octaves(t, float(np.median(fold_octaves(t, float(np.median(t))))))
    from scipy.ndimage import median_filter

    t = median_filter(t, size=3, mode="nearest")
    if np.percentile(t, 90) / np.percentile(t, 10) < 1.0 + MIN_TEMPO_CHANGE:
        return None
    return np.interp(np.arange(onset.size), np.array(centres), t)
