"""Skip a damaged ID3v2 tag in front of MPEG audio.

An ID3v2 tag starts with ``ID3`` and a 4-byte "synchsafe" size. When that size claims more than
the file holds (a tag written with a wrong size, 256 MB in front of a 4 MB song), libsndfile
and FFmpeg both look for the audio after the claimed end and find nothing. Players skip such a
tag by searching for the first MPEG audio frame; :func:`audio_start_after_broken_tag` does the
same, accepting a frame header only when the next frames follow at the offsets its header
implies, and :class:`OffsetFile` lets the decoders read the file from there without a copy.

A tag whose size ends *inside* the file can be wrong too: a v2.4 tag with the footer flag set but
no footer, or a size that ends 1000 bytes into the audio. libsndfile then starts decoding in the
middle of a frame and silently loses most of the song (1.2 s of 8 s). :func:`audio_start` checks
that a frame chain starts where the tag says the audio begins and otherwise finds where it does.

The search is vectorised (numpy over 1 MiB chunks) and bounded by :data:`SCAN_LIMIT`: a tag
followed by 66 MB of 0xFF bytes took 156 s to refuse with a byte-by-byte Python scan.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

#: Bytes searched for the first frame after a broken tag (a tag with large pictures is a few MB;
#: beyond this a file is "not a recognised audio file", so a hostile file cannot stall a scan).
SCAN_LIMIT = 8 * 1024 * 1024
#: Bytes examined at once by the vectorised search.
_CHUNK = 1 << 20
#: The longest valid frame (MPEG-2 Layer II, 160 kbit/s at 8 kHz: 2881 bytes); chunks overlap by
#: enough for a whole chain.
_MAX_FRAME = 2881
#: Frame headers that must follow one another (at the offsets each header implies) to accept
#: the first as the start of the audio; fewer when the file ends first.
CHAIN = 3

_ID3_HEADER = 10
#: ID3v2 tags in a row followed to the audio (writers that prepend a tag to a tagged file)
_MAX_TAGS = 8
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


def _header_table() -> tuple[np.ndarray, np.ndarray]:
    """Frame length without padding and kind code for every (b1, b2) byte pair; length 0 = invalid."""
    lengths = np.zeros((256, 256), dtype=np.int32)
    kinds = np.full((256, 256), -1, dtype=np.int32)
    for b1 in range(0xE0, 0x100):
        for b2 in range(256):
            found = frame_header(bytes([0xFF, b1, b2 & 0xFD, 0]), 0)
            if found is not None:
                version, layer, _ = found[1]
                lengths[b1, b2] = found[0]
                kinds[b1, b2] = (version << 4) | (layer << 2) | ((b2 >> 2) & 3)
    return lengths, kinds


_LENGTHS, _KINDS = _header_table()


def _chunk_first_frame(view: np.ndarray, stop: int, end: int) -> int | None:
    """The first position below ``stop`` in ``view`` that starts a chain of :data:`CHAIN` frames
    (or of fewer reaching exactly ``end``, the data's end relative to ``view``), or None."""
    n = view.size - 3
    if n <= 0:
        return None
    b0, b1, b2, b3 = view[:n], view[1:n + 1], view[2:n + 2], view[3:n + 3]
    length = np.where((b0 == 0xFF) & (b3 & 3 != 2), _LENGTHS[b1, b2], 0)
    pad = (b2 >> 1) & 1
    layer1 = (b1 >> 1) & 3 == 3
    length = np.where(length > 0, length + np.where(layer1, pad * 4, pad), 0)
    kind = np.where(length > 0, _KINDS[b1, b2], -1)
    cands = np.flatnonzero(length[:stop] > 0)
    if cands.size == 0:
        return None
    want = kind[cands]
    pos = cands + length[cands]
    alive = np.ones(cands.size, dtype=bool)
    done = np.zeros(cands.size, dtype=bool)
    for _ in range(CHAIN - 1):
        done |= alive & (pos == end)
        active = alive & ~done
        inside = active & (pos < n)
        at = np.where(inside, pos, 0)
        good = inside & (kind[at] == want)
        alive &= done | good
        pos = np.where(good, pos + length[at], pos)
    hits = np.flatnonzero(alive)
    return int(cands[hits[0]]) if hits.size else None


def first_frame(data: bytes, start: int = 0) -> int | None:
    """Offset in ``data`` of the first frame header followed by a chain of :data:`CHAIN` frames
    of the same kind (or by the end of ``data``), or None. Vectorised: a chunk of ``data`` costs
    a few numpy passes whatever its bytes (0xFF runs included)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    overlap = CHAIN * _MAX_FRAME + 4
    for base in range(max(start, 0), len(data), _CHUNK):
        view = arr[base:base + _CHUNK + overlap]
        found = _chunk_first_frame(view, min(_CHUNK, view.size), len(data) - base)
        if found is not None:
            return base + found
    return None


def audio_start_after_broken_tag(path: str | Path) -> tuple[int, int] | None:
    """``(claimed_end, audio_start)`` for a file whose ID3v2 tag (or the last of several tags
    in a row) claims to end beyond the file while valid MPEG audio frames follow its header;
    None for any other file."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            tag_at, claimed = 0, id3_declared_end(f.read(_ID3_HEADER))
            for _ in range(_MAX_TAGS):  # a right tag followed by a broken one
                if claimed is None or claimed > size:
                    break
                f.seek(claimed)
                follows = id3_declared_end(f.read(_ID3_HEADER))
                tag_at, claimed = claimed, None if follows is None else claimed + follows
            if claimed is None or claimed <= size:
                return None
            f.seek(0)
            data = f.read(SCAN_LIMIT)
    except OSError:
        return None
    start = first_frame(data, tag_at + _ID3_HEADER)
    return None if start is None else (claimed, start)


def _chain_at(data: bytes, at: int) -> bool:
    """Whether a chain of frames (see :func:`first_frame`) starts exactly at ``data[at]``."""
    if not 0 <= at < len(data) or frame_header(data, at) is None:
        return False
    window = np.frombuffer(data[at:at + CHAIN * _MAX_FRAME + 4], dtype=np.uint8)
    return _chunk_first_frame(window, 1, len(data) - at) == 0


def audio_start(path: str | Path) -> tuple[int, str] | None:
    """``(audio_start, warning)`` for an MP3 whose ID3v2 tag ends inside the file but where no
    MPEG frame starts: a footer flag without a footer (the audio starts 10 bytes earlier), or a
    wrong size (the audio is found by the frame-chain search from the end of the tag header,
    reading at most :data:`SCAN_LIMIT` bytes). None when the tag is right, there is no tag, the
    tag claims more than the file (see :func:`audio_start_after_broken_tag`) or no frames follow.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(_ID3_HEADER)
            claimed = id3_declared_end(head)
            if claimed is None or claimed > size:
                return None
            f.seek(claimed - _ID3_HEADER)
            near = f.read(2 * _ID3_HEADER + CHAIN * _MAX_FRAME + 4)  # the tag's end, ± footer
            if _chain_at(near, _ID3_HEADER) or near[_ID3_HEADER:_ID3_HEADER + 3] == b"ID3":
                return None  # a right tag, or a second tag (the decoders skip both)
            f.seek(_ID3_HEADER)
            data = head + f.read(SCAN_LIMIT - _ID3_HEADER)
    except OSError:
        return None
    has_footer = bool(head[5] & 0x10)
    if has_footer and near[:3] != b"3DI" and _chain_at(near, 0):
        start = claimed - _ID3_HEADER
        return start, (f"damaged ID3 tag: its header announces a footer that is missing; the audio "
                       f"was decoded from the first MPEG frame (byte {start})")
    start = first_frame(data, _ID3_HEADER)
    if start is None or start >= claimed:
        return None  # junk after a right tag: the decoders resync forward by themselves
    return start, (f"damaged ID3 tag: its header says the audio starts at byte {claimed} but no "
                   f"MPEG frame starts there; the audio was decoded from the first MPEG frame "
                   f"(byte {start})")


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
