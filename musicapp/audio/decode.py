"""Decode any common audio file into float32 samples at a requested rate.

Two backends cover the formats musicians meet:

* ``soundfile`` (libsndfile 1.2, bundled in the wheel): WAV, FLAC, AIFF, OGG Vorbis/Opus, MP3;
* ``pyav`` (FFmpeg libraries bundled in the wheel): M4A/AAC and anything libsndfile refuses.

Files are decoded block by block; each block is mixed down (if asked) and pushed through a
streaming SoX resampler (``soxr``, the resampler librosa uses) into one preallocated output
array, so a 2-hour file never exists in memory more than once. Every failure is raised as
:class:`~musicapp.errors.AudioDecodeError` naming the file and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from musicapp.audio.info import Audio, AudioInfo
from musicapp.audio.prefetch import prefetch
from musicapp.audio.resample import StreamResampler
from musicapp.errors import AudioDecodeError
from musicapp.params import MEL

#: Frames per block read from the backends (at the file's own rate).
READ_BLOCK_FRAMES = 1 << 16

# Containers libsndfile reports whose name a musician would not recognise.
_FORMAT_NAMES = {"WAVEX": "WAV", "RF64": "WAV"}


def _check_path(path: str | Path) -> Path:
    """Fail early, with a precise message, on paths that cannot hold audio."""
    p = Path(path)
    if not p.exists():
        raise AudioDecodeError(p, "file does not exist")
    if p.is_dir():
        raise AudioDecodeError(p, "is a directory, not an audio file")
    if not os.access(p, os.R_OK):
        raise AudioDecodeError(p, "permission denied: the file is not readable")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise AudioDecodeError(p, f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise AudioDecodeError(p, "file is empty (0 bytes)")
    return p


def _probe_soundfile(p: Path) -> AudioInfo | None:
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    if info.samplerate <= 0 or info.channels <= 0:
        return None
    fmt = _FORMAT_NAMES.get(info.format, info.format)
    return AudioInfo(
        path=str(p),
        format=fmt,
        codec=info.subtype,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        duration_s=float(info.frames) / info.samplerate,
        backend="soundfile",
    )


def _probe_pyav(p: Path) -> AudioInfo | None:
    import av

    try:
        with av.open(str(p)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            channels = int(stream.channels or stream.codec_context.channels or 0)
            if rate <= 0 or channels <= 0:
                return None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000.0
            else:
                duration = 0.0
            fmt = container.format.name.split(",")[0].upper()
            if fmt in {"MOV", "MP4"}:
                fmt = "M4A"
            return AudioInfo(
                path=str(p),
                format=fmt,
                codec=stream.codec_context.name,
                sample_rate=rate,
                channels=channels,
                frames=int(round(duration * rate)),
                duration_s=duration,
                backend="pyav",
            )
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return None


def probe(path: str | Path) -> AudioInfo:
    """Read format, codec, rate, channels and duration of an audio file without decoding it."""
    p = _check_path(path)
    info = _probe_soundfile(p) or _probe_pyav(p)
    if info is None:
        raise AudioDecodeError(p, "not a recognised audio file (corrupt, or an unsupported format)")
    if info.frames <= 0 and info.backend == "soundfile":
        raise AudioDecodeError(p, "contains no audio (zero-length)")
    return info


def _soundfile_blocks(info: AudioInfo, start: int, count: int | None) -> Iterator[np.ndarray]:
    """Yield (frames, channels) float32 blocks from libsndfile."""
    with sf.SoundFile(info.path) as f:
        if start:
            if not f.seekable():
                raise AudioDecodeError(info.path, "file is not seekable; cannot decode a range")
            f.seek(min(start, max(f.frames, 0)))
        remaining = count
        while remaining is None or remaining > 0:
            n = READ_BLOCK_FRAMES if remaining is None else min(READ_BLOCK_FRAMES, remaining)
            block = f.read(n, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            if remaining is not None:
                remaining -= block.shape[0]
            yield block


def _pyav_blocks(info: AudioInfo, start_s: float, count: int | None) -> Iterator[np.ndarray]:
    """Yield (frames, channels) float32 blocks decoded by FFmpeg at the stream's own rate."""
    import av

    with av.open(info.path) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout=stream.layout, rate=info.sample_rate)
        if start_s > 0 and stream.time_base is not None:
            container.seek(int(start_s / stream.time_base), stream=stream, backward=True)
        to_skip: int | None = None
        remaining = count
        for packet in container.demux(stream):
            for frame in packet.decode():
                if to_skip is None:
                    t0 = float(frame.pts * stream.time_base) if frame.pts is not None else 0.0
                    to_skip = max(0, int(round((start_s - t0) * info.sample_rate)))
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1, info.channels)
                    if to_skip:
                        cut = min(to_skip, block.shape[0])
                        block = block[cut:]
                        to_skip -= cut
                    if remaining is not None:
                        block = block[:remaining]
                        remaining -= block.shape[0]
                    if block.shape[0]:
                        yield block
                    if remaining == 0:
                        return


