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

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from musicapp.audio import headers, memory, mpeg, native_stderr
from musicapp.audio.info import Audio, AudioInfo
from musicapp.audio.prefetch import prefetch
from musicapp.audio.resample import StreamResampler
from musicapp.errors import AudioDecodeError
from musicapp.params import MEL

#: Frames per block read from the backends (at the file's own rate).
READ_BLOCK_FRAMES = 1 << 16

# Containers libsndfile reports whose name a musician would not recognise.
_FORMAT_NAMES = {"WAVEX": "WAV", "RF64": "WAV"}

#: Uncompressed codecs: libsndfile derives their length from the file's real size.
_PCM_CODECS = {
    "PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW",
}  # fmt: skip

#: Samples beyond this magnitude (24 dB over full scale) are not audio (a float file holding
#: values near 1e30 or 3e38): like NaN and inf they are replaced by silence and counted as damage.
SAMPLE_LIMIT = 16.0

#: File name endings and first bytes of MPEG audio, whose libsndfile decoder (libmpg123) prints
#: its complaints on standard error (captured, see :mod:`musicapp.audio.native_stderr`).
_MPEG_SUFFIXES = {".mp3", ".mp2", ".mp1", ".mpga", ".mpa"}

#: For a compressed file whose length is not verified, the first output buffer holds at most this
#: many frames per byte of file (Opus at 6 kbit/s is 64); the buffer grows if the audio is longer.
_FRAMES_PER_BYTE_GUESS = 64


def _check_path(path: str | Path) -> Path:
    """Fail early, with a precise message, on paths that cannot hold audio."""
    p = Path(path)
    if not p.exists():
        raise AudioDecodeError(p, "file does not exist")
    if p.is_dir():
        raise AudioDecodeError(p, "is a directory, not an audio file")
    reason = headers.non_regular_reason(p)
    if reason is not None:
        raise AudioDecodeError(p, reason)
    if not os.access(p, os.R_OK):
        raise AudioDecodeError(p, "permission denied: the file is not readable")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise AudioDecodeError(p, f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise AudioDecodeError(p, "file is empty (0 bytes)")
    return p


def _looks_like_mpeg(p: Path) -> bool:
    """Whether ``p`` is probably MPEG audio (by its name or its first bytes)."""
    if p.suffix.lower() in _MPEG_SUFFIXES:
        return True
    try:
        with open(p, "rb") as f:
            head = f.read(3)
    except OSError:
        return False
    return head == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _source(path: str | Path, offset: int) -> contextlib.AbstractContextManager:
    """What the backends open: the path, or a view of the file from ``offset`` on."""
    if offset:
        return contextlib.closing(mpeg.OffsetFile(path, offset))
    return contextlib.nullcontext(str(path))


def _probe_soundfile(p: Path, offset: int = 0) -> AudioInfo | None:
    quiet = native_stderr.capture() if _looks_like_mpeg(p) else contextlib.nullcontext()
    try:
        with quiet as notes, _source(p, offset) as src:  # libmpg123's notes go to the log
            info = sf.info(src)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    finally:
        if notes is not None:
            notes.log(str(p))
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
        data_offset=offset,
    )


def _probe_pyav(p: Path, offset: int = 0) -> AudioInfo | None:
    import av

    try:
        with _source(p, offset) as src, av.open(src) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            ctx = stream.codec_context  # None when FFmpeg has no decoder for the codec
            if ctx is None:
                return None
            rate = int(getattr(ctx, "sample_rate", 0) or 0)
            channels = int(getattr(ctx, "channels", 0) or 0)
            if rate <= 0 or channels <= 0:
                return None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000.0
            else:
                duration = 0.0
            if not np.isfinite(duration) or duration < 0:
                duration = 0.0
            fmt = container.format.name.split(",")[0].upper()
            if fmt in {"MOV", "MP4"}:
                fmt = "M4A"
            return AudioInfo(
                path=str(p),
                format=fmt,
                codec=ctx.name,
                sample_rate=rate,
                channels=channels,
                frames=int(round(duration * rate)),
                duration_s=duration,
                backend="pyav",
                data_offset=offset,
            )
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError, AttributeError, TypeError):
        return None


