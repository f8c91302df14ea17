"""The background prefetcher keeps order and hands exceptions to the caller."""

from __future__ import annotations

import pytest

from musicapp.audio.prefetch import prefetch


def test_order_and_completion():
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))


def test_exception_reaches_the_caller_after_earlier_items():
    def gen():
        yield 1
        yield 2
        raise ValueError("broken block")

    got = []
    with pytest.raises(ValueError, match="broken block"):
        for x in prefetch(gen()):
            got.append(x)
    assert got == [1, 2]


def test_abandoned_consumer_stops_producer():
    produced = []

    def gen():
        for i in range(10_000):
            produced.append(i)
            yield i

    it = prefetch(gen(), depth=2)
    assert next(it) == 0
    it.close()
    import time

    time.sleep(0.3)
    assert len(produced) < 20