def _raw_blocks(info: AudioInfo, offset: float, duration: float | None) -> Iterator[np.ndarray]:
    start = int(round(offset * info.sample_rate))
    count = None if duration is None else int(round(duration * info.sample_rate))
    if info.backend == "soundfile":
        return _soundfile_blocks(info, start, count)
    return _pyav_blocks(info, offset, count)


class _BlockDecoder:
    """Turns raw backend blocks into sanitised, mixed and resampled blocks.

    Keeps count of repaired samples and of a decode error that stopped the stream early, so the
    caller can decide between a warning and an exception.
    """

    def __init__(self, info: AudioInfo, sr: int | None, mono: bool) -> None:
        self.info = info
        self.target_rate = sr or info.sample_rate
        self.mono = mono
        out_channels = 1 if mono else info.channels
        self.resampler = (
            StreamResampler(info.sample_rate, self.target_rate, out_channels)
            if self.target_rate != info.sample_rate
            else None
        )
        self.nonfinite = 0
        self.decoded_frames = 0
        self.error: str | None = None

    def _prepare(self, block: np.ndarray) -> np.ndarray:
        # A sum is cheap and non-finite whenever any sample is; only then look closer.
        if not np.isfinite(block.sum()):
            finite = np.isfinite(block)
            bad = int(block.size - np.count_nonzero(finite))
            if bad:
                self.nonfinite += bad
                block = np.where(finite, block, np.float32(0.0))
        if self.mono and block.shape[1] > 1:
            weights = np.full(block.shape[1], 1.0 / block.shape[1], dtype=np.float32)
            block = (block @ weights)[:, None]
        return np.ascontiguousarray(block, dtype=np.float32)

    def blocks(self, offset: float, duration: float | None) -> Iterator[np.ndarray]:
        """Yield (frames, channels) float32 blocks at the target rate."""
        import av

        try:
            for raw in prefetch(_raw_blocks(self.info, offset, duration)):
                self.decoded_frames += raw.shape[0]
                block = self._prepare(raw)
                if self.resampler is not None:
                    block = self.resampler.process(block)
                if block.shape[0]:
                    yield block
        except (sf.LibsndfileError, av.FFmpegError, RuntimeError, ValueError, OSError) as exc:
            self.error = str(exc) or type(exc).__name__
        if self.resampler is not None:
            tail = self.resampler.flush()
            if tail.shape[0]:
                yield tail

    def problems(self) -> list[str]:
        """Human-readable descriptions of what had to be repaired."""
        out = []
        if self.nonfinite:
            out.append(f"{self.nonfinite} non-finite (NaN/inf) samples were replaced by silence")
        if self.error is not None:
            at = self.decoded_frames / self.info.sample_rate
            out.append(f"truncated or corrupt after {at:.2f} s ({self.error})")
        return out


def _validate_range(p: Path, offset: float, duration: float | None) -> None:
    if not np.isfinite(offset) or offset < 0:
        raise AudioDecodeError(p, f"invalid offset {offset!r}: must be a finite number >= 0")
    if duration is not None and (not np.isfinite(duration) or duration <= 0):
        raise AudioDecodeError(p, f"invalid duration {duration!r}: must be > 0")


