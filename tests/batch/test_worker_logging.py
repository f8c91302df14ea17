"""Batch workers log like the parent: a failure's traceback goes to the log file, not the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.library.music import write_song


def test_worker_failure_traceback_goes_to_the_log_not_the_terminal(tmp_path):
    resources = tmp_path / "resources"
    shutil.copytree("resources", resources, ignore=shutil.ignore_patterns("screenshots"))
    weights = resources / "models" / "hashnet.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])  # truncated: the student cannot load
    songs = [write_song(tmp_path / f"s{i}.wav", 30 + i, 6.0) for i in range(2)]
    log = tmp_path / "musicapp.log"
    env = dict(os.environ, MUSICAPP_RESOURCES=str(resources), MUSICAPP_LOG=str(log),
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "musicapp", "analyze",
                           *map(str, songs)], capture_output=True, text=True, env=env, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout
    assert log.exists() and "hashnet" in log.read_text(errors="replace")
