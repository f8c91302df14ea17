"""Timing helpers shared by the lab's benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeats: int, warm_up: bool = False) -> float:
    """The fastest of ``repeats`` wall-clock runs of ``fn`` in seconds (after one untimed run when
    ``warm_up``: model loading, numba compilation)."""
    if warm_up:
        fn()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