def _unrecognised(p: Path) -> AudioDecodeError:
    """The error for a file neither backend can open, naming a WAV's bad encoding."""
    wav = headers.read_wav_header(p)
    if wav is not None:
        return AudioDecodeError(
            p,
            f"WAV file with an unsupported or invalid encoding (format tag 0x{wav.format_tag:04X}, "
            f"{wav.bits} bits per sample, {wav.channels} channels, {wav.sample_rate} Hz)",
        )
    return AudioDecodeError(p, "not a recognised audio file (corrupt, or an unsupported format)")


def _probe_past_broken_tag(p: Path) -> AudioInfo | None:
    """Probe an MP3 whose ID3 tag claims to end beyond the file from its first MPEG frame."""
    found = mpeg.audio_start_after_broken_tag(p)
    if found is None:
        return None
    claimed, start = found
    return _probe_from(p, start, (
        f"damaged ID3 tag: its header claims {claimed} bytes but the file has "
        f"{p.stat().st_size}; the tag was skipped and the audio decoded from the first MPEG "
        f"frame (byte {start})"))


def _probe_from(p: Path, start: int, note: str) -> AudioInfo | None:
    """Probe ``p`` from byte ``start`` (libsndfile, else FFmpeg) with ``note`` as a warning;
    None when neither reads it from there."""
    info = _probe_soundfile(p, start) or _probe_pyav(p, start)
    return None if info is None else replace(info, warnings=(*info.warnings, note))


def _probe_past_misplaced_tag(p: Path, info: AudioInfo) -> AudioInfo:
    """An MP3 whose ID3 tag ends where no MPEG frame starts (a footer flag without a footer, a
    wrong size; libsndfile would start mid-frame and lose most of the song) is probed again from
    its first MPEG frame, with a warning; any other file is returned as it is."""
    if info.format != "MP3" or info.data_offset:
        return info
    found = mpeg.audio_start(p)
    if found is None:
        return info
    start, note = found
    return _probe_from(p, start, note) or info


def _check_limits(p: Path, info: AudioInfo) -> None:
    """Refuse headers whose rate or channel count no real audio has (before any allocation)."""
    if not headers.MIN_SAMPLE_RATE <= info.sample_rate <= headers.MAX_SAMPLE_RATE:
        raise AudioDecodeError(
            p,
            f"the header claims a sample rate of {info.sample_rate} Hz, outside the "
            f"{headers.MIN_SAMPLE_RATE}..{headers.MAX_SAMPLE_RATE} Hz of real audio; "
            "the file is corrupt",
        )
    if info.channels > headers.MAX_CHANNELS:
        raise AudioDecodeError(
            p, f"the header claims {info.channels} channels (at most {headers.MAX_CHANNELS} are read)"
        )


def _flac_length_note(declared: int, real: int, rate: int) -> str:
    """What a FLAC header's wrong length means: an impossible length (2^36 - 1 samples, 433 hours)
    is called invalid; a small gap is given in samples, so the two figures never read the same."""
    held = f"{real / rate:.3f} s"
    if declared > headers.MAX_DURATION_S * rate:
        return (f"invalid length in the header (truncated or corrupt): it declares {declared:,} samples "
                f"({declared / rate / 3600:,.1f} hours); the file holds {held}")
    if round(declared / rate, 3) == round(real / rate, 3):
        return (f"truncated: the header declares {declared:,} samples, the file holds {real:,} "
                f"({declared - real:,} fewer, {held})")
    return f"truncated: the header declares {declared / rate:.3f} s, the file holds {held}"


