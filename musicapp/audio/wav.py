"""Writing WAV files: whole signals atomically, and takes incrementally while recording.

:class:`IncrementalWavWriter` keeps the RIFF header valid on disk after every flush (it patches
the two size fields and fsyncs), so a take survives a crash or ``SIGKILL`` of the process with
everything up to the last flush readable by any WAV reader.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from musicapp.outputs import write_atomically

_BYTES_PER_SAMPLE = {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
                     "FLOAT": 4, "DOUBLE": 8}


def write_wav(
    path: str | Path,
    samples: np.ndarray,
    sample_rate: int,
    subtype: str = "PCM_16",
    overwrite: bool = True,
) -> Path:
    """Write ``samples`` (``(n,)`` or ``(channels, n)``) to a WAV file atomically.

    Written by :func:`musicapp.outputs.write_atomically`: a temporary file in the same folder,
    flushed and renamed onto ``path``, so a reader never sees half a file; it gets the mode
    ``0o666 & ~umask`` like any new file. With ``overwrite=False`` an existing file is refused
    (:class:`~musicapp.errors.FileExistsRefusal`). A full disk (named as such, with the free and
    needed sizes) or an unwritable folder raises :class:`~musicapp.errors.MusicappError` and
    leaves the previous file and no temporary file behind.
    """
    data = np.asarray(samples, dtype=np.float32)
    data = data if data.ndim == 1 else data.T
    return write_atomically(
        path,
        lambda tmp: sf.write(tmp, np.clip(data, -1.0, 1.0), int(sample_rate), subtype=subtype,
                             format="WAV"),
        overwrite=overwrite, kind="WAV", catch=(sf.LibsndfileError,),
        need_bytes=data.size * _BYTES_PER_SAMPLE.get(subtype, 4),
    )


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
