"""The block-wise reference fingerprint equals the whole-signal form bit for bit, and its memory
stays bounded on a long track (a 3-hour file peaked at ~4 GB with the whole-signal form)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio import resample
from musicapp.library import fingerprint as fp
from musicapp.library import fingerprint_blocks as fb
from musicapp.library.signature import reference_signature
from tests.library.music import song


def _whole(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hashes, times = fp.fingerprint_samples(y)
    return hashes, times, reference_signature(y)


def _same(f: fp.Fingerprint, whole: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
    return (np.array_equal(f.hashes, whole[0]) and np.array_equal(f.times, whole[1])
            and np.array_equal(f.signature, whole[2]))


@pytest.mark.parametrize(("seed", "seconds"), [(1, 70.0), (2, 7.3), (3, 0.03), (4, 0.1)])
def test_blocks_equal_the_whole_signal_form_whatever_the_block_size(seed, seconds):
    # 70 s crosses the signature's 4096-frame band products and many 256-frame FFT batches
    y = song(seed, seconds, sr=fp.SAMPLE_RATE).astype(np.float32)
    whole = _whole(y)
    assert whole[0].size > 1000 or seconds < 10
    for block in (997, 8192, 1 << 20):
        f, n_seconds = fb.compute_counted(fb.array_source(y, block))
        assert _same(f, whole), block
        assert n_seconds == y.size / fp.SAMPLE_RATE
    assert fp.compute(y).pack() == fp.Fingerprint(*whole).pack()


def test_an_empty_signal_gives_the_same_empty_fingerprint():
    y = np.zeros(0, np.float32)
    assert _same(fp.compute(y), _whole(y))


def test_resampled_on_the_fly_equals_resampling_first():
    y = song(5, 40.0, sr=22050).astype(np.float32)
    f, seconds = fp.compute_resampled(y, 22050)
    y8 = resample(y, 22050, fp.SAMPLE_RATE)
    assert _same(f, _whole(y8))
    assert seconds == y8.size / fp.SAMPLE_RATE


def test_fingerprint_of_a_real_flac_file_equals_the_whole_signal_form(tmp_path):
    path = tmp_path / "song.flac"
    sf.write(str(path), song(6, 75.0, sr=44100), 44100, format="FLAC", subtype="PCM_16")
    f, seconds = fp.fingerprint_file(path)
    from musicapp.audio import load_audio

    y8 = load_audio(path, sr=fp.SAMPLE_RATE).samples
    assert _same(f, _whole(y8))
    assert abs(seconds - 75.0) < 0.01


def test_memory_is_bounded_on_a_20_minute_track():
    """The whole-signal form of 20 minutes holds ~75,000 x 257 float32 spectrogram frames
    (~77 MB) several times over (~400 MB at its peak); the blocks stay far below one copy."""
    y = np.tile(song(7, 60.0, sr=fp.SAMPLE_RATE).astype(np.float32), 20)  # 20 min, 38 MB
    frames = (y.size - fp.N_FFT) // fp.HOP + 1
    one_spectrogram = frames * (fp.N_FFT // 2 + 1) * 4
    tracemalloc.start()
    try:
        f = fp.compute(y)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(f) > 100_000 and f.signature.size == 1 + (y.size - 1) // fp.HOP
    assert peak < one_spectrogram / 2, f"peak {peak / 2**20:.0f} MB"


def test_a_track_under_the_whole_form_threshold_gets_the_block_forms_bits():
    # the whole form is about 0.15 s cheaper per 3-minute track; beyond WHOLE_FORM_MAX_SAMPLES
    # the block form bounds memory. Both sides of the threshold give the block form's bits.
    y = song(8, 30.0, sr=fp.SAMPLE_RATE).astype(np.float32)
    assert y.size <= fp.WHOLE_FORM_MAX_SAMPLES
    assert fp.compute(y).pack() == fb.compute_counted(fb.array_source(y, 4096))[0].pack()
    f, seconds = fp.compute_resampled(song(9, 30.0, sr=22050).astype(np.float32), 22050)
    y8 = resample(song(9, 30.0, sr=22050).astype(np.float32), 22050, fp.SAMPLE_RATE)
    assert f.pack() == fb.compute_counted(fb.array_source(y8, 4096))[0].pack()
    assert seconds == y8.size / fp.SAMPLE_RATE
