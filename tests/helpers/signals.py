"""Test audio made by code: tones, chords, noise, and files in every supported format.

Encoders are the project's own dependencies: soundfile (libsndfile) for WAV, FLAC, AIFF, OGG
Vorbis, Opus and MP3; PyAV (FFmpeg) for M4A/AAC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

#: extension -> (soundfile format, subtype) ; m4a is written with PyAV.
SOUNDFILE_FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "aiff": ("AIFF", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
ALL_FORMATS = [*SOUNDFILE_FORMATS, "m4a"]


def sine(freq: float, seconds: float, sr: int, amp: float = 0.5, phase: float = 0.0) -> np.ndarray:
    """A float32 sine tone."""
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def chord(freqs: list[float], seconds: float, sr: int, amp: float = 0.6) -> np.ndarray:
    """Several sines summed, normalised to ``amp`` peak, with 10 ms fades."""
    y = sum(sine(f, seconds, sr, 1.0) for f in freqs)
    y = y / np.max(np.abs(y)) * amp
    fade = min(len(y) // 2, int(0.01 * sr))
    if fade:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        y[:fade] *= ramp
        y[-fade:] *= ramp[::-1]
    return y.astype(np.float32)


def noise(seconds: float, sr: int, amp: float = 0.3, seed: int = 0) -> np.ndarray:
    """White noise."""
    rng = np.random.default_rng(seed)
    return (amp * rng.standard_normal(int(seconds * sr))).astype(np.float32)


def stereo_test_signal(seconds: float, sr: int) -> np.ndarray:
    """(2, n): 440 Hz on the left, 660 Hz on the right."""
    return np.stack([sine(440, seconds, sr), sine(660, seconds, sr)])


def write_audio(path: Path, samples: np.ndarray, sr: int) -> Path:
    """Write ``samples`` ((n,) or (channels, n)) in the format named by ``path``'s extension."""
    ext = path.suffix.lower().lstrip(".")
    data = samples if samples.ndim == 1 else samples.T
    if ext in SOUNDFILE_FORMATS:
        fmt, subtype = SOUNDFILE_FORMATS[ext]
        sf.write(str(path), data, sr, format=fmt, subtype=subtype)
        return path
    if ext == "m4a":
        _write_m4a(path, samples, sr)
        return path
    raise ValueError(f"no encoder for {ext!r}")


def _write_m4a(path: Path, samples: np.ndarray, sr: int) -> None:
    import av

    planar = np.atleast_2d(samples).astype(np.float32)
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sr)
        stream.layout = layout
        frame_size = 1024
        for start in range(0, planar.shape[1], frame_size):
            chunk = np.ascontiguousarray(planar[:, start : start + frame_size])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def dominant_frequency(y: np.ndarray, sr: int) -> float:
    """Frequency of the strongest spectral peak (Hann window, parabolic interpolation)."""
    y = np.asarray(y, dtype=np.float64)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-12)
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + shift) * sr / len(y)
