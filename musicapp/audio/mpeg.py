"""Skip a damaged ID3v2 tag in front of MPEG audio.

An ID3v2 tag starts with ``ID3`` and a 4-byte "synchsafe" size. When that size claims more than
the file holds (a tag written with a wrong size, 256 MB in front of a 4 MB song), libsndfile
and FFmpeg both look for the audio after the claimed end and find nothing. Players skip such a
tag by searching for the first MPEG audio frame; :func:`audio_start_after_broken_tag` does the
same, accepting a frame header only when the next frames follow at the offsets its header
implies, and :class:`OffsetFile` lets the decoders read the file from there without a copy.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

#: Bytes searched for the first frame after a broken tag (a tag with large pictures is a few MB).
SCAN_LIMIT = 64 * 1024 * 1024
#: Frame headers that must follow one another (at the offsets each header implies) to accept
#: the first as the start of the audio; fewer when the file ends first.
CHAIN = 3

_ID3_HEADER = 10
# kbit/s by [MPEG-1?][layer 1..3][index]; index 0 ("free") and 15 are refused.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Hz by version bits (0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1) and rate index.
_RATES = {0: (11025, 12000, 8000), 2: (22050, 24000, 16000), 3: (44100, 48000, 32000)}


def id3_declared_end(head: bytes) -> int | None:
    """Where an ID3v2 tag starting ``head`` says the audio begins, or None (no such tag)."""
    if len(head) < _ID3_HEADER or head[:3] != b"ID3" or head[3] == 0xFF or head[4] == 0xFF:
        return None
    size_bytes = head[6:10]
    if any(b & 0x80 for b in size_bytes):
        return None
    size = 0
    for b in size_bytes:
        size = (size << 7) | b
    footer = _ID3_HEADER if head[5] & 0x10 else 0
    return _ID3_HEADER + size + footer


def frame_header(data: bytes, at: int) -> tuple[int, tuple[int, int, int]] | None:
    """The length of the MPEG audio frame whose header starts at ``data[at]`` and its kind
    (version bits, layer, sample rate), or None when those 4 bytes are no valid frame header."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[at + 1], data[at + 2], data[at + 3]
    version = (b1 >> 3) & 3
    layer = 4 - ((b1 >> 1) & 3)
    rate_index = (b2 >> 2) & 3
    bitrate_index = b2 >> 4
    if version == 1 or layer == 4 or rate_index == 3 or bitrate_index in (0, 15) or b3 & 3 == 2:
        return None
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    padding = (b2 >> 1) & 1
    if layer == 1:
        length = (12 * bitrate // rate + padding) * 4
    elif layer == 3 and not mpeg1:
        length = 72 * bitrate // rate + padding
    else:
        length = 144 * bitrate // rate + padding
    return length, (version, layer, rate)


def first_frame(data: bytes, start: int = 0) -> int | None:
    """Offset in ``data`` of the first frame header followed by a chain of :data:`CHAIN` frames
    of the same kind (or by the end of ``data``), or None."""
    at = data.find(b"\xff", start)
    while at >= 0:
        found = frame_header(data, at)
        if found is not None:
            kind, pos, links = found[1], at + found[0], 1
            while links < CHAIN and pos < len(data):
                nxt = frame_header(data, pos)
                if nxt is None or nxt[1] != kind:
                    break
                pos, links = pos + nxt[0], links + 1
            if links >= CHAIN or pos == len(data):
                return at
        at = data.find(b"\xff", at + 1)
    return None


def audio_start_after_broken_tag(path: str | Path) -> tuple[int, int] | None:
    """``(claimed_end, audio_start)`` for a file whose ID3v2 tag claims to end beyond the file
    while valid MPEG audio frames follow its header; None for any other file."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(_ID3_HEADER)
            claimed = id3_declared_end(head)
            if claimed is None or claimed <= size:
                return None
            data = head + f.read(SCAN_LIMIT)
    except OSError:
        return None
    start = first_frame(data, _ID3_HEADER)
    return None if start is None else (claimed, start)


class OffsetFile(io.RawIOBase):
    """A read-only, seekable view of a file from byte ``offset`` on (what the decoders read)."""

    def __init__(self, path: str | Path, offset: int) -> None:
        super().__init__()
        self._f = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._offset = offset
        self._f.seek(offset)
        self.name = str(path)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._f.readinto(buffer)

    def read(self, size: int = -1) -> bytes:
        return self._f.read(size)

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self.tell()
        elif whence == io.SEEK_END:
            pos += os.fstat(self._f.fileno()).st_size - self._offset
        self._f.seek(self._offset + max(pos, 0))
        return self.tell()

    def tell(self) -> int:
        return self._f.tell() - self._offset

    def close(self) -> None:
        self._f.close()
        super().close()
