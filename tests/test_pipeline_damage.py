"""A file with more than ``DAMAGE.max_share`` of unusable samples (NaN, inf, 1e30) gets status
"damaged" and no key, tempo, chords or moods, on the CLI/GUI path and the library's batch path;
below the share the repaired audio is analysed and the share is reported."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from musicapp.batch.stages import TrackSpec, process_track
from musicapp.params import DAMAGE
from musicapp.pipeline import DAMAGED, analyze_path
from tests.library.music import song

SR = 22050


def _float_wav(tmp_path, share: float, bad: float):
    y = song(21, 12.0, sr=SR).astype(np.float32)
    hit = np.random.default_rng(2).random(y.size) < share
    y[hit] = bad
    p = tmp_path / f"damaged_{share}.wav"
    sf.write(str(p), y, SR, subtype="FLOAT")
    return p


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e30])
def test_a_file_with_22_percent_bad_samples_is_damaged_with_no_key(tmp_path, bad):
    p = _float_wav(tmp_path, 0.22, bad)
    result = analyze_path(p, tags=False, cores=1)
    assert result.status == DAMAGED and result.music is None and result.tags is None
    assert result.key is None
    assert any("22% of the audio" in w for w in result.warnings), result.warnings
    assert any("damaged: 22" in w and f"{100 * DAMAGE.max_share:g}%" in w
               for w in result.warnings), result.warnings


def test_the_library_batch_path_says_damaged_too(tmp_path):
    p = _float_wav(tmp_path, 0.22, np.nan)
    out = process_track(str(p), TrackSpec(tags=False, fingerprint=True))
    assert out["ok"], out
    track = out["track"]
    assert track.status == DAMAGED and track.key is None
    assert any("replaced by silence" in w for w in track.warnings)
    assert any(w.startswith("damaged: ") for w in track.warnings)


def test_a_few_bad_samples_are_repaired_and_the_music_is_analysed(tmp_path):
    p = _float_wav(tmp_path, 0.004, np.nan)  # 0.4 %: below DAMAGE.max_share
    result = analyze_path(p, tags=False, cores=1)
    assert result.status == "ok" and result.key is not None
    assert any("0.4% of the audio" in w for w in result.warnings), result.warnings
