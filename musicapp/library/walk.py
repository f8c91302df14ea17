"""Finding the audio files of a folder: regular files only, every problem reported per item.

A FIFO, device, socket or a symbolic link to one (``/dev/zero``) is never opened: it is skipped
with a reason, so a scan cannot hang or read forever. An unreadable folder or file is reported
and the walk goes on. Files are opened with ``O_NONBLOCK`` and checked again with ``fstat``, so a
file swapped for a FIFO between the listing and the read cannot block either.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from musicapp.filetypes import AUDIO_EXTENSIONS

Skipped = list[tuple[str, str]]
#: ``os.open`` flags for reading a file that might be a FIFO: never block (POSIX), binary (Windows).
READ_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words ("a FIFO (named pipe)", "a socket",
    "a folder" ...), from its ``st_mode``."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def classify(path: str) -> tuple[os.stat_result | None, str | None]:
    """``(stat, None)`` for a regular file (symbolic links followed), else ``(None, reason)``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, "broken symbolic link" if os.path.islink(path) else "vanished during the scan"
    except OSError as exc:
        return None, f"cannot be examined: {_why(exc)}"
    if not stat.S_ISREG(st.st_mode):
        target = " (through a symbolic link)" if os.path.islink(path) else ""
        return None, f"skipped: {file_kind(st.st_mode)}{target}, not a regular file"
    return st, None


def is_audio_name(name: str) -> bool:
    """Whether a file name has an audio extension."""
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def walk_audio(root: str | Path, skipped: Skipped | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """``(absolute resolved path, stat)`` of every regular audio file under ``root`` (sorted,
    recursive, symbolic links to folders not followed). Items that cannot be used are appended
    to ``skipped`` as ``(path, reason)``."""
    skipped = [] if skipped is None else skipped
    root_s = os.path.abspath(os.fspath(root))
    try:
        root_st = os.stat(root_s)
    except OSError as exc:
        skipped.append((root_s, f"cannot be examined: {_why(exc)}"))
        return
    if not stat.S_ISDIR(root_st.st_mode):
        st, reason = classify(root_s)
        if st is None:
            skipped.append((root_s, reason or "skipped"))
        elif not is_audio_name(root_s):
            skipped.append((root_s, "skipped: not an audio file extension"))
        else:
            yield os.path.realpath(root_s), st
        return
    stack = [root_s]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            skipped.append((folder, f"folder not readable: {_why(exc)}"))
            continue
        subfolders = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(entry.path)
                continue
            if not is_audio_name(entry.name):
                continue
            st, reason = classify(entry.path)
            if st is None:
                skipped.append((entry.path, reason or "skipped"))
                continue
            yield os.path.realpath(entry.path), st
        stack.extend(reversed(subfolders))


def open_regular(path: str | Path) -> int:
    """A read-only descriptor of a regular file; never blocks on a FIFO (``O_NONBLOCK``).

    Raises ``OSError`` (``EINVAL`` for a non-regular file)."""
    fd = os.open(path, READ_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(22, f"{file_kind(mode)}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """BLAKE2b-128 hex digest of a regular file's bytes."""
    h = hashlib.blake2b(digest_size=16)
    with os.fdopen(open_regular(path), "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
