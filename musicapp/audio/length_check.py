"""Whether a compressed file's data reaches the length its header claims, checked cheaply.

An MP3's duration comes from its header (a Xing/Info frame count, or the bitrate): an MP3 cut
short with ``head -c`` still declares its full length, and ``musicapp info`` (which decodes
nothing) printed it without a word while ``analyze`` found only half of it. A few seeks with a
one-frame read find where the data really ends (about a dozen for an hour of audio): a seek past
the data reads nothing. FLAC, WAV and Ogg are checked by :func:`musicapp.audio.decode.probe`.
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


def readable_end_frames(info: AudioInfo) -> int | None:
    """Roughly how many sample frames of an MP3 can be decoded, when fewer than its header
    claims; None when the data reaches the claimed end (or the file is not an MP3 read by
    libsndfile, or the check cannot tell). The figure is as precise as MP3 seeking (Xing TOC
    seeks are approximate by design: "about")."""
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

            last = max(0, info.frames // MPEG_FRAME - TAIL_FRAMES)
            if reads(last):
                return None
            lo, hi = 0, last  # frame lo reads, frame hi does not
            if not reads(lo):
                return 0
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if reads(mid) else (lo, mid)
            return (lo + 1) * MPEG_FRAME
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        log.info("length check of %s failed: %s", info.path, exc)
        return None


def shortfall_warning(info: AudioInfo) -> str | None:
    """"the file is shorter than its header says (about 30 s of 60 s)" for an MP3 whose data
    ends before the length its header claims (see :func:`readable_end_frames`), else None."""
    real = readable_end_frames(info)
    if real is None:
        return None
    return (f"the file is shorter than its header says (about {real / info.sample_rate:.0f} s "
            f"of {info.duration_s:.0f} s)")
