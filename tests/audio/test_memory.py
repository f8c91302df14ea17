"""A file whose decoded audio needs more memory than the process may take is refused with a
clear message (exit 2 in the CLI), never a numpy MemoryError traceback: checked with a real
address-space limit (RLIMIT_AS) set in a child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio import load_audio, memory

CHILD = r"""
import resource, sys
from musicapp.audio import decode, memory
from musicapp.cli import main
memory.SHARE = float(sys.argv[2])  # 1e9: skip the early check, so numpy itself fails
with open("/proc/self/status") as f:
    vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + 300 * 1024 * 1024, resource.RLIM_INFINITY))
sys.exit(main(["analyze", "--no-tags", "--no-music", sys.argv[1]]))
"""


def _silent_flac(path: Path, seconds: int, sr: int = 8000) -> Path:
    """A silent mono FLAC (a few kB per minute), written block by block."""
    block = np.zeros(sr * 60, dtype=np.int16)
    with sf.SoundFile(str(path), "w", sr, 1, format="FLAC", subtype="PCM_16") as f:
        for _ in range(seconds // 60):
            f.write(block)
    return path


@pytest.mark.parametrize("share", [memory.SHARE, 1e9], ids=["early-check", "numpy-memoryerror"])
def test_audio_needing_more_memory_than_the_limit_gives_exit_2_and_the_message(tmp_path, share):
    p = _silent_flac(tmp_path / "two_hours.flac", 2 * 3600)  # 635 MB decoded at 22050 Hz
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc (Linux)")
    run = subprocess.run([sys.executable, "-c", CHILD, str(p), str(share)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr
    assert f"musicapp: error: {p}: 2.0 h of audio needs at least 0.6 GB of memory" in run.stderr
    assert "more than this machine can give" in run.stderr


def test_a_long_file_that_fits_still_decodes(tmp_path):
    p = _silent_flac(tmp_path / "ten_minutes.flac", 600)
    audio = load_audio(p)
    assert abs(audio.duration_s - 600) < 0.01 and not audio.warnings


def test_the_message_names_the_length_the_need_and_what_is_available():
    have = memory.available_bytes()
    assert have is not None and have > 0
    text = memory.too_long_message(36000, 3_200_000_000, 2_400_000_000)
    assert text.startswith("10.0 h of audio needs at least 3.2 GB") and "2.4 GB are available" in text
