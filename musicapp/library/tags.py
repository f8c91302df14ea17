"""Title, artist and album from a file's tags (ID3, Vorbis comments, MP4 atoms, RIFF INFO).

Read with PyAV (FFmpeg's demuxers, already a dependency): the container's metadata, then the
audio stream's (Ogg keeps Vorbis comments on the stream). Only the header is probed, nothing is
decoded. The file is opened by this module (a regular file, never a FIFO) and handed to PyAV as a
file object, so names with undecodable bytes work. Any failure gives empty tags, never an error:
a file without readable tags is still a track.
"""

from __future__ import annotations

import logging
import os
import stat

from musicapp.library.textsafe import db_text
from musicapp.library.walk import READ_FLAGS

log = logging.getLogger(__name__)

TAG_KEYS = ("title", "artist", "album")
#: Longest tag value kept (a hostile file may hold megabytes in a comment).
MAX_TAG_CHARS = 512
_ALIASES = {"title": ("title",), "artist": ("artist", "album_artist", "performer"), "album": ("album",)}


def read_tags(path: str) -> dict[str, str | None]:
    """``{"title", "artist", "album"}`` of an audio file (None where absent or unreadable)."""
    empty: dict[str, str | None] = dict.fromkeys(TAG_KEYS)
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return empty
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return empty
        import av

        with os.fdopen(os.dup(fd), "rb") as fh:
            container = av.open(
                fh, metadata_errors="ignore", options={"probesize": "65536", "analyzeduration": "0"}
            )
            try:
                meta = {str(k).lower(): v for k, v in (container.metadata or {}).items()}
                for s in container.streams.audio[:1]:
                    for k, v in (s.metadata or {}).items():
                        meta.setdefault(str(k).lower(), v)
            finally:
                container.close()
    except Exception:  # tags are optional: a hostile header must not stop a scan
        log.debug("no tags read from %r", path, exc_info=True)
        return empty
    finally:
        os.close(fd)
    out = dict(empty)
    for key, names in _ALIASES.items():
        for name in names:
            value = meta.get(name)
            if isinstance(value, str) and value.strip():
                out[key] = db_text(value.strip()[:MAX_TAG_CHARS])
                break
    return out
