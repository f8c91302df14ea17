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


def _clicks(n: int, bpm: float, start_frame: float = 10.0) -> np.ndarray:
    """Click frames at ``bpm`` in an envelope of ``n`` frames."""
    f = np.round(np.arange(start_frame, n, tempo.FPS * 60.0 / bpm)).astype(int)
    return f[f < n]


def test_fold_octaves_moves_by_any_number_of_octaves():
    folded = tempo.fold_octaves(np.array([45.1, 89.7, 180.6, 361.0, 22.4]), 178.0)
    assert np.allclose(folded, [180.4, 179.4, 180.6, 180.5, 179.2])
    assert np.allclose(tempo.fold_octaves(np.array([100.0, 132.0]), 66.0), [50.0, 66.0])


def test_windows_two_octaves_apart_are_no_tempo_change():
    """Steady music whose 12-s windows are estimated at 180 BPM and, in a sparse middle
    section, at 45 BPM (two octaves; pop909 song 001 had 45/90/180-BPM windows): no tempo change.
    Folding by one octave only left the 45-BPM windows at 90 and the tracker followed a tempo
    curve from 180 down to 90 and back (through 135 at each step)."""
    n = int(120 * tempo.FPS)
    onset = np.full(n, 0.01)
    onset[_clicks(n, 180.0)] = 1.0
    sparse = np.arange(int(48 * tempo.FPS), int(72 * tempo.FPS))
    onset[sparse] = 0.01
    onset[sparse[0] + _clicks(sparse.size, 45.0, 0.0)] = 1.0
    assert tempo.local_tempo_track(onset, 90.0) is None


def test_a_real_tempo_change_still_gives_a_curve():
    fps = tempo.FPS
    n1, n2 = int(40 * fps), int(40 * fps)
    onset = np.full(n1 + n2, 0.01)
    onset[_clicks(n1, 100.0)] = 1.0
    onset[n1 + _clicks(n2, 132.0, 0.0)] = 1.0
    curve = tempo.local_tempo_track(onset, 100.0)
    assert curve is not None
    assert abs(np.median(curve[: int(15 * fps)]) / 100.0 - 1.0) < 0.04
    assert abs(np.median(curve[-int(15 * fps):]) / 132.0 - 1.0) < 0.04


def test_steady_beats_hold_the_grid_through_a_fill():
    """A steady 90-BPM click track with a 4-s fill of off-grid onsets: beats tracked along a
    wrong tempo curve (dipping to 135 BPM there, as from a level flip) drift off the clicks;
    :func:`tempo.steady_beats` re-tracks them at the one fitted tempo, on the grid."""
    fps = tempo.FPS
    n = int(60 * fps)
    grid = _clicks(n, 90.0)
    onset = np.full(n, 0.01)
    onset[grid] = 1.0
    a, b = int(20 * fps), int(24 * fps)
    onset[a:b] = 0.01
    onset[np.round(np.arange(a + 7.0, b, fps * 60.0 / 90.0 / 1.5)).astype(int)] = 0.8  # triplets
    curve = np.full(n, 90.0)
    curve[a - int(3 * fps):b + int(3 * fps)] = 135.0
    drifted = tempo.track_beats(onset, curve)

    def worst(beats: np.ndarray) -> int:
        inside = beats[(beats > 2 * fps) & (beats < n - 2 * fps)]
        return int(np.max(np.min(np.abs(inside[:, None] - grid[None, :]), axis=1)))

    assert worst(drifted) > 3  # the wrong curve pulls beats off the grid
    steady = tempo.steady_beats(onset, drifted)
    assert worst(steady) <= 1
    assert steady.size >= grid.size - 4


def test_steady_beats_leave_a_tempo_change_alone():
    fps = tempo.FPS
    n1, n2 = int(30 * fps), int(30 * fps)
    beats = np.concatenate([_clicks(n1, 100.0), n1 + _clicks(n2, 132.0, 0.0)])
    onset = np.full(n1 + n2, 0.01)
    onset[beats] = 1.0
    assert np.array_equal(tempo.steady_beats(onset, beats), beats)


def test_snap_keeps_a_played_early_beat_and_moves_a_beat_in_a_gap():
    """Off its neighbours' line, a beat on a strong onset stays; one in a silent gap (no onset
    at it) moves onto the line."""
    fps = tempo.FPS
    n = int(40 * fps)
    grid = _clicks(n, 90.0)
    onset = np.full(n, 0.01)
    onset[grid] = 1.0
    beats = grid.copy()
    beats[20] -= 4  # played early: the onset is there
    onset[grid[20]], onset[beats[20]] = 0.01, 1.0
    beats[30] += 3  # nothing at the beat, the onset is on the grid
    o = tempo.normalize_onset(onset)
    snapped = tempo.snap_to_local_grid(o, beats)
    assert snapped[20] == beats[20]
    assert abs(int(snapped[30]) - int(grid[30])) <= 1
    others = np.abs(np.delete(snapped, [20, 30]) - np.delete(grid, [20, 30]))
    assert others.max() <= 1  # the others stay on the grid (within its frame rounding)
