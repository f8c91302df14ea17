"""Degradations used to evaluate identification: noise, reverb, telephone band, MP3, tempo.

Every function takes mono float32 samples and returns new mono float32 samples at the same rate,
except ``tempo`` which changes the length. Randomness comes from an explicit ``numpy`` Generator.
"""

from __future__ import annotations

import io

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise of ``n`` samples with unit RMS."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.arange(n // 2 + 1, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=n)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def add_noise(y: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add pink noise at ``snr_db`` relative to the signal's RMS."""
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) + 1e-12
    noise = pink_noise(y.size, rng) * rms * 10 ** (-snr_db / 20)
    return (y + noise).astype(np.float32)


def reverb(y: np.ndarray, sr: int, rng: np.random.Generator, rt60: float = 0.8) -> np.ndarray:
    """Convolve with a synthetic room response (exponentially decaying noise, given RT60)."""
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0  # direct path
    ir /= np.sqrt(np.sum(ir**2))
    wet = fftconvolve(y, ir)[: y.size]
    peak = np.max(np.abs(wet)) + 1e-12
    return (wet / peak * max(np.max(np.abs(y)), 1e-6)).astype(np.float32)


def telephone(y: np.ndarray, sr: int) -> np.ndarray:
    """Band-limit to 300-3400 Hz (4th-order Butterworth) and add mild clipping."""
    sos = butter(4, [300, min(3400, sr / 2 - 100)], btype="bandpass", fs=sr, output="sos")
    out = sosfilt(sos, y)
    peak = np.max(np.abs(out)) + 1e-12
    return np.tanh(2.0 * out / peak).astype(np.float32) * 0.5


def mp3(y: np.ndarray, sr: int, bitrate_kbps: int = 64) -> np.ndarray:
    """Encode to MP3 and decode again (libsndfile's LAME/mpg123 via soundfile)."""
    import soundfile as sf

    buf = io.BytesIO()
    # libsndfile maps a compression level in [0, 1] to bit rate; 0.6 gives ~64 kbit/s mono.
    level = float(np.clip(1.0 - (bitrate_kbps - 32) / 288, 0.0, 1.0))
    sf.write(buf, np.clip(y, -1, 1), sr, format="MP3", subtype="MPEG_LAYER_III", compression_level=level)
    buf.seek(0)
    decoded, _ = sf.read(buf, dtype="float32")
    if decoded.ndim > 1:
        decoded = decoded.mean(axis=1)
    return decoded.astype(np.float32)


def tempo(y: np.ndarray, rate: float) -> np.ndarray:
    """Change tempo by ``rate`` (1.05 = 5 % faster) keeping the pitch (phase vocoder)."""
    import librosa

    return librosa.effects.time_stretch(y.astype(np.float32), rate=rate).astype(np.float32)


CONDITIONS = (
    "clean",
    "noise20",
    "noise10",
    "noise5",
    "noise0",
    "reverb+noise",
    "telephone",
    "mp3",
    "tempo+5",
    "tempo-5",
)


def apply(condition: str, y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Apply a named condition from ``CONDITIONS``."""
    if condition == "clean":
        return y.astype(np.float32)
    if condition.startswith("noise"):
        return add_noise(y, float(condition[5:]), rng)
    if condition == "reverb+noise":
        return add_noise(reverb(y, sr, rng), 10.0, rng)
    if condition == "telephone":
        return telephone(add_noise(y, 20.0, rng), sr)
    if condition == "mp3":
        return mp3(y, sr)
    if condition == "tempo+5":
        return tempo(y, 1.05)
    if condition == "tempo-5":
        return tempo(y, 0.95)
    raise ValueError(f"unknown condition {condition!r}")
