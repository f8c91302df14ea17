"""Tempo from a beat grid: robust line fits over beat times, tempo segments and a tempo curve.

The beat tracker gives beat times quantised to the analysis frame rate (23 ms at 43 frames/s);
60 / median(inter-beat interval) is therefore snapped to a coarse grid (170 BPM shows as 172.3).
A straight line through *all* beat times (time against beat number) is not: its slope is the beat
period to a few hundredths of a BPM. The fit is Theil–Sen (median of pairwise slopes), which
ignores a few misplaced beats. Beat numbers are counted from the intervals, so a skipped beat
does not bend the line.

Tempo changes are found by splitting the beat sequence where the log inter-beat intervals change
level (binary segmentation on absolute deviations, minimum 8 beats a segment, splits kept only when
the tempi differ by more than :data:`MIN_CHANGE`); each segment gets its own Theil–Sen fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_SEGMENT_BEATS = 8
MIN_CHANGE = 0.04  # relative tempo difference for a reported tempo change
CURVE_WINDOW = 8  # beats per local fit in the tempo curve
QUANTUM_S = 512 / 22050  # beat times are quantised to analysis frames


@dataclass
class TempoSegment:
    """A stretch of constant tempo: ``start``/``end`` in seconds, ``bpm`` from its line fit."""

    start: float
    end: float
    bpm: float
    n_beats: int


@dataclass
class GridFit:
    """Result of :func:`fit_grid`."""

    bpm: float  # tempo of the longest segment (the whole track when there is no change)
    segments: list[TempoSegment]
    curve: list[tuple[float, float]]  # (time s, local bpm)
    jitter: float  # median change of consecutive intervals beyond one frame, / period
    stability: float  # fraction of intervals within 10 % of their segment's period
    extra: dict = field(default_factory=dict)


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Theil–Sen line fit: (slope, intercept) with the median pairwise slope."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.size
    if n < 2:
        return 0.0, float(y[0]) if n else 0.0
    if n > 400:  # O(n^2) pairs: subsample pairs at fixed offsets for long tracks
        offsets = np.unique(np.linspace(1, n - 1, 200).astype(int))
        slopes = np.concatenate([(y[k:] - y[:-k]) / np.maximum(x[k:] - x[:-k], 1e-12)
                                 for k in offsets if np.all(x[k:] - x[:-k] > 0)] or [np.zeros(1)])
    else:
        i, j = np.triu_indices(n, 1)
        dx = x[j] - x[i]
        ok = dx > 0
        slopes = (y[j][ok] - y[i][ok]) / dx[ok]
    slope = float(np.median(slopes)) if slopes.size else 0.0
    intercept = float(np.median(y - slope * x))
    return slope, intercept


def beat_numbers(beats: np.ndarray, period: float) -> np.ndarray:
    """Beat numbers for beat times, counting a long interval as several beats (dropped beats)."""
    ibi = np.diff(beats)
    steps = np.maximum(1, np.round(ibi / max(period, 1e-9))).astype(int)
    return np.concatenate([[0], np.cumsum(steps)])


def _split_cost(logibi: np.ndarray) -> float:
    return float(np.sum(np.abs(logibi - np.median(logibi)))) if logibi.size else 0.0


def _running_medians(x: np.ndarray) -> np.ndarray:
    """``np.median(x[:k])`` for k = 1..n, the same values (the middle element, or the mean of
    the two middle ones), from one sorted list grown element by element."""
    import bisect

    ordered: list[float] = []
    out = np.empty(x.size)
    for k, value in enumerate(x.tolist(), 1):
        bisect.insort(ordered, value)
        h = k // 2
        out[k - 1] = ordered[h] if k % 2 else (ordered[h - 1] + ordered[h]) / 2
    return out


def _best_split(logibi: np.ndarray) -> tuple[int, float]:
    """(index, cost reduction) of the best single change point in log intervals.

    The cost of each side is :func:`_split_cost`'s, with the medians of all prefixes and
    suffixes found in one pass each (``np.median`` per split made this quadratic loop slow on
    fast tracks with many beats)."""
    n = logibi.size
    whole = _split_cost(logibi)
    best_k, best_gain = -1, 0.0
    if n < 2 * MIN_SEGMENT_BEATS:
        return best_k, best_gain
    head = _running_medians(logibi)  # head[k - 1]: median of logibi[:k]
    tail = _running_medians(logibi[::-1])  # tail[m - 1]: median of logibi[n - m:]
    for k in range(MIN_SEGMENT_BEATS, n - MIN_SEGMENT_BEATS + 1):
        left = float(np.sum(np.abs(logibi[:k] - head[k - 1])))
        right = float(np.sum(np.abs(logibi[k:] - tail[n - k - 1])))
        gain = whole - left - right
        if gain > best_gain:
            best_k, best_gain = k, gain
    return best_k, best_gain


def _segments(logibi: np.ndarray, lo: int, hi: int, depth: int = 0) -> list[tuple[int, int]]:
    """Interval index ranges [lo, hi) of constant tempo (recursive binary segmentation)."""
    part = logibi[lo:hi]
    if depth >= 3 or part.size < 2 * MIN_SEGMENT_BEATS:
        return [(lo, hi)]
    k, gain = _best_split(part)
    if k < 0:
        return [(lo, hi)]
    left, right = np.median(part[:k]), np.median(part[k:])
    # the change must be clear: a level shift bigger than MIN_CHANGE that explains most of the
    # spread of the intervals around it
    if abs(left - right) < np.log1p(MIN_CHANGE) or gain < 0.25 * part.size * abs(left - right):
        return [(lo, hi)]
    return (_segments(logibi, lo, lo + k, depth + 1)
            + _segments(logibi, lo + k, hi, depth + 1))


def _fit_bpm(beats: np.ndarray) -> tuple[float, float]:
    """(bpm, median |residual| / period) of a Theil–Sen fit through ``beats``."""
    period0 = float(np.median(np.diff(beats)))
    idx = beat_numbers(beats, period0)
    slope, intercept = theil_sen(idx, beats)
    if slope <= 0:
        return 60.0 / max(period0, 1e-9), 1.0
    resid = beats - (slope * idx + intercept)
    return 60.0 / slope, float(np.median(np.abs(resid)) / slope)


def fit_grid(beats: np.ndarray | list[float]) -> GridFit | None:
    """Fit tempo segments and a tempo curve to beat times (seconds); None under 4 beats."""
    b = np.asarray(beats, dtype=np.float64)
    b = b[np.isfinite(b)]
    b = np.unique(b)
    if b.size < 4:
        return None
    ibi = np.diff(b)
    logibi = np.log(np.maximum(ibi, 1e-6))
    ranges = _segments(logibi, 0, ibi.size)
    segments: list[TempoSegment] = []
    jitters, stable = [], 0
    for lo, hi in ranges:
        seg_beats = b[lo:hi + 1]
        bpm, jit = _fit_bpm(seg_beats)
        jitters.append(jit)
        period = 60.0 / bpm
        stable += int(np.sum(np.abs(ibi[lo:hi] / period - np.round(ibi[lo:hi] / period)) < 0.1))
        segments.append(TempoSegment(float(seg_beats[0]), float(seg_beats[-1]), bpm,
                                     int(seg_beats.size)))
    # merge neighbours whose fitted tempi ended up within MIN_CHANGE
    merged: list[TempoSegment] = [segments[0]]
    for s in segments[1:]:
        last = merged[-1]
        if abs(np.log(s.bpm / last.bpm)) < np.log1p(MIN_CHANGE):
            both = b[(b >= last.start) & (b <= s.end)]
            bpm, _ = _fit_bpm(both)
            merged[-1] = TempoSegment(last.start, s.end, bpm, int(both.size))
        else:
            merged.append(s)
    longest = max(merged, key=lambda s: s.end - s.start)
    curve = tempo_curve(b)
    # local jitter: how much consecutive intervals differ, beyond the frame quantisation
    period = float(np.median(ibi))
    dibi = np.abs(np.diff(ibi))
    local = max(0.0, float(np.median(dibi)) - QUANTUM_S) / period if dibi.size else 1.0
    return GridFit(bpm=float(longest.bpm), segments=merged, curve=curve, jitter=local,
                   stability=stable / max(1, ibi.size), extra={"line_jitter": float(np.median(jitters))})


def tempo_curve(beats: np.ndarray, window: int = CURVE_WINDOW) -> list[tuple[float, float]]:
    """Local tempo (time, bpm) from line fits over ``window`` beats, one point per beat hop of
    ``window // 2``.

    Each point is :func:`_fit_bpm`'s tempo of its window; all windows are fitted at once (row
    by row the same arithmetic: the median interval, the beat numbers, the median of all
    pairwise slopes - every pair counts, as beat numbers always increase)."""
    b = np.asarray(beats, dtype=np.float64)
    out: list[tuple[float, float]] = []
    if b.size < 3:
        return out
    w = min(window, b.size)
    hop = max(1, w // 2)
    if w > 400:  # theil_sen subsamples its pairs there: one window at a time
        for start in range(0, b.size - w + 1, hop):
            seg = b[start:start + w]
            bpm, _ = _fit_bpm(seg)
            out.append((float(0.5 * (seg[0] + seg[-1])), float(bpm)))
        return out
    from numpy.lib.stride_tricks import sliding_window_view

    segs = sliding_window_view(b, w)[::hop]  # (windows, w)
    ibi = np.diff(segs, axis=1)
    period0 = np.median(ibi, axis=1)
    steps = np.maximum(1, np.round(ibi / np.maximum(period0, 1e-9)[:, None])).astype(int)
    x = np.concatenate([np.zeros((segs.shape[0], 1), int), np.cumsum(steps, axis=1)],
                       axis=1).astype(np.float64)
    i, j = np.triu_indices(w, 1)
    slope = np.median((segs[:, j] - segs[:, i]) / (x[:, j] - x[:, i]), axis=1)
    flat = slope <= 0  # as _fit_bpm: the median interval's tempo (a NaN slope stays NaN)
    bpm = np.where(flat, 60.0 / np.maximum(period0, 1e-9), 60.0 / np.where(flat, 1.0, slope))
    times = 0.5 * (segs[:, 0] + segs[:, -1])
    return [(float(t), float(v)) for t, v in zip(times, bpm, strict=True)]


@dataclass
class TempoReport:
    """What the analysis says about tempo (``bpm`` None with a ``reason`` when there is no beat)."""

    bpm: float | None
    confidence: float
    reason: str | None
    candidates: list[dict]
    segments: list[TempoSegment]
    curve: list[tuple[float, float]]

    def to_dict(self) -> dict:
        """The ``tempo_*`` fields of the analysis JSON."""
        return {
            "tempo_bpm": None if self.bpm is None else round(float(self.bpm), 2),
            "tempo_confidence": round(float(self.confidence), 3),
            "tempo_reason": self.reason,
            "tempo_candidates": self.candidates,
            "tempo_segments": [{"start": round(s.start, 3), "end": round(s.end, 3),
                                "bpm": round(s.bpm, 2), "beats": s.n_beats}
                               for s in self.segments],
            "tempo_curve": [[round(t, 3), round(b, 2)] for t, b in self.curve],
        }


MAX_JITTER = 0.08  # median |residual| / period above which there is no steady beat
MIN_STABILITY = 0.6
#: Below this tempo confidence the grid is no steady beat.
MIN_TEMPO_CONFIDENCE = 0.05
#: The same for a track without pitch (noise, clicks, drums): brown noise gives 0.05-0.09;
#: pitched development pieces go down to 0.12, so this applies to unpitched ones only.
MIN_TEMPO_CONFIDENCE_UNPITCHED = 0.15
#: An unpitched track whose onsets on the beats are less than this many times those halfway
#: between them has no beat (white noise 1.0-1.1; every development piece sampled >= 1.8).
MIN_BEAT_CONTRAST_UNPITCHED = 1.3


def beat_contrast(beats_s: np.ndarray, onset: np.ndarray) -> float:
    """Mean onset peak on the beats over the mean onset peak halfway between them (inf when the
    off-beats are silent; 1.0 with fewer than 4 beats)."""
    from musicapp.analysis.features import FPS

    o = np.asarray(onset, dtype=np.float64)
    frames = np.round(np.asarray(beats_s, dtype=np.float64) * FPS).astype(int)
    frames = frames[(frames >= 0) & (frames < o.size)]
    if frames.size < 4:
        return 1.0
    mids = (frames[:-1] + frames[1:]) // 2

    def peaks(fs: np.ndarray) -> float:
        return float(np.mean([o[max(0, f - 2):f + 3].max() for f in fs]))

    off = peaks(mids)
    return float("inf") if off <= 0 else peaks(frames[:-1]) / off


def candidates(bpm: float, onset: np.ndarray) -> list[dict]:
    """The tactus ``bpm`` with its half and double, scored by onset periodicity (sum to 1)."""
    from musicapp.analysis.tempo import level_scores

    levels = [("tactus", bpm), ("half", bpm / 2.0), ("double", bpm * 2.0)]
    raw = np.asarray(level_scores(onset, [b for _, b in levels]), dtype=np.float64)
    raw = np.maximum(raw, 0.0)
    # the tracker chose the tactus: it keeps at least half of the weight
    raw[0] = max(raw[0], raw[1:].sum(), 1e-6)
    p = raw / raw.sum()
    return [{"bpm": round(float(b), 2), "relation": rel, "score": round(float(s), 3)}
            for (rel, b), s in zip(levels, p, strict=True)]


def describe_tempo(beats_s: np.ndarray, tracker_confidence: float, onset: np.ndarray,
                   duration: float, unpitched: bool = False) -> TempoReport:
    """Tempo report from tracked beat times; None with a reason where no steady beat exists
    (irregular beats, a low confidence; for an ``unpitched`` track such as noise also a higher
    confidence floor and beats no stronger than the off-beats), and then no tempo segments or
    tempo curve either (temple.ogg said "no steady beat" beside a 96.48-BPM segment)."""
    fit = fit_grid(beats_s) if np.asarray(beats_s).size >= MIN_SEGMENT_BEATS else None
    if fit is None:
        reason = ("too few beats found" if duration >= 8.0 else "clip too short for a tempo")
        if tracker_confidence <= 0:
            reason = "no periodic onsets found"
        return TempoReport(None, 0.0, reason, [], [], [])
    conf = float(tracker_confidence) * float(np.clip(1.0 - fit.jitter / MAX_JITTER, 0.0, 1.0) ** 0.5)
    conf *= float(np.clip((fit.stability - 0.3) / 0.6, 0.0, 1.0))
    reason = None
    bpm: float | None = fit.bpm
    if fit.jitter > MAX_JITTER or fit.stability < MIN_STABILITY:
        bpm, reason = None, "no steady beat (free time or rubato)"
    elif conf < (MIN_TEMPO_CONFIDENCE_UNPITCHED if unpitched else MIN_TEMPO_CONFIDENCE):
        bpm, reason = None, "no steady beat (beat too weak to give a tempo)"
    elif unpitched and beat_contrast(beats_s, onset) < MIN_BEAT_CONTRAST_UNPITCHED:
        bpm, reason = None, "no steady beat (onsets as strong between the beats as on them)"
    if bpm is None:  # no steady beat: no segment tempi or curve that would contradict it
        return TempoReport(None, float(np.clip(conf, 0.0, 1.0)), reason, [], [], [])
    cands = candidates(fit.bpm, onset)
    return TempoReport(bpm, float(np.clip(conf, 0.0, 1.0)), reason, cands, fit.segments, fit.curve)
