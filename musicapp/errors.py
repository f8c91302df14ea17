"""Exception types of the core. Each names the file or device and the problem in its message."""

from __future__ import annotations

from pathlib import Path


class MusicappError(Exception):
    """Base class of every error the core raises on purpose."""


class AudioDecodeError(MusicappError):
    """An audio file could not be read: missing, unreadable, empty, corrupt or unsupported."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AudioDeviceError(MusicappError):
    """An audio device is missing, busy, or disappeared while in use."""


class ModelError(MusicappError):
    """A model file is missing, tampered with, truncated or incompatible."""


class FileExistsRefusal(MusicappError):
    """Refused to overwrite an existing file without explicit permission."""
