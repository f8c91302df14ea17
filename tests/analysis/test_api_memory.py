"""The music analysis reads the caller's samples without copying them (a 3-hour track at
22.05 kHz is 0.9 GB) and never writes into them."""

from __future__ import annotations

import numpy as np

from musicapp.analysis import analyze_music
from musicapp.analysis import features as F
from tests.library.music import song


def test_the_analysis_never_writes_into_the_samples_it_is_given():
    y = song(51, 20.0, sr=F.SAMPLE_RATE).astype(np.float32)
    before = y.copy()
    y.flags.writeable = False  # any write into them (or into a view of them) raises
    result = analyze_music(y, F.SAMPLE_RATE)
    assert result.to_dict()["tempo_bpm"] is not None
    assert np.array_equal(y, before)
    assert np.shares_memory(F.to_analysis_rate(y, F.SAMPLE_RATE, copy=False), y)
    assert not np.shares_memory(F.to_analysis_rate(y, F.SAMPLE_RATE), y)  # the default copies
