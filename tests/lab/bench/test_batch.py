"""The batch benchmark's figures."""

from __future__ import annotations

import pytest
from musicapp_lab.bench.batch import steady_rate


def test_the_steady_rate_leaves_out_the_start_and_the_tail():
    # 100 tracks: none for the first 5 s (workers start, the model loads), then one every 0.1 s
    # (600 tracks/min), and the last ten spread over 5 s on the few workers still busy
    times = [5.0 + 0.1 * i for i in range(90)] + [14.0 + 0.5 * i for i in range(10)]
    assert steady_rate(times) == pytest.approx(600.0)
    whole = 60.0 * len(times) / times[-1]
    assert whole < 400  # what the whole run's rate says
    assert steady_rate(times[:19]) is None  # too few tracks to tell