def _verify_length(p: Path, info: AudioInfo) -> AudioInfo:
    """Replace a header's length by what the file holds where it can be checked cheaply.

    FLAC: seeks find the real end (streamed FLAC declares 0, a truncated one its full length).
    WAV: the data chunk's declared size is compared with the bytes present.
    """
    size = p.stat().st_size
    if info.backend != "soundfile":
        return info
    if info.format == "FLAC":
        real = headers.flac_real_frames(p, info.frames)
        if real == info.frames:
            return info
        notes = []
        if 0 < info.frames < headers.SF_COUNT_MAX:
            notes.append(_flac_length_note(info.frames, real, info.sample_rate))
        # libsndfile checks its position (a seek) around every read, and seeking fails near the
        # end of such a file, so FFmpeg decodes it, streaming to the real end.
        return replace(
            info, frames=real, duration_s=real / info.sample_rate, backend="pyav", warnings=tuple(notes)
        )
    if info.format == "OGG":
        end = headers.ogg_end(p)
        if end is not None and not end.complete:
            note = (f"truncated: the Ogg stream breaks off at byte {end.cut_at} without its "
                    "end-of-stream page (the rest of the file is missing)")
            return replace(info, warnings=(note,))
    if info.format == "WAV":
        declared = headers.wav_declared_frames_if_truncated(p, size)
        if declared is not None:
            note = (
                f"truncated: the header declares {declared / info.sample_rate:.3f} s, "
                f"the file holds {info.duration_s:.3f} s"
            )
            return replace(info, warnings=(note,))
    return info


def probe(path: str | Path) -> AudioInfo:
    """Read format, codec, rate, channels and duration of an audio file without decoding it.

    The header is checked against the file: implausible rates or channel counts are refused, a
    streamed FLAC's unknown length is found, and a truncated FLAC/WAV reports the length it really
    holds with a ``truncated`` entry in :attr:`AudioInfo.warnings`.
    """
    p = _check_path(path)
    info = _probe_soundfile(p) or _probe_pyav(p) or _probe_past_broken_tag(p)
    if info is None:
        raise _unrecognised(p)
    info = _probe_past_misplaced_tag(p, info)
    _check_limits(p, info)
    info = _verify_length(p, info)
    if info.frames <= 0 and info.backend == "soundfile":
        if info.format == "OGG" and info.warnings:
            raise AudioDecodeError(
                p, f"truncated: the file breaks off at byte {p.stat().st_size}, before its first "
                "complete page of audio; no audio could be decoded")
        raise AudioDecodeError(p, "contains no audio (zero-length)")
    return info


#: libsndfile's MP3 reader makes libmpg123 print "error: part2_3_length (N) too large for
#: available bit count (N)" when a read ends at a sample position that is not a multiple of the
#: MPEG frame length, on clean files that use the bit reservoir (a clean MP3 was reported
#: "damaged"; the count of such lines changed with the read size, the samples did not). Reads
#: of MP3 end on multiples of this many samples (1152: MPEG-1 Layer II/III; 576 and 384 divide it).
MPEG_READ_ALIGN = 1152


