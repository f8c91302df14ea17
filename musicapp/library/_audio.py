"""Audio decoding for the library: mono float32 at a chosen rate (via the foundation loader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicapp.audio import load_audio


def load_mono(path: str | Path, sr: int) -> np.ndarray:
    """Decode ``path`` to mono float32 samples at ``sr`` Hz (raises AudioDecodeError)."""
    return np.ascontiguousarray(load_audio(path, sr=sr, mono=True).samples, dtype=np.float32)