def iter_blocks(
    path: str | Path,
    sr: int | None = MEL.sample_rate,
    mono: bool = True,
    block_seconds: float = 30.0,
    offset: float = 0.0,
    duration: float | None = None,
) -> Iterator[np.ndarray]:
    """Decode a file lazily as consecutive blocks of about ``block_seconds``.

    Yields float32 arrays shaped like :func:`load_audio`'s samples (``(n,)`` mono or
    ``(channels, n)``) at ``sr``. Memory use is bounded by the block size, whatever the file's
    length. Repairs (non-finite samples, a truncated tail) are silent here; use
    :func:`load_audio` to see them.
    """
    p = _check_path(path)
    _validate_range(p, offset, duration)
    info = probe(p)
    decoder = _BlockDecoder(info, sr, mono)
    want = max(1, int(block_seconds * decoder.target_rate))
    pending: list[np.ndarray] = []
    have = 0
    for block in decoder.blocks(offset, duration):
        pending.append(block)
        have += block.shape[0]
        while have >= want:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            out, rest = joined[:want], joined[want:]
            pending, have = ([rest] if rest.shape[0] else []), rest.shape[0]
            yield _shape_output(out, mono)
    if have:
        yield _shape_output(np.concatenate(pending), mono)


def _shape_output(block: np.ndarray, mono: bool) -> np.ndarray:
    return block[:, 0].copy() if mono else np.ascontiguousarray(block.T)


def load_audio(
    path: str | Path,
    sr: int | None = MEL.sample_rate,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
    strict: bool = False,
) -> Audio:
    """Decode an audio file (or the range ``[offset, offset + duration)`` of it).

    Args:
        path: any WAV, FLAC, AIFF, OGG Vorbis/Opus, MP3 or M4A/AAC file.
        sr: output sample rate; ``None`` keeps the file's own rate.
        mono: mix all channels down to one (``samples`` is then 1-D).
        offset: start of the range to decode, in seconds.
        duration: length of the range in seconds; ``None`` decodes to the end.
        strict: raise instead of repairing non-finite samples or a truncated tail.

    Returns:
        :class:`Audio` with float32 samples, its rate, the file's metadata and any warnings.

    Raises:
        AudioDecodeError: the path is missing, a directory, unreadable, empty, not audio,
            contains no samples, or (with ``strict``) needed repairs.
    """
    p = _check_path(path)
    _validate_range(p, offset, duration)
    info = probe(p)
    decoder = _BlockDecoder(info, sr, mono)
    rate = decoder.target_rate
    channels = 1 if mono else info.channels

    # One preallocated (channels, n) output; grows only when a header under-reports length.
    avail = max(info.duration_s - offset, 0.0)
    span = avail if duration is None else min(duration, avail) if avail > 0 else duration
    out = np.empty((channels, int(np.ceil(span * rate)) + 1024), dtype=np.float32)
    filled = 0
    for block in decoder.blocks(offset, duration):
        n = block.shape[0]
        if filled + n > out.shape[1]:
            grown = np.empty((channels, max(out.shape[1] * 2, filled + n)), dtype=np.float32)
            grown[:, :filled] = out[:, :filled]
            out = grown
        out[:, filled : filled + n] = block.T
        filled += n
    if duration is not None:
        filled = min(filled, int(round(duration * rate)))

    problems = decoder.problems()
    if filled == 0:
        if decoder.error is not None:
            raise AudioDecodeError(p, f"corrupt or truncated: no audio could be decoded ({decoder.error})")
        if offset > 0 and offset >= info.duration_s:
            raise AudioDecodeError(p, f"offset {offset:.2f} s is past the end ({info.duration_s:.2f} s)")
        raise AudioDecodeError(p, "contains no audio (zero-length)")
    if decoder.nonfinite and decoder.nonfinite >= decoder.decoded_frames * info.channels:
        raise AudioDecodeError(p, "every sample is NaN or infinite: the file holds no usable audio")
    if strict and problems:
        raise AudioDecodeError(p, "; ".join(problems))

    samples = out[0, :filled] if mono else out[:, :filled]
    if out.shape[1] - filled > max(4096, filled // 100):  # release a large unused tail
        samples = samples.copy()
    return Audio(samples=samples, sample_rate=rate, info=info, offset_s=offset, warnings=problems)
