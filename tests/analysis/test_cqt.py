"""The cached-filter CQT equals librosa.cqt."""

from __future__ import annotations

import numpy as np

from musicapp.analysis.cqt import cqt_magnitude


def test_equals_librosa_cqt():
    import librosa

    sr = 11025
    t = np.arange(int(3.3 * sr)) / sr
    rng = np.random.default_rng(0)
    y = (0.3 * np.sin(2 * np.pi * 110.0 * t) + 0.2 * np.sin(2 * np.pi * 659.3 * t)
         + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    fmin = float(librosa.midi_to_hz(24 - 1 / 3))
    ref = np.abs(librosa.cqt(y, sr=sr, hop_length=512, fmin=fmin, n_bins=252,
                             bins_per_octave=36))
    ours = cqt_magnitude(y, sr, 512, fmin, 252, 36)
    assert ours.shape == ref.shape
    assert np.max(np.abs(ours - ref)) < 1e-4 * ref.max()
    # the second call uses the cached filters and gives the same result
    assert np.array_equal(cqt_magnitude(y, sr, 512, fmin, 252, 36), ours)
    # the loudest bins are the two tones (A2 = MIDI 45, E5 = MIDI 76; bin 3k+1 is semitone k)
    semis = ours[:, ours.shape[1] // 2].reshape(84, 3).sum(axis=1)
    assert sorted(int(k) + 24 for k in np.argsort(semis)[-2:]) == [45, 76]


def test_short_signal_gives_frames():
    y = np.zeros(300, dtype=np.float32)
    y[100] = 1.0
    out = cqt_magnitude(y, 11025, 512, 32.0, 36, 12)
    assert out.shape[0] == 36 and out.shape[1] >= 1
    assert np.all(np.isfinite(out))


def _octave_response_plain(y, n_fft, hop, basis):
    """The octave response as first written: 2048 frames per transform along axis 1."""
    from scipy import fft as sfft

    from musicapp.analysis.cqt import centred_frames

    frames = centred_frames(y, n_fft, hop)
    out = np.empty((basis.shape[0], frames.shape[0]), dtype=np.float32)
    for a in range(0, frames.shape[0], 2048):
        spec = sfft.rfft(frames[a:a + 2048], axis=1).T
        out[:, a:a + 2048] = np.abs(basis @ spec)
    return out


def test_octave_response_equals_the_plain_form():
    import librosa

    from musicapp.analysis import cqt

    sr = 11025.0
    rng = np.random.default_rng(5)
    t = np.arange(int(25 * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 196.0 * t) * (1 + np.sin(2 * np.pi * 0.5 * t))
         + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    freqs = librosa.cqt_frequencies(n_bins=252, fmin=32.0, bins_per_octave=36)
    alpha = librosa.filters._relative_bandwidth(freqs=freqs)
    for sl in (slice(-36, None), slice(-108, -72)):
        basis, n_fft = cqt._octave_basis(sr, tuple(freqs[sl].tolist()),
                                         tuple(alpha[sl].tolist()), sr)
        for hop, signal in ((64, y), (512, y), (16, y[:300])):  # 64: over 4000 frames
            ours = cqt._octave_response(signal, n_fft, hop, basis)
            assert np.array_equal(ours, _octave_response_plain(signal, n_fft, hop, basis))


def test_soxr_resample_equals_librosa_resample():
    import librosa

    from musicapp.analysis.cqt import soxr_resample

    rng = np.random.default_rng(2)
    for n in (1, 2, 3, 511, 512, 4097, 22050 * 3 + 7):
        y = (0.1 * rng.standard_normal(n)).astype(np.float32)
        for orig, target, scale in ((22050, 11025, False), (2, 1, True), (2, 1, False)):
            ours = soxr_resample(y, orig, target, scale=scale)
            ref = librosa.resample(y, orig_sr=orig, target_sr=target, res_type="soxr_hq",
                                   scale=scale)
            assert ours.dtype == ref.dtype and np.array_equal(ours, ref)
