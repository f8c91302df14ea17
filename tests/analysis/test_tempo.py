"""Beat tracking: the block-wise dynamic programme equals the frame-by-frame one."""

from __future__ import annotations

import numpy as np

from musicapp.analysis import tempo


def _dp_frame_by_frame(local, window, periods, period, tightness):
    n = local.size
    varying = bool(periods.max() > 1.001 * periods.min())
    txcost = -tightness * np.log(-window / period) ** 2
    cs = local.copy()
    bp = np.full(n, -1, dtype=int)
    for i in range(n):
        if varying:
            txcost = -tightness * np.log(-window / periods[i]) ** 2
        lo = i + window
        valid = lo >= 0
        if not valid.any():
            continue
        cand = cs[lo[valid]] + txcost[valid]
        j = int(np.argmax(cand))
        if cand[j] > 0:
            cs[i] = local[i] + cand[j]
            bp[i] = lo[valid][j]
    return cs, bp


def _assert_dp_equals_frame_by_frame(local: np.ndarray, periods: np.ndarray) -> None:
    period = float(np.median(periods))
    window = np.arange(-int(round(2 * periods.max())), -int(round(periods.min() / 2)) + 1)
    cs, bp = tempo._dp_scores(local, window, periods, period, 100.0)
    cs0, bp0 = _dp_frame_by_frame(local, window, periods, period, 100.0)
    assert np.array_equal(bp, bp0)
    assert np.array_equal(cs, cs0)


def test_block_dp_equals_frame_by_frame():
    rng = np.random.default_rng(3)
    for n, bpm in ((700, 97.0), (400, 180.0), (900, None)):
        local = rng.random(n) ** 3
        periods = (tempo.FPS * 60.0 / (np.linspace(80, 120, n) if bpm is None
                                        else np.full(n, bpm)))
        _assert_dp_equals_frame_by_frame(local, periods)


def test_block_dp_equals_frame_by_frame_on_long_tracks_and_ties():
    """Longer than one block of candidates (4096 frames), tempo curves, and many equal scores
    (a period of exactly 20 frames makes lags 10 and 40 cost the same; quantised onsets)."""
    rng = np.random.default_rng(11)
    cases = (
        (9000, np.linspace(70, 150, 9000)),
        (8500, np.full(8500, tempo.FPS * 3.0)),  # period 20 frames
        (5000, np.full(5000, 133.0)),
        (30, np.full(30, 100.0)),  # shorter than the look-back window
    )
    for n, bpms in cases:
        local = np.round(rng.random(n) ** 4 * 4) / 4  # mostly 0, a few levels
        periods = tempo.FPS * 60.0 / bpms
        _assert_dp_equals_frame_by_frame(local, periods)


def test_track_beats_on_a_click_track():
    fps = tempo.FPS
    n = int(30 * fps)
    onset = np.zeros(n)
    period = fps * 60.0 / 120.0
    clicks = np.round(np.arange(10, n - 5, period)).astype(int)
    onset[clicks] = 1.0
    beats = tempo.track_beats(onset, 120.0)
    assert beats.size >= clicks.size - 2
    assert np.median(np.abs(np.diff(beats) - period)) <= 1.0
    assert np.all(np.min(np.abs(beats[:, None] - clicks[None, :]), axis=1) <= 1)


def test_peaks_near_equals_the_slice_loop():
    rng = np.random.default_rng(12)
    for dtype in (np.float64, np.float32):
        x = rng.random(300).astype(dtype)
        for frames in (np.array([0, 1, 2, 150, 297, 298, 299]), np.arange(0, 300, 7),
                       np.zeros(0, dtype=int)):
            ref = np.array([x[max(0, f - 2):f + 3].max() for f in frames])
            out = tempo._peaks_near(x, frames)
            assert np.array_equal(out, ref) and (frames.size == 0 or out.dtype == ref.dtype)
