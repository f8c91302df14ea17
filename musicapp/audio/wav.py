"""Writing WAV files: whole signals atomically, and takes incrementally while recording.

:class:`IncrementalWavWriter` keeps the RIFF header valid on disk after every flush (it patches
the two size fields and fsyncs), so a take survives a crash or ``SIGKILL`` of the process with
everything up to the last flush readable by any WAV reader.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from musicapp.errors import FileExistsRefusal, MusicappError
from musicapp.outputs import apply_umask

_BYTES_PER_SAMPLE = {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
                     "FLOAT": 4, "DOUBLE": 8}


def _free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged writer may still use in ``folder``'s file system (None: unknown)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def _size(n: int) -> str:
    """``n`` bytes for people (KB/MB/GB)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def write_wav(
    path: str | Path,
    samples: np.ndarray,
    sample_rate: int,
    subtype: str = "PCM_16",
    overwrite: bool = True,
) -> Path:
    """Write ``samples`` (``(n,)`` or ``(channels, n)``) to a WAV file atomically.

    The data goes to a temporary file in the same folder which then replaces ``path``, so a
    reader never sees half a file; it gets the mode ``0o666 & ~umask`` like any new file. With
    ``overwrite=False`` an existing file is refused. A full disk or an unwritable folder raises
    :class:`~musicapp.errors.MusicappError` and leaves nothing behind.
    """
    p = Path(path)
    if not overwrite and p.exists():
        raise FileExistsRefusal(f"{p}: already exists; use --overwrite to replace it")
    data = np.asarray(samples, dtype=np.float32)
    data = data if data.ndim == 1 else data.T
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as exc:
        raise MusicappError(f"{p}: cannot write in {p.parent} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        sf.write(tmp, np.clip(data, -1.0, 1.0), int(sample_rate), subtype=subtype, format="WAV")
        apply_umask(tmp)  # mkstemp creates 0600; an export gets the mode open() would give
        os.replace(tmp, p)
    except (OSError, sf.LibsndfileError) as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = getattr(exc, "strerror", None) or str(exc)
        need = data.size * _BYTES_PER_SAMPLE.get(subtype, 4)
        free = _free_bytes(p.parent or Path("."))
        if free is not None and free < need + 4096:  # libsndfile says only "System error."
            reason = (f"no space left on the device: {_size(free)} free, the file needs about "
                      f"{_size(need)}")
        raise MusicappError(f"{p}: cannot write the WAV file ({reason})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


class IncrementalWavWriter:
    """A 16-bit PCM WAV file that is valid on disk after every :meth:`flush`."""

    HEADER_BYTES = 44

    def __init__(self, path: str | Path, sample_rate: int, channels: int) -> None:
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.frames_written = 0
        self._fh: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._fh.write(self._header(0))
        self.flush()

    def _header(self, data_bytes: int) -> bytes:
        block_align = self.channels * 2
        return struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF",
            36 + data_bytes,
            b"WAVE",
            b"fmt ",
            16,
            1,  # PCM
            self.channels,
            self.sample_rate,
            self.sample_rate * block_align,
            block_align,
            16,
            b"data",
            data_bytes,
        )

    def write(self, block: np.ndarray) -> None:
        """Append ``(frames, channels)`` or ``(frames,)`` float32 samples (not yet durable)."""
        x = np.asarray(block, dtype=np.float32).reshape(-1, self.channels)
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
        self._fh.write(pcm.tobytes())
        self.frames_written += x.shape[0]

    def flush(self) -> None:
        """Make everything written so far durable and readable (header sizes patched, fsync)."""
        data_bytes = self.frames_written * self.channels * 2
        end = self._fh.tell()
        self._fh.seek(0)
        self._fh.write(self._header(data_bytes))
        self._fh.seek(end)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Flush and close the file."""
        if not self._fh.closed:
            self.flush()
            self._fh.close()

    @property
    def duration_s(self) -> float:
        """Seconds of audio written so far."""
        return self.frames_written / float(self.sample_rate)
