"""Which files musicapp treats as audio: one list for the CLI, the library scan and the GUI.

The decoder (``musicapp.audio.decode``) reads these with libsndfile (WAV, FLAC, AIFF, OGG
Vorbis/Opus, MP3) or PyAV's FFmpeg (M4A/AAC/MP4 audio, WMA and anything libsndfile refuses).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Lower-case file name endings of the audio formats musicapp decodes.
AUDIO_EXTENSIONS: frozenset[str] = frozenset({
    ".wav", ".wave", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".opus", ".mp3",
    ".m4a", ".aac", ".mp4", ".wma",
})


def is_audio_name(path: str | os.PathLike[str]) -> bool:
    """True when the file name ends like an audio file (the file itself is not opened)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def dialog_filter() -> str:
    """A Qt file-dialog filter string: ``"Audio files (*.wav *.flac ...);;All files (*)"``."""
    patterns = " ".join(f"*{ext}" for ext in sorted(AUDIO_EXTENSIONS))
    return f"Audio files ({patterns});;All files (*)"
