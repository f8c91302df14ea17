"""Issue 14, C10: several first-use processes at once must not corrupt numba's cache.

Before, two processes compiling librosa's kernels together left an index pointing at the other
one's machine code and every later ``chroma_cqt`` segfaulted (exit 139). Now the first import of
librosa compiles under a file lock and the others wait; the chroma path no longer runs piptrack.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.attack._cli import ROOT

# The product's numba paths: Mel, chroma (CQT), beat tracking, the analysis CQT.
USER = """
import numpy as np
from musicapp import jitcache
from musicapp.features import chroma, log_mel
import librosa
sr = 22050
y = (0.3 * np.sin(2 * np.pi * 220 * np.arange(sr * 3) / sr)).astype(np.float32)
log_mel(y[:32000])
onset = librosa.onset.onset_strength(y=y, sr=sr)
librosa.beat.beat_track(onset_envelope=onset, sr=sr)
c = chroma(y, sr=sr, hop_length=512)
librosa.cqt(y, sr=sr, hop_length=256, n_bins=84)
assert np.isfinite(c).all() and c.shape[1] == 12
print("compiled" if jitcache.compiled_here() else "loaded", flush=True)
"""


@pytest.mark.slow
def test_concurrent_first_use_then_a_normal_process(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONPATH": str(ROOT),
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    env.pop("MUSICAPP_JIT_WARMUP", None)
    cmd = [sys.executable, "-c", USER]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen(cmd, env=env, **pipes) for _ in range(3)]
    results = [(*p.communicate(timeout=400), p.returncode) for p in procs]
    for _out, err, rc in results:
        assert rc == 0, (rc, err[-2000:])
    outcomes = sorted(out.strip() for out, _, _ in results)
    assert outcomes == ["compiled", "loaded", "loaded"], outcomes  # one compiled, under the lock
    assert list((tmp_path / "numba").glob("warm-*.ok"))
    normal = subprocess.run([sys.executable, "-c", USER], env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert normal.returncode == 0, (normal.returncode, normal.stderr[-2000:])
    assert normal.stdout.strip() == "loaded"
