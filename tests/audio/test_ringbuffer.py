"""The lock-free ring buffer between the audio callback and its readers."""

from __future__ import annotations

import threading

import numpy as np

from musicapp.audio.ringbuffer import RingBuffer


def test_wraps_and_two_readers_see_everything():
    ring = RingBuffer(1000, 2)
    a, b = ring.reader(), ring.reader()
    got_a, got_b = [], []
    counter = 0
    for size in [300, 450, 999, 7, 600]:
        block = np.arange(counter, counter + size, dtype=np.float32)[:, None].repeat(2, 1)
        counter += size
        ring.write(block)
        got_a.append(a.read())
        if size % 2:
            got_b.append(b.read())
    got_b.append(b.read())
    seq = np.concatenate(got_a)[:, 0]
    np.testing.assert_array_equal(seq, np.arange(counter))
    assert a.dropped == 0


def test_slow_reader_counts_dropped_frames():
    ring = RingBuffer(100, 1)
    r = ring.reader()
    ring.write(np.ones((250, 1), np.float32))
    out = r.read()
    assert len(out) == 100
    assert r.dropped == 150


def test_concurrent_producer_consumer_keeps_order():
    ring = RingBuffer(48000, 1)
    reader = ring.reader()
    total = 512 * 470  # whole blocks of 512
    out = []

    def produce():
        for start in range(0, total, 512):
            ring.write(np.arange(start, start + 512, dtype=np.float32)[:, None])

    t = threading.Thread(target=produce)
    t.start()
    while t.is_alive() or reader.available():
        out.append(reader.read())
    t.join()
    out.append(reader.read())
    seq = np.concatenate(out)[:, 0]
    if reader.dropped == 0:
        np.testing.assert_array_equal(seq, np.arange(total, dtype=np.float32))
    assert np.all(np.diff(seq) > 0)