def _soundfile_blocks(info: AudioInfo, start: int, count: int | None) -> Iterator[np.ndarray]:
    """Yield (frames, channels) float32 blocks from libsndfile (MP3: see :data:`MPEG_READ_ALIGN`)."""
    align = MPEG_READ_ALIGN if info.format == "MP3" else 1
    step = max(align, READ_BLOCK_FRAMES // align * align)
    with _source(info.path, info.data_offset) as src, sf.SoundFile(src) as f:
        pos = 0
        if start:
            if not f.seekable():
                raise AudioDecodeError(info.path, "file is not seekable; cannot decode a range")
            pos = f.seek(min(start, max(f.frames, 0)))
        remaining = count
        while remaining is None or remaining > 0:
            n = step - pos % align  # the first read after a seek ends on a frame boundary
            n = n if remaining is None else min(n, remaining)
            block = f.read(n, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            pos += block.shape[0]
            if remaining is not None:
                remaining -= block.shape[0]
            yield block


#: A damaged stream is given up after this many consecutive undecodable packets.
_MAX_BAD_PACKETS = 200


def _decode_packet(packet, skipped: list[int]) -> list:
    """The frames of one packet; an undecodable packet is counted in ``skipped`` and gives none."""
    import av

    try:
        frames = packet.decode()
    except av.InvalidDataError as exc:
        skipped[0] += 1
        skipped[1] += 1
        if skipped[1] > _MAX_BAD_PACKETS:
            raise exc
        return []
    skipped[1] = 0
    return frames


def _pyav_blocks(
    info: AudioInfo, start_s: float, count: int | None, skipped: list[int] | None = None
) -> Iterator[np.ndarray]:
    """Yield (frames, channels) float32 blocks decoded by FFmpeg at the stream's own rate.

    Undecodable packets (a damaged stretch) are skipped and counted in ``skipped[0]``.
    """
    import av

    skipped = skipped if skipped is not None else [0, 0]

    with _source(info.path, info.data_offset) as src, av.open(src) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout=stream.layout, rate=info.sample_rate)
        if start_s > 0 and stream.time_base is not None:
            container.seek(int(start_s / stream.time_base), stream=stream, backward=True)
        to_skip: int | None = None
        remaining = count
        for packet in container.demux(stream):
            for frame in _decode_packet(packet, skipped):
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


def _raw_blocks(
    info: AudioInfo, offset: float, duration: float | None, skipped: list[int] | None = None
) -> Iterator[np.ndarray]:
    start = int(round(offset * info.sample_rate))
    count = None if duration is None else int(round(duration * info.sample_rate))
    if info.backend == "soundfile":
        return _soundfile_blocks(info, start, count)
    return _pyav_blocks(info, offset, count, skipped)


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
        self.clipped = 0  # samples beyond SAMPLE_LIMIT (replaced by silence)
        self.decoder_notes: native_stderr.Captured | None = None
        self.skipped = [0, 0]  # undecodable packets: total, consecutive
        self.decoded_frames = 0
        self.error: str | None = None

    def _prepare(self, block: np.ndarray) -> np.ndarray:
        # One pass finds both problems: the peak is NaN when any sample is, inf when any is.
        peak = float(np.max(np.abs(block))) if block.size else 0.0
        if not peak <= SAMPLE_LIMIT:  # NaN, inf or absurd values: silence, counted
            finite = np.isfinite(block)
            self.nonfinite += int(block.size - np.count_nonzero(finite))
            usable = finite & (np.abs(np.where(finite, block, np.float32(0.0))) <= SAMPLE_LIMIT)
            self.clipped += int(np.count_nonzero(finite & ~usable))
            block = np.where(usable, block, np.float32(0.0))
        if self.mono and block.shape[1] > 1:
            weights = np.full(block.shape[1], 1.0 / block.shape[1], dtype=np.float32)
            block = (block @ weights)[:, None]
        return np.ascontiguousarray(block, dtype=np.float32)

    def blocks(self, offset: float, duration: float | None) -> Iterator[np.ndarray]:
        """Yield (frames, channels) float32 blocks at the target rate."""
        errors: tuple[type[BaseException], ...] = (sf.LibsndfileError, RuntimeError, ValueError,
                                                   OSError)
        if self.info.backend != "soundfile":  # PyAV loads only for the files it decodes
            import av

            errors = (*errors, av.FFmpegError)
        mpeg = self.info.backend == "soundfile" and self.info.format == "MP3"
        try:
            # libmpg123 prints a damaged MP3's problems on stderr: one message instead
            with native_stderr.capture() if mpeg else contextlib.nullcontext() as notes:
                self.decoder_notes = notes  # its lines are filled in when the capture ends
                for raw in prefetch(_raw_blocks(self.info, offset, duration, self.skipped)):
                    self.decoded_frames += raw.shape[0]
                    block = self._prepare(raw)
                    if self.resampler is not None:
                        block = self.resampler.process(block)
                    if block.shape[0]:
                        yield block
        except errors as exc:
            self.error = " ".join((str(exc) or type(exc).__name__).split())
        finally:
            if self.decoder_notes is not None:
                self.decoder_notes.log(self.info.path)
        if self.resampler is not None:
            tail = self.resampler.flush()
            if tail.shape[0]:
                yield tail

    @property
    def damaged_share(self) -> float:
        """The share of decoded samples that were not audio (NaN, inf, beyond ``SAMPLE_LIMIT``)."""
        return (self.nonfinite + self.clipped) / max(1, self.decoded_frames * self.info.channels)

    def problems(self) -> list[str]:
        """Human-readable descriptions of what had to be repaired."""
        out = []
        total = max(1, self.decoded_frames * self.info.channels)
        if self.nonfinite:
            out.append(f"{self.nonfinite} non-finite (NaN/inf) samples "
                       f"({_share_text(self.nonfinite / total)} of the audio) were replaced by silence")
        if self.skipped[0]:
            out.append(f"damaged: {self.skipped[0]} undecodable packets were skipped")
        if self.clipped:
            out.append(f"{self.clipped} samples far beyond full scale (|x| > {SAMPLE_LIMIT:g}, "
                       f"{_share_text(self.clipped / total)} of the audio) were clipped to silence")
        note = self.decoder_notes.summary() if self.decoder_notes is not None else None
        if note is not None:
            out.append(note)
        if self.error is not None:
            at = self.decoded_frames / self.info.sample_rate
            out.append(f"truncated or corrupt after {at:.2f} s ({self.error})")
        return out


def _share_text(share: float) -> str:
    """A share as a percentage a musician reads: "22%", "0.4%", "<0.01%"."""
    percent = 100.0 * share
    if percent >= 10:
        return f"{percent:.0f}%"
    if percent >= 0.01:
        return f"{percent:.2g}%"
    return "<0.01%"


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


def _initial_capacity(p: Path, info: AudioInfo, span_s: float, rate: int) -> int:
    """Output frames to preallocate: the exact length when the header was verified against the
    file (PCM, checked FLAC), else a guess bounded by the file's size (the buffer grows)."""
    frames = span_s * rate
    trusted = info.format == "FLAC" or (info.backend == "soundfile" and info.codec in _PCM_CODECS)
    if not trusted:
        by_size = p.stat().st_size * _FRAMES_PER_BYTE_GUESS * rate / info.sample_rate
        frames = min(frames, by_size)
    frames = min(frames, headers.MAX_DURATION_S * rate)
    return int(np.ceil(max(frames, 0.0))) + 1024


def _check_memory(p: Path, need: int, seconds: float) -> None:
    """Refuse, before allocating, a buffer larger than the memory available now (a 6.5 MB FLAC
    can declare 10 hours of audio: 3 GB decoded); long files that fit are decoded as ever."""
    have = memory.available_bytes()
    if have is not None and need > memory.SHARE * have:
        raise AudioDecodeError(p, memory.too_long_message(seconds, need, have))


def _out_of_memory(p: Path, need: int, seconds: float) -> AudioDecodeError:
    """The error for a ``MemoryError`` while allocating the decode buffer."""
    return AudioDecodeError(p, memory.too_long_message(seconds, need, memory.available_bytes()))


def _decode_into_array(
    p: Path, info: AudioInfo, sr: int | None, mono: bool, offset: float, duration: float | None
) -> tuple[np.ndarray, int, _BlockDecoder]:
    """Decode into one ``(channels, capacity)`` array; return it, the frames filled and the decoder."""
    decoder = _BlockDecoder(info, sr, mono)
    rate = decoder.target_rate
    channels = 1 if mono else info.channels
    avail = max(info.duration_s - offset, 0.0)
    span = avail if duration is None else min(duration, avail) if avail > 0 else duration
    limit = int(headers.MAX_DURATION_S * rate)
    capacity = _initial_capacity(p, info, span, rate)
    _check_memory(p, channels * capacity * 4, capacity / rate)
    try:
        out = np.empty((channels, capacity), dtype=np.float32)
    except MemoryError as exc:
        raise _out_of_memory(p, channels * capacity * 4, capacity / rate) from exc
    filled = 0
    blocks = decoder.blocks(offset, duration)
    try:
        for block in blocks:
            n = block.shape[0]
            if filled + n > limit:
                raise AudioDecodeError(
                    p,
                    f"longer than {headers.MAX_DURATION_S / 3600:g} hours; decode it in parts "
                    "(offset/duration) or split the file",
                )
            if filled + n > out.shape[1]:
                size = min(max(out.shape[1] * 3 // 2, filled + n), limit + n)
                _check_memory(p, channels * size * 4, size / rate)
                try:
                    grown = np.empty((channels, size), dtype=np.float32)
                except MemoryError as exc:
                    raise _out_of_memory(p, channels * size * 4, size / rate) from exc
                grown[:, :filled] = out[:, :filled]
                out = grown
            out[:, filled : filled + n] = block.T
            filled += n
    finally:
        blocks.close()
    if duration is not None:
        filled = min(filled, int(round(duration * rate)))
    return out, filled, decoder


def _fallback_pyav(
    p: Path, info: AudioInfo, sr: int | None, mono: bool, offset: float, duration: float | None
) -> tuple[np.ndarray, int, _BlockDecoder] | None:
    """Decode with FFmpeg when libsndfile gave up early; ``None`` if FFmpeg cannot either."""
    alt = _probe_pyav(p, info.data_offset)
    if alt is None or alt.channels != info.channels:
        return None
    try:
        _check_limits(p, alt)
    except AudioDecodeError:
        return None
    if alt.duration_s <= 0:  # no usable length: bound the buffer by the first decoder's view
        alt = replace(alt, duration_s=info.duration_s, frames=info.frames)
    return _decode_into_array(p, alt, sr or info.sample_rate, mono, offset, duration)


def load_audio(
    path: str | Path,
    sr: int | None = MEL.sample_rate,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
    strict: bool = False,
) -> Audio:
    """Decode an audio file (or the range ``[offset, offset + duration)`` of it).

    The header is checked before anything is allocated (see :func:`probe`). When libsndfile stops
    early on a damaged file, FFmpeg (PyAV) decodes it again and the longer result is kept; what
    was repaired, recovered or missing is listed in :attr:`Audio.warnings`.

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
        AudioDecodeError: the path is missing, a directory, not a regular file, unreadable,
            empty, not audio, implausible (sample rate, channels, longer than 12 hours),
            contains no samples, or (with ``strict``) needed repairs.
    """
    p = _check_path(path)
    _validate_range(p, offset, duration)
    info = probe(p)
    out, filled, decoder = _decode_into_array(p, info, sr, mono, offset, duration)
    rate = decoder.target_rate
    problems = list(info.warnings)

    # A damaged file: libsndfile stopped (error) or decoded clearly less than the header says.
    expected = max(info.duration_s - offset, 0.0)
    if duration is not None:
        expected = min(duration, expected)
    short = filled < 0.97 * expected * rate - 1024
    if info.backend == "soundfile" and (decoder.error is not None or short):
        got_s = filled / rate
        alt = _fallback_pyav(p, info, sr, mono, offset, duration)
        if alt is not None and alt[1] > filled + rate // 10:
            del out
            out, filled, decoder = alt
            # FFmpeg skips a damaged stretch silently: what it could not recover is lost audio,
            # flagged "truncated" like a cut file (the library's filter and the CLI show it)
            lost = filled < 0.97 * expected * rate - 1024
            problems.append(
                f"damaged{' (truncated)' if lost else ''}: libsndfile stopped after {got_s:.2f} s; "
                f"FFmpeg recovered {'only ' if lost else ''}{filled / rate:.2f} s of the "
                f"{expected:.2f} s the header declares"
                + (f" ({expected - filled / rate:.2f} s are missing)" if lost else "")
            )
            decoder.error = None if filled >= 0.97 * expected * rate else decoder.error
        elif short and decoder.error is None and not info.warnings:
            problems.append(
                f"truncated or damaged: decoded {got_s:.2f} s of the {expected:.2f} s the header declares"
            )
    problems.extend(decoder.problems())
    if info.format == "OGG" and info.warnings and filled:  # Ogg declares no length: say how much
        problems[0] = f"{problems[0]}; {filled / rate:.2f} s could be decoded"

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
    return Audio(samples=samples, sample_rate=rate, info=info, offset_s=offset, warnings=problems,
                 damaged_share=decoder.damaged_share)
