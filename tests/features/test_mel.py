"""The models' log-Mel: equal to librosa's recipe, streaming equal to offline."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.features import StreamingLogMel, chroma, log_mel, mel_patches, mfcc
from musicapp.params import MEL
from tests.helpers.signals import chord, noise


def _librosa_reference(y):
    import librosa

    S = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96)
    return np.log10(10000.0 * S.T.astype(np.float32) + 1.0)


def test_matches_librosa_recipe():
    y = np.concatenate([chord([220, 277, 330], 2.0, 16000), noise(1.0, 16000)])
    ours = log_mel(y)
    assert ours.shape == (1 + len(y) // 256, 96)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, _librosa_reference(y), atol=2e-5)


@pytest.mark.parametrize("n_fft", [400, 512, 2048])
def test_window_and_filter_bank_equal_scipy_and_librosa_exactly(n_fft, tmp_path, monkeypatch):
    """The front end builds its Hann window without scipy.signal and reads its Mel bank from the
    filter cache; both are bit-identical to what scipy and librosa build."""
    import librosa
    import scipy.signal

    from musicapp.features import filter_cache
    from musicapp.features.mel import _window, mel_basis
    from musicapp.params import MEL

    assert np.array_equal(_window(n_fft),
                          scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32))
    monkeypatch.setenv("MUSICAPP_FILTER_CACHE", str(tmp_path))
    monkeypatch.setattr(filter_cache, "_memo", {})
    mel_basis.cache_clear()
    try:
        built = mel_basis(MEL)
        filter_cache._memo.clear()
        mel_basis.cache_clear()
        stored = mel_basis(MEL)  # read back from tmp_path
        reference = librosa.filters.mel(sr=MEL.sample_rate, n_fft=MEL.n_fft, n_mels=MEL.n_mels,
                                        fmin=MEL.fmin, fmax=MEL.fmax, htk=MEL.htk,
                                        norm=MEL.mel_norm, dtype=np.float32)
    finally:
        mel_basis.cache_clear()
    assert list(tmp_path.glob("tagger-mel-*.npz"))
    assert np.array_equal(built, reference) and np.array_equal(stored, reference)


def test_float32_log_does_not_overflow_on_loud_input():
    y = np.clip(noise(1.0, 16000, amp=3.0), -1, 1) * 0 + np.sign(noise(1.0, 16000))
    y = y.astype(np.float32)  # full-scale square noise: mel power far above 6.55
    out = log_mel(y)
    assert np.isfinite(out).all()
    assert out.max() > 4.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streaming_equals_offline_for_any_block_sizes(seed):
    rng = np.random.default_rng(seed)
    y = np.concatenate([chord([261.6, 329.6, 392.0], 1.3, 16000), noise(0.77, 16000, seed=seed)])
    stream = StreamingLogMel()
    parts, i = [], 0
    while i < len(y):
        n = int(rng.choice([1, 17, 256, 511, 512, 513, 1024, 4000]))
        parts.append(stream.push(y[i : i + n]))
        i += n
    parts.append(stream.flush())
    streamed = np.concatenate(parts)
    offline = log_mel(y)
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, atol=1e-5)


def test_streaming_from_48k_matches_offline_resampled():
    from musicapp.audio import resample

    y48 = chord([440, 554, 659], 2.0, 48000)
    stream = StreamingLogMel(input_rate=48000)
    parts = [stream.push(y48[i : i + 1024]) for i in range(0, len(y48), 1024)]
    parts.append(stream.flush())
    streamed = np.concatenate(parts)
    offline = log_mel(resample(y48, 48000, 16000))
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, atol=1e-5)


def test_patches_cover_signal_and_pad_with_silence():
    frames = np.ones((400, 96), np.float32)
    p = mel_patches(frames)
    assert p.shape == (3, MEL.patch_frames, 96)
    assert p[2, : 400 - 2 * 187].min() == 1.0 and p[2, 400 - 2 * 187 :].max() == 0.0
    assert mel_patches(frames[:5]).shape == (1, 187, 96)
    assert mel_patches(frames, hop_frames=93).shape[0] == 4


def test_mfcc_and_chroma_shapes_and_content():
    y = chord([261.63, 329.63, 392.0], 2.0, 16000)  # C major triad
    m = mfcc(y)
    assert m.shape == (1 + len(y) // 256, 20)
    c = chroma(y)
    assert c.shape[1] == 12
    profile = c[10:-10].mean(axis=0)
    assert set(np.argsort(profile)[-3:]) == {0, 4, 7}


def test_load_log_mel_equals_two_step(tmp_path):
    from musicapp.audio import load_audio
    from musicapp.features import load_log_mel
    from tests.helpers.signals import stereo_test_signal, write_audio

    path = write_audio(tmp_path / "x.mp3", stereo_test_signal(5.0, 44100), 44100)
    _, frames = load_log_mel(path)
    ref = log_mel(load_audio(path).samples)
    assert frames.shape == ref.shape
    np.testing.assert_allclose(frames, ref, atol=1e-5)
    part, part_frames = load_log_mel(path, offset=1.0, duration=2.0)
    assert part_frames.shape[0] == 1 + len(part.samples) // 256
