"""Checks of what an audio file's header claims against what the file really holds.

Headers lie: a damaged or hostile WAV can claim a 1 Hz sample rate, a streamed FLAC says its length
is 0 (unknown) and a truncated file keeps the length of the whole. These helpers read only a few
bytes (WAV) or do a few seeks (FLAC) so that :func:`musicapp.audio.probe` can report the truth
before anything is allocated.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

#: Sample rates outside this range are refused as corrupt headers (real audio: 8 kHz .. 768 kHz).
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 768_000
#: More channels than this are refused (3rd-order ambisonics has 16, large rigs 64).
MAX_CHANNELS = 64
#: The longest audio :func:`musicapp.audio.load_audio` decodes into memory at once.
MAX_DURATION_S = 12 * 3600.0
#: libsndfile's "length unknown" (SF_COUNT_MAX), reported e.g. for streamed FLAC.
SF_COUNT_MAX = (1 << 63) - 1

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def non_regular_reason(path: str | Path) -> str | None:
    """Why ``path`` (symlinks followed) is not a regular file, or ``None`` when it is one.

    Reading a FIFO blocks forever and ``/dev/zero`` never ends, so only regular files are read.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing/unreadable is reported by the caller with its own message
    if stat.S_ISREG(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return f"is {kind}, not a regular file; only regular files are read"
    return "is not a regular file; only regular files are read"


@dataclass(frozen=True)
class WavHeader:
    """The fields of a RIFF/WAVE header that matter for size checks."""

    format_tag: int
    channels: int
    sample_rate: int
    block_align: int
    bits: int
    data_offset: int
    data_bytes: int  # as declared by the header


def read_wav_header(path: str | Path, limit: int = 1 << 20) -> WavHeader | None:
    """Parse the ``fmt `` and ``data`` chunks of a RIFF/WAVE file; ``None`` if it is not one."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(limit)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        cid, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt " and body + 16 <= len(head):
            fmt = struct.unpack_from("<HHIIHH", head, body)
        elif cid == b"data":
            if fmt is None:
                return None
            tag, channels, rate, _, align, bits = fmt
            return WavHeader(tag, channels, rate, align, bits, body, size)
        pos = body + size + (size & 1)
    return None


def wav_declared_frames_if_truncated(path: str | Path, file_size: int) -> int | None:
    """The frames a WAV's data chunk declares when the file holds fewer bytes, else ``None``.

    The sizes 0 and 0xFFFFFFFF (streamed or RF64 placeholders) are not a declaration.
    """
    hdr = read_wav_header(path)
    if hdr is None or hdr.data_bytes in (0, 0xFFFFFFFF) or hdr.block_align <= 0:
        return None
    present = max(0, file_size - hdr.data_offset)
    if hdr.data_bytes > present + hdr.block_align:
        return hdr.data_bytes // hdr.block_align
    return None


def _seekable_to(path: str, frame: int) -> bool:
    """Whether libsndfile can seek to ``frame`` and read it (a cheap "is the data there")."""
    try:
        with sf.SoundFile(path) as f:
            f.seek(frame)
            return f.read(1, dtype="float32").shape[0] == 1
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError):
        return False


def flac_real_frames(path: str | Path, declared: int) -> int:
    """The number of frames a FLAC file really holds, found by seeking (a few ms).

    ``declared`` is STREAMINFO's total (``SF_COUNT_MAX`` or 0 when unknown). When the last
    declared frame can be read the declaration is kept; otherwise a bisection over seek positions
    finds the last readable frame (to within one frame).
    """
    p = str(path)
    known = 0 < declared < SF_COUNT_MAX
    if known and _seekable_to(p, declared - 1):
        return declared
    lo = 0  # frame lo is known readable (or lo == 0)
    if not _seekable_to(p, 0):
        return 0
    if known:
        hi = declared - 1
    else:
        hi = 1 << 16
        while _seekable_to(p, hi):
            lo = hi
            if hi >= 1 << 40:
                return hi
            hi *= 2
    while hi - lo > 1:  # lo readable, hi not
        mid = (lo + hi) // 2
        if _seekable_to(p, mid):
            lo = mid
        else:
            hi = mid
    return lo + 1


#: Bytes read from the end of an Ogg file to find its last page (a page is at most 65,307 bytes).
_OGG_TAIL = 1 << 17


@dataclass(frozen=True)
class OggEnd:
    """How an Ogg file ends: ``complete`` when its last page is whole and marks the end of the
    stream (EOS flag); else ``cut_at`` is the file's size, where the stream breaks off."""

    complete: bool
    cut_at: int


def ogg_end(path: str | Path) -> OggEnd | None:
    """Check that an Ogg file (Vorbis, Opus, FLAC in Ogg) ends with a whole end-of-stream page.

    Ogg declares no length: a file cut short keeps a valid start and simply stops, often inside
    a page. Returns ``None`` when the file is not Ogg. Reads at most the last 128 KiB.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            if f.read(4) != b"OggS":
                return None
            start = max(0, size - _OGG_TAIL)
            f.seek(start)
            tail = f.read()
    except OSError:
        return None
    last_end, last_flags = -1, 0
    pos = 0
    while True:  # every page header in the tail whose page fits in the file
        q = tail.find(b"OggS", pos)
        if q < 0 or q + 27 > len(tail):
            break
        version, flags = tail[q + 4], tail[q + 5]
        n_segments = tail[q + 26]
        if version == 0 and q + 27 + n_segments <= len(tail):
            end = q + 27 + n_segments + sum(tail[q + 27:q + 27 + n_segments])
            if end <= len(tail):
                last_end, last_flags = end, flags
        pos = q + 1
    complete = last_end == len(tail) and bool(last_flags & 0x04)
    return OggEnd(complete=complete, cut_at=size)
