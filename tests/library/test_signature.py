"""The band-energy sign signature: bit packing, the table scorer, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.library import degrade

from musicapp.library import signature as sig
from tests.library.music import song

SR8 = sig.SAMPLE_RATE


def _song8(seed: int, seconds: float) -> np.ndarray:
    return song(seed, seconds, sr=SR8)


def test_pack_bits_matches_manual_packing():
    rng = np.random.default_rng(0)
    bits = rng.random((50, 32)) > 0.5
    words = sig.pack_bits(bits)
    manual = (bits.astype(np.uint64) << np.arange(32, dtype=np.uint64)).sum(axis=1)
    assert words.dtype == np.uint32 and np.array_equal(words, manual.astype(np.uint32))


def test_table_scorer_equals_the_direct_formula():
    rng = np.random.default_rng(1)
    values = rng.standard_normal((40, 32)).astype(np.float32)
    words = rng.integers(0, 2**32, size=(3, 40), dtype=np.uint64).astype(np.uint32)
    frames = np.tile(np.arange(40), (3, 1))
    valid = np.ones((3, 40), bool)
    valid[2, 30:] = False
    agreement, z = sig.QueryScorer(values).score(words, frames, valid)
    for row in range(3):
        signs = ((words[row][:, None] >> np.arange(32, dtype=np.uint32)) & 1).astype(np.float32) * 2 - 1
        m = valid[row]
        total = float((signs[m] * values[m]).sum())
        assert agreement[row] == pytest.approx(total / np.abs(values[m]).sum(), rel=1e-4)
        assert z[row] == pytest.approx(total / np.sqrt(np.square(values[m]).sum()), rel=1e-4)


def test_signature_ignores_gain_and_is_one_word_per_frame():
    y = _song8(5, 6.0)
    words = sig.reference_signature(y)
    assert words.size == -(-y.size // sig.HOP)
    # Log-energy differences do not depend on the level: only near-zero (weightless) bits flip.
    quieter = sig.reference_signature(0.25 * y)
    assert np.unpackbits((words ^ quieter).view(np.uint8)).mean() < 0.03
    assert _agreement(y, 0.25 * y) > 0.995


def _agreement(reference: np.ndarray, query: np.ndarray) -> float:
    words = sig.reference_signature(reference)
    values = sig.query_values(query)
    n = min(words.size, values.shape[0])
    agreement, _ = sig.QueryScorer(values[:n]).score(
        words[None, :n], np.arange(n)[None, :], np.ones((1, n), bool)
    )
    return float(agreement[0])


def test_signature_survives_0_db_pink_noise_and_separates_other_music():
    rng = np.random.default_rng(2)
    y = _song8(7, 10.0)
    noisy = degrade.add_noise(y, 0.0, rng)
    same = _agreement(y, noisy)
    other = _agreement(_song8(8, 10.0), noisy)
    assert same > 0.15, same
    assert abs(other) < 0.06, other
    assert _agreement(y, y) > 0.99


def _band_log_energy_plain(y: np.ndarray) -> np.ndarray:
    """Band energies as first written: 4096 whole frames per transform."""
    from scipy.fft import rfft

    y = np.asarray(y, dtype=np.float32)
    n_frames = max(1, 1 + (y.size - 1) // sig.HOP) if y.size else 1
    y = np.pad(y, (0, max(0, (n_frames - 1) * sig.HOP + sig.WINDOW - y.size)))
    frames = np.lib.stride_tricks.sliding_window_view(y, sig.WINDOW)[:: sig.HOP][:n_frames]
    window = np.hanning(sig.WINDOW).astype(np.float32)
    out = np.empty((frames.shape[0], sig.N_BANDS + 1), np.float32)
    for k in range(0, frames.shape[0], 4096):
        spectrum = np.abs(rfft(frames[k : k + 4096] * window, axis=1)) ** 2
        out[k : k + 4096] = spectrum.astype(np.float32) @ sig._BANDS
    return np.log(out + 1e-10)


@pytest.mark.parametrize("seconds", [0.0, 0.01, 3.0, 70.0])  # 70 s: over 4096 frames
def test_band_log_energy_equals_the_plain_form(seconds):
    y = _song8(9, seconds) if seconds else np.zeros(0, np.float32)
    energy = sig.band_log_energy(y)
    assert np.array_equal(energy, _band_log_energy_plain(y))
    if seconds > 60:
        assert energy.shape[0] > 4096
        assert np.array_equal(sig.reference_signature(y), sig.pack_bits(
            sig.double_difference(_band_log_energy_plain(y)) > 0))
