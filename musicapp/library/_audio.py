"""Audio decoding for the library: mono float32 at a chosen rate.

Uses the foundation loader ``musicapp.audio.load_audio``. While the foundation package is not
importable (early development, or a stripped install) it falls back to soundfile + a polyphase
resampler so that fingerprinting keeps working; both raise ``AudioDecodeError`` on bad input.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from musicapp.errors import AudioDecodeError


def load_mono(path: str | Path, sr: int) -> np.ndarray:
    """Decode ``path`` to mono float32 samples at ``sr`` Hz (raises AudioDecodeError)."""
    try:
        from musicapp.audio import load_audio
    except ImportError:
        return _fallback_load(path, sr)
    audio = load_audio(path, sr=sr, mono=True)
    return np.ascontiguousarray(audio.samples, dtype=np.float32)


def _fallback_load(path: str | Path, sr: int) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(path, "file does not exist")
    try:
        data, native_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for corrupt input
        raise AudioDecodeError(path, f"cannot decode audio ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioDecodeError(path, "no audio frames")
    mono = data.mean(axis=1)
    if native_sr != sr:
        g = gcd(int(native_sr), int(sr))
        mono = resample_poly(mono, sr // g, int(native_sr) // g).astype(np.float32)
    return np.ascontiguousarray(mono, dtype=np.float32)
