"""Capture what a C decoder prints on the process's standard error while it decodes.

libsndfile's bundled MP3 decoder (libmpg123) writes its complaints about a damaged stream
straight to file descriptor 2 (``[src/libmpg123/layer3.c:...] error: dequantization failed!``,
``Note: Illegal Audio-MPEG-Header ... Trying to resync...``): a musician saw a screenful of them
on a damaged MP3. While :func:`capture` is active, descriptor 2 is a pipe read by a thread: lines
that come from the decoder are kept (and logged), everything else is passed through to the real
standard error at once, so the program's own messages are never lost.

The redirection is process-wide (descriptors are); nested and concurrent captures share one
redirection, counted, and each sees the decoder lines printed while it was active.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

#: Lines libmpg123 prints (its source position prefix, or its Note:/Warning:/error: forms).
_DECODER_LINE = re.compile(
    rb"^(\[src/libmpg123/[^\]]*\]|Note: |Warning: |\[[^\]]*mpg123[^\]]*\]|error: )")


class _Redirect:
    """One redirection of descriptor 2 into a pipe, with a reader thread."""

    def __init__(self) -> None:
        self.saved = os.dup(2)
        read_fd, self.write_fd = os.pipe()
        os.dup2(self.write_fd, 2)
        self.lines: list[str] = []
        self.synced = 0  # the last sync mark the reader has passed
        self.sync_seen = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(read_fd,),
                                       name="native-stderr", daemon=True)
        self.thread.start()

    def _read(self, fd: int) -> None:
        pending = b""
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                passed = []
                for line in complete:
                    if line.startswith(_SYNC):
                        with self.sync_seen:
                            self.synced = int(line[len(_SYNC):])
                            self.sync_seen.notify_all()
                    elif _DECODER_LINE.match(line):
                        self.lines.append(line.decode("utf-8", "replace").strip())
                    else:
                        passed.append(line + b"\n")
                if pending and not _DECODER_LINE.match(pending) and not _could_start(pending):
                    passed.append(pending)  # a prompt or progress bar without a newline
                    pending = b""
                if passed:
                    self._write(b"".join(passed))
        if pending:
            if _DECODER_LINE.match(pending):
                self.lines.append(pending.decode("utf-8", "replace").strip())
            else:
                self._write(pending)

    def sync(self, timeout: float = 2.0) -> None:
        """Wait until the reader has taken in everything written to the pipe so far."""
        with self.sync_seen:
            mark = self.synced + 1
            try:
                os.write(self.write_fd, _SYNC + str(mark).encode() + b"\n")
            except OSError:
                return
            self.sync_seen.wait_for(lambda: self.synced >= mark, timeout=timeout)

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.saved, data)

    def close(self) -> None:
        os.dup2(self.saved, 2)
        os.close(self.write_fd)  # the reader sees the end of the pipe
        self.thread.join(timeout=5.0)
        os.close(self.saved)


def _could_start(partial: bytes) -> bool:
    """Whether an unfinished line may still become a decoder line (held until its newline)."""
    return any(prefix.startswith(partial[:len(prefix)])
               for prefix in (b"[src/libmpg123/", b"Note: ", b"Warning: ", b"error: "))


_SYNC = b"\x00musicapp-native-stderr-sync "
_lock = threading.Lock()
_active: _Redirect | None = None
_users = 0


class Captured:
    """The decoder lines printed while one :func:`capture` was active."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, path: str) -> None:
        """One log line with everything the decoder printed for ``path`` (nothing if silent)."""
        if self.lines:
            log.info("%s: the MP3 decoder (libmpg123) printed %d lines: %s", path,
                     len(self.lines), " | ".join(self.lines[:50]))

    def summary(self) -> str | None:
        """One message for the user naming how many complaints and the first kinds, or None."""
        complaints = [line for line in self.lines if not line.startswith("Warning: Xing")]
        if not complaints:
            return None
        kinds: list[str] = []
        for line in complaints:
            text = re.sub(r"^(\[[^\]]*\]|Note:|Warning:)\s*", "", line)
            text = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)\b", "N", text).rstrip("!.")
            if text not in kinds:
                kinds.append(text)
        shown = "; ".join(kinds[:3]) + ("; ..." if len(kinds) > 3 else "")
        return (f"damaged MP3 stream: the decoder reported {len(complaints)} problem"
                f"{'s' if len(complaints) != 1 else ''} ({shown})")


@contextlib.contextmanager
def capture() -> Iterator[Captured]:
    """Route descriptor 2 through a filter while the block runs; yields the captured lines.

    Does nothing (and captures nothing) when descriptor 2 cannot be redirected.
    """
    global _active, _users
    result = Captured()
    with _lock:
        if _active is None:
            try:
                _active = _Redirect()
            except OSError:
                _active = None
        if _active is not None:
            _users += 1
        redirect = _active
    start = len(redirect.lines) if redirect is not None else 0
    try:
        yield result
    finally:
        if redirect is not None:
            with _lock:
                _users -= 1
                if _users == 0:
                    redirect.close()  # the reader has read everything when it ends
                    _active = None
                else:  # others still capture: wait for what was printed so far
                    redirect.sync()
                result.lines = redirect.lines[start:]
