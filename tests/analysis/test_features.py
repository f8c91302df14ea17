"""Frame features: the buffered, chunked forms equal the plain ones exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sfft

from musicapp.analysis import features as F

REAL = sorted((Path(__file__).resolve().parents[2] / ".gpu_real").glob("*.ogg"))


def _music(seconds: float, seed: int = 0) -> np.ndarray:
    """Harmonic tones, clicks and a little noise at the analysis rate (float32)."""
    rng = np.random.default_rng(seed)
    sr = F.SAMPLE_RATE
    t = np.arange(int(seconds * sr)) / sr
    y = sum(0.2 / (h + 1) * np.sin(2 * np.pi * f * (h + 1) * t)
            for f in (110.0, 277.2, 329.6) for h in range(4))
    y = y + 0.01 * rng.standard_normal(t.size)
    y[:: sr // 2] += 0.8
    return y.astype(np.float32)


def _mel_and_rms_plain(y: np.ndarray, n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """The Mel power and RMS as first written: 2048 whole frames per step."""
    yp = np.pad(np.asarray(y, dtype=np.float32), (n_fft // 2, n_fft // 2))
    frames = sliding_window_view(yp, n_fft)[::hop]
    n = frames.shape[0]
    mel = np.empty((64, n), dtype=np.float32)
    rms = np.empty(n, dtype=np.float32)
    basis_t = F._mel_basis().T
    window = F._hann(n_fft)
    for a in range(0, n, 2048):
        spec = sfft.rfft(frames[a:a + 2048] * window, axis=1)
        power = spec.real**2 + spec.imag**2
        rms[a:a + 2048] = np.sqrt(np.mean(power, axis=1) / n_fft * 2)
        mel[:, a:a + 2048] = (power @ basis_t).T
    return mel, rms


def _to_analysis_rate_plain(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0) if y.shape[0] <= 8 and y.shape[0] < y.shape[1] else y.mean(axis=1)
    y = np.nan_to_num(y.ravel(), nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    if sample_rate != F.SAMPLE_RATE and y.size:
        from musicapp.audio import resample

        y = np.asarray(resample(y, int(sample_rate), F.SAMPLE_RATE), dtype=np.float32)
    return y


def _to_analysis_frames_plain(C: np.ndarray, factor: int) -> np.ndarray:
    if factor <= 1 or C.shape[1] < 2:
        return C
    n = (C.shape[1] - 1) * factor + 1
    pos = np.arange(n) / factor
    i0 = np.minimum(pos.astype(int), C.shape[1] - 2)
    a = (pos - i0).astype(np.float32)
    return (1 - a) * C[:, i0] + a * C[:, i0 + 1]


@pytest.mark.parametrize("seconds", [0.2, 3.0, 50.0, 97.5])  # 97.5 s: over 4096 frames
def test_mel_and_rms_equal_the_plain_form(seconds):
    y = _music(seconds, seed=int(seconds))
    mel, rms = F._mel_and_rms(y, 2048, F.HOP)
    mel0, rms0 = _mel_and_rms_plain(y, 2048, F.HOP)
    assert np.array_equal(mel, mel0)
    assert np.array_equal(rms, rms0)


def test_to_analysis_rate_equals_the_plain_form():
    y = _music(2.0)
    bad = y.copy()
    bad[[5, 50, 500]] = [np.nan, np.inf, -np.inf]
    stereo = np.stack([y, 0.5 * y])
    for samples, sr in ((y, F.SAMPLE_RATE), (bad, F.SAMPLE_RATE), (stereo, F.SAMPLE_RATE),
                        (stereo.T, 44100), (y.astype(np.float64), 16000)):
        out = F.to_analysis_rate(samples, sr)
        assert out.dtype == np.float32
        assert np.array_equal(out, _to_analysis_rate_plain(samples, sr))
    out = F.to_analysis_rate(y, F.SAMPLE_RATE)
    out[0] = 7.0  # a copy: the caller's samples are never changed
    assert y[0] != 7.0


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_to_analysis_frames_equals_the_plain_form(factor):
    rng = np.random.default_rng(factor)
    for cols in (1, 2, 3, 400):
        C = rng.random((12, cols), dtype=np.float32)
        out, ref = F._to_analysis_frames(C, factor), _to_analysis_frames_plain(C, factor)
        assert np.array_equal(out, ref)
        # the same memory layout: later sums over the frames run in memory order
        assert out.strides == ref.strides


def _semitone_spectrum_plain(y: np.ndarray, n_frames: int) -> tuple[np.ndarray, float]:
    """The semitone spectrum with the gathered interpolation of the first form."""
    import librosa

    from musicapp.analysis.cqt import cqt_magnitude

    n_bins = F.N_SEMITONES * F.BINS_PER_SEMITONE
    fmin = librosa.midi_to_hz(F.MIDI_LOW - 1.0 / F.BINS_PER_SEMITONE)
    y_half = librosa.resample(y, orig_sr=F.SAMPLE_RATE, target_sr=F.CQT_RATE, res_type="soxr_hq")
    C = cqt_magnitude(y_half, F.CQT_RATE, F.CQT_HOP, fmin, n_bins, 12 * F.BINS_PER_SEMITONE)
    C = _to_analysis_frames_plain(C, F.CQT_HOP * F.SAMPLE_RATE // (F.CQT_RATE * F.HOP))
    C = C[:, :n_frames]
    if C.shape[1] < n_frames:
        C = np.pad(C, ((0, 0), (0, n_frames - C.shape[1])))
    energy = (C**2).reshape(F.N_SEMITONES, F.BINS_PER_SEMITONE, -1).sum(axis=(0, 2))
    phase = np.angle(np.sum(energy * np.exp(2j * np.pi * (np.arange(3) - 1) / 3)))
    tuning = float(phase / (2 * np.pi))
    idx = np.arange(n_bins, dtype=np.float64) + tuning * F.BINS_PER_SEMITONE
    i0 = np.clip(np.floor(idx).astype(int), 0, n_bins - 1)
    i1 = np.clip(i0 + 1, 0, n_bins - 1)
    a = (idx - np.floor(idx)).astype(np.float32)[:, None]
    Cs = ((1 - a) * C[i0] + a * C[i1]).reshape(F.N_SEMITONES, F.BINS_PER_SEMITONE, -1)
    semis = 0.25 * Cs[:, 0] + 0.5 * Cs[:, 1] + 0.25 * Cs[:, 2]
    return semis.astype(np.float32), tuning


@pytest.mark.parametrize("seconds", [1.5, 40.0])
def test_semitone_spectrum_equals_the_plain_form(seconds):
    y = _music(seconds, seed=7)
    n_frames = F._mel_and_rms(y, 2048, F.HOP)[1].size
    semis, tuning = F._semitone_spectrum(y, n_frames)
    semis0, tuning0 = _semitone_spectrum_plain(y, n_frames)
    assert tuning == tuning0
    assert np.array_equal(semis, semis0)


@pytest.mark.skipif(not REAL, reason="no real recordings in .gpu_real")
def test_mel_and_rms_equal_the_plain_form_on_a_real_recording():
    from musicapp.audio import load_audio

    y = load_audio(REAL[-1], sr=F.SAMPLE_RATE, mono=True).samples
    y = F.to_analysis_rate(y, F.SAMPLE_RATE)
    mel, rms = F._mel_and_rms(y, 2048, F.HOP)
    mel0, rms0 = _mel_and_rms_plain(y, 2048, F.HOP)
    assert np.array_equal(mel, mel0) and np.array_equal(rms, rms0)
    semis, tuning = F._semitone_spectrum(y, rms.size)
    semis0, tuning0 = _semitone_spectrum_plain(y, rms.size)
    assert tuning == tuning0 and np.array_equal(semis, semis0)


# --------------------------------------------------------------- long tracks: the CQT in blocks

def _long_music(minutes: float) -> np.ndarray:
    """A music-like track (changing notes and chords) of ``minutes`` at the analysis rate."""
    from tests.library.music import song

    return song(11, minutes * 60.0, sr=F.SAMPLE_RATE).astype(np.float32)


@pytest.fixture(scope="module")
def twelve_minutes() -> np.ndarray:
    return _long_music(12.0)


def test_long_tracks_take_the_block_path_and_short_ones_the_whole():
    assert F.LONG_TRACK_S == 600.0
    # the margin covers the longest octave frame and the resampler chain (~15 s at 46 ms frames)
    assert 200 < F.cqt_margin_frames() < 600


def test_cqt_in_blocks_equals_the_whole_cqt(twelve_minutes):
    """Short blocks (15 of them over 12 minutes): the same frames as the one-piece CQT, to
    float rounding (measured: ~4e-7 of the largest value)."""
    y = twelve_minutes
    whole = F._cqt_whole(y)
    blocks = F._cqt_in_blocks(y, block_frames=1024)
    assert blocks.shape == whole.shape
    assert np.max(np.abs(blocks - whole)) <= 1e-5 * whole.max()
    # a block of one frame more or less changes nothing either (the margin, not luck)
    odd = F._cqt_in_blocks(y, block_frames=1500)
    assert np.max(np.abs(odd - whole)) <= 1e-5 * whole.max()


def test_semitone_spectrum_in_blocks_equals_the_whole(twelve_minutes):
    """The block path's semitones equal the one-piece path's within 1e-5 of the largest value
    (measured: 4.7e-6), and so does the chroma the key and chords are read from. The tuning
    differs by 5e-6 semitones (measured; 0.0005 cent): the one-piece path sums the energy in
    float32 over the whole array, the block path in float64 per chunk."""
    y = twelve_minutes
    n_frames = F._mel_and_rms(y, 2048, F.HOP)[1].size
    whole, tuning = F._semitone_spectrum(y, n_frames, in_blocks=False)
    blocks, tuning_b = F._semitone_spectrum(y, n_frames, in_blocks=True, block_frames=1024)
    assert blocks.shape == whole.shape == (F.N_SEMITONES, n_frames)
    assert abs(tuning_b - tuning) < 1e-4
    assert np.max(np.abs(blocks - whole)) <= 1e-5 * whole.max()
    treble, bass = F.bass_treble_chroma(whole)
    treble_b, bass_b = F.bass_treble_chroma(blocks)
    assert np.max(np.abs(treble_b - treble)) <= 1e-5 * treble.max()
    assert np.array_equal(treble.argmax(axis=0), treble_b.argmax(axis=0))
    assert np.max(np.abs(bass_b - bass)) <= 1e-5 * bass.max()
    # the default for a 12-minute track is the block path
    auto, _ = F._semitone_spectrum(y, n_frames)
    assert np.max(np.abs(auto - whole)) <= 1e-5 * whole.max()


def test_fold_in_chunks_equals_the_one_piece_fold(monkeypatch):
    """Interpolation and folding in column chunks give the one-piece values element by element
    (only the tuning's energy sum is summed in another order)."""
    y = _music(40.0, seed=3)
    C = F._cqt_whole(y)
    n_frames = F._mel_and_rms(y, 2048, F.HOP)[1].size
    whole, tuning = F._semitone_spectrum(y, n_frames, in_blocks=False)
    monkeypatch.setattr(F, "FOLD_COLUMNS", 97)
    semis, tuning_c = F._fold_semitones(C, 2, n_frames)
    assert abs(tuning_c - tuning) < 1e-6  # the energy summed in another order (float64)
    full = F._to_analysis_frames(C, 2)[:, :n_frames]
    full = np.pad(full, ((0, 0), (0, n_frames - full.shape[1])))
    assert np.array_equal(semis, F._shift_and_fold(full, tuning_c))
    assert np.max(np.abs(semis - whole)) <= 1e-6 * whole.max()


def _cqt_peak(minutes: float) -> tuple[int, int]:
    """(tracemalloc peak of the block CQT beyond its result, the result's bytes)."""
    import tracemalloc

    y = _long_music(minutes)
    tracemalloc.start()
    C = F._cqt_in_blocks(y, block_frames=1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - C.base.nbytes, C.base.nbytes


def test_block_cqt_memory_does_not_grow_with_the_track():
    """4 vs 16 minutes: beyond the (252 x frames) result the peak is the same few megabytes
    (one block's resampled copies and octave responses); the one-piece CQT's temporaries
    grow with the track."""
    F._cqt_in_blocks(_music(5.0), block_frames=64)  # filter plans and imports first
    short, _ = _cqt_peak(4.0)
    long, result_bytes = _cqt_peak(16.0)
    assert long < short * 1.2 + 1e6, f"4 min: {short / 1e6:.1f} MB, 16 min: {long / 1e6:.1f} MB"
    assert long < result_bytes / 2


def _segment_mean_plain(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The segment means as first written: the whole running sum at once."""
    n = x.shape[1]
    b = np.clip(np.asarray(bounds, dtype=int), 0, n)
    cs = np.concatenate([np.zeros((x.shape[0], 1), x.dtype), np.cumsum(x, axis=1)], axis=1)
    return (cs[:, b[1:]] - cs[:, b[:-1]]) / np.maximum(1, b[1:] - b[:-1])


@pytest.mark.parametrize("columns", [7, 1000, 1 << 15])
def test_segment_mean_in_chunks_equals_the_whole_running_sum(monkeypatch, columns):
    monkeypatch.setattr(F, "SEGMENT_COLUMNS", columns)
    rng = np.random.default_rng(2)
    x = (3 * rng.random((84, 20000))).astype(np.float32)
    for bounds in (np.unique(np.r_[0, rng.integers(0, 20000, 300), 20000]), np.array([0, 20000]),
                   np.arange(0, 20001, 43)):
        got, want = F.segment_mean(x, bounds), _segment_mean_plain(x, bounds)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_to_analysis_rate_checks_finiteness_in_pieces():
    y = _music(3.0)
    assert np.shares_memory(F.to_analysis_rate(y, F.SAMPLE_RATE, copy=False), y)
    bad = y.copy()
    bad[-1] = np.nan  # in the last piece
    out = F.to_analysis_rate(bad, F.SAMPLE_RATE, copy=False)
    assert not np.shares_memory(out, bad) and out[-1] == 0.0 and np.isfinite(out).all()
    assert F._all_finite(y, piece=1000) and not F._all_finite(bad, piece=1000)
