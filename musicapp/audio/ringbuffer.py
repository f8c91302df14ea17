"""A single-producer ring buffer of audio frames with independent readers.

The producer (the audio callback) copies each block into preallocated memory and then advances
an integer write counter; it never allocates an array, takes a lock or waits. Each reader keeps
its own read counter, so the disk writer and the live display consume the same stream
independently. Python assigns integers atomically under the GIL and the data is copied before
the counter moves, so a reader never sees a frame that is not yet written.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity ring of ``(frames, channels)`` float32 audio."""

    def __init__(self, capacity_frames: int, channels: int) -> None:
        if capacity_frames <= 0 or channels <= 0:
            raise ValueError("capacity and channels must be positive")
        self.capacity = int(capacity_frames)
        self.channels = int(channels)
        self._data = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self.written = 0  # total frames ever written; only the producer changes it
        self.reserved = 0  # end of the block being written; announced before its copy starts

    def write(self, block: np.ndarray) -> None:
        """Copy ``(frames, channels)`` into the ring (producer side; no allocation, no lock)."""
        n = block.shape[0]
        if n > self.capacity:  # keep the newest frames of an oversized block
            block = block[n - self.capacity :]
            self.written += n - self.capacity
            n = self.capacity
        self.reserved = self.written + n  # readers treat slots up to here as being overwritten
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        self._data[start : start + first] = block[:first]
        if first < n:
            self._data[: n - first] = block[first:]
        self.written += n

    def reader(self, from_now: bool = True) -> RingReader:
        """A new independent reader, starting at the current write position (or the oldest frame)."""
        start = self.written if from_now else max(0, self.written - self.capacity)
        return RingReader(self, start)


class RingReader:
    """One consumer's view of a :class:`RingBuffer`."""

    def __init__(self, ring: RingBuffer, position: int) -> None:
        self._ring = ring
        self.position = position
        self.dropped = 0  # frames overwritten before this reader got to them

    def available(self) -> int:
        """Frames ready to read."""
        return self._ring.written - self.position

    def read(self, max_frames: int | None = None) -> np.ndarray:
        """Copy out the frames written since the last read, ``(n, channels)``."""
        ring = self._ring
        end = ring.written
        oldest_safe = ring.reserved - ring.capacity
        if self.position < oldest_safe:
            self.dropped += oldest_safe - self.position
            self.position = oldest_safe
        n = max(0, end - self.position)
        if max_frames is not None:
            n = min(n, max_frames)
        pos = self.position
        out = np.empty((n, ring.channels), dtype=np.float32)
        start = pos % ring.capacity
        first = min(n, ring.capacity - start)
        out[:first] = ring._data[start : start + first]
        if first < n:
            out[first:] = ring._data[: n - first]
        self.position = pos + n
        # The producer may have lapped us while we copied: frames whose slots it has reused (or
        # is reusing) are not trustworthy; drop them rather than hand out torn audio.
        torn = min(n, ring.reserved - ring.capacity - pos)
        if torn > 0:
            self.dropped += torn
            out = out[torn:]
        return out
