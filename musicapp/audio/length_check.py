"""Whether a compressed file's data reaches the length its header claims, checked cheaply.

An MP3's duration comes from its header (a Xing/Info frame count, or the bitrate), an M4A's from
its index (``moov``): a file cut short with ``head -c`` still declares its full length, and
``musicapp info`` (which decodes nothing) printed it without a word while ``analyze`` found only
half of it. A few seeks with a one-frame read find where the data really ends (about a dozen
for an hour of audio): a seek past the data reads nothing. FLAC, WAV and Ogg are checked by
:func:`musicapp.audio.decode.probe`.
"""

from __future__ import annotations

import contextlib
import logging

import soundfile as sf

from musicapp.audio import mpeg, native_stderr
from musicapp.audio.info import AudioInfo

log = logging.getLogger(__name__)

#: MPEG-1 Layer III frame length in samples; seeks and reads stay on frame boundaries
MPEG_FRAME = 1152
#: the probe reads this many frames before the claimed end (the last frames may be padding)
TAIL_FRAMES = 4
#: files read by FFmpeg: the probe's time step in seconds, and how far before the claimed end
#: the first probe reads
PYAV_STEP_S = 0.25
PYAV_TAIL_S = 1.0


def _last_reading(reads, last: int) -> int | None:
    """The last step in 0..``last`` at which ``reads(step)`` is true, when ``reads(last)`` is
    false (a binary search: the data is taken to end once); None when ``reads(last)`` is true;
    -1 when nothing reads."""
    if reads(last):
        return None
    lo, hi = 0, last  # step lo reads, step hi does not
    if not reads(lo):
        return -1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if reads(mid) else (lo, mid)
    return lo


def _pyav_reads(path: str, seconds: float) -> bool:
    """Whether FFmpeg decodes audio after a seek to ``seconds``."""
    import av

    with av.open(path) as container:
        stream = container.streams.audio[0]
        container.seek(int(seconds / stream.time_base), stream=stream, backward=True)
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet at the end of the data
                return False
            for _frame in packet.decode():
                return True
    return False


def _pyav_readable_end(info: AudioInfo) -> int | None:
    import av

    last = int(max(0.0, info.duration_s - PYAV_TAIL_S) / PYAV_STEP_S)
    try:
        lo = _last_reading(lambda step: _pyav_reads(info.path, step * PYAV_STEP_S), last)
    except (av.error.FFmpegError, EOFError, IndexError, OSError, ValueError) as exc:
        log.info("length check of %s failed: %s", info.path, exc)
        return None
    if lo is None:
        return None
    return max(0, round((lo + 1) * PYAV_STEP_S * info.sample_rate))


def readable_end_frames(info: AudioInfo) -> int | None:
    """Roughly how many sample frames of an MP3 (read by libsndfile) or of a file read by
    FFmpeg (M4A, ...) can be decoded, when fewer than its header claims; None when the data
    reaches the claimed end (or the check cannot tell). The figure is as precise as seeking in
    the format (MP3's Xing TOC seeks are approximate by design: "about")."""
    if info.backend == "pyav" and info.duration_s > 2 * PYAV_TAIL_S and not info.data_offset:
        return _pyav_readable_end(info)
    if info.format != "MP3" or info.backend != "soundfile" or info.frames <= 0:
        return None
    src = mpeg.OffsetFile(info.path, info.data_offset) if info.data_offset else info.path
    try:
        with native_stderr.capture(), contextlib.ExitStack() as stack:
            if info.data_offset:
                stack.enter_context(contextlib.closing(src))
            f = stack.enter_context(sf.SoundFile(src))
            if not f.seekable():
                return None

            def reads(frame: int) -> bool:
                f.seek(frame * MPEG_FRAME)
                return f.read(MPEG_FRAME, dtype="float32").shape[0] > 0

            lo = _last_reading(reads, max(0, info.frames // MPEG_FRAME - TAIL_FRAMES))
            return None if lo is None else (lo + 1) * MPEG_FRAME
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        log.info("length check of %s failed: %s", info.path, exc)
        return None


def shortfall_warning(info: AudioInfo) -> str | None:
    """"the file is shorter than its header says (about 30 s of 60 s)" for an MP3 or M4A whose
    data ends before the length its header claims (see :func:`readable_end_frames`), else
    None."""
    real = readable_end_frames(info)
    if real is None:
        return None
    return (f"the file is shorter than its header says (about {real / info.sample_rate:.0f} s "
            f"of {info.duration_s:.0f} s)")
