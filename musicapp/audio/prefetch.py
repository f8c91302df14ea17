"""Run a blocking iterator in a background thread so its I/O overlaps the caller's work.

Decoding (libsndfile, FFmpeg) releases the GIL, so on two cores the next block is decoded while
the caller resamples and analyses the previous one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetch(source: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Yield the items of ``source``, produced up to ``depth`` items ahead in a thread.

    Exceptions raised by ``source`` are re-raised in the caller at the point they occurred.
    Abandoning the generator stops the producer at its next item.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_END)
        except BaseException as exc:
            q.put(exc)

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        close = getattr(source, "close", None)
        if close is not None and not thread.is_alive():
            close()
