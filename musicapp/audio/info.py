"""Metadata of an audio file and of decoded audio."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class AudioInfo:
    """What a file says about itself before decoding.

    ``frames`` and ``duration_s`` come from the container header, checked against the file
    for FLAC and WAV (a truncated file reports what it holds); for other compressed formats they
    are estimates until the file is decoded. ``warnings`` says what the header got wrong
    (``"truncated: ..."``). ``data_offset`` is where the decoders start reading (past a damaged
    ID3 tag, see :mod:`musicapp.audio.mpeg`; 0 for every other file).
    """

    path: str
    format: str  # container, e.g. "WAV", "FLAC", "MP3", "OGG", "M4A"
    codec: str  # e.g. "PCM_16", "VORBIS", "OPUS", "MPEG_LAYER_III", "aac"
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    backend: str  # "soundfile" or "pyav"
    warnings: tuple[str, ...] = ()
    data_offset: int = 0

    def to_dict(self) -> dict:
        """A JSON-serialisable view (``warnings`` only when there are some)."""
        out = {
            "path": self.path,
            "format": self.format,
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frames": self.frames,
            "duration_s": round(self.duration_s, 6),
            "backend": self.backend,
        }
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


@dataclass
class Audio:
    """Decoded audio.

    ``samples`` is float32, shape ``(n,)`` when mono or ``(channels, n)`` otherwise, at
    ``sample_rate``. ``info`` describes the source file; ``warnings`` lists problems that were
    repaired while decoding (non-finite samples, a truncated tail). ``damaged_share`` is the share
    of the decoded samples that were not audio (NaN, inf, absurdly large) and are now silence;
    above :data:`musicapp.params.DAMAGE` ``.max_share`` the analysis reports the file as damaged.
    """

    samples: np.ndarray
    sample_rate: int
    info: AudioInfo
    offset_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    damaged_share: float = 0.0

    @property
    def duration_s(self) -> float:
        """Duration of the decoded samples in seconds."""
        return self.samples.shape[-1] / float(self.sample_rate)

    @property
    def channels(self) -> int:
        """Number of channels in ``samples``."""
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[0])

    @property
    def path(self) -> Path:
        """The source file."""
        return Path(self.info.path)
