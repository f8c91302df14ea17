"""Run the real ``musicapp`` command in a child process, bounded in time and (optionally) memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    """What a command did: exit code, output and peak memory (MiB)."""

    rc: int
    stdout: str
    stderr: str
    peak_mib: float


def run_cli(
    args: list[str],
    tmp: Path,
    *,
    timeout: float = 120,
    mem_limit_mib: int | None = None,
    fsize_limit: int | None = None,
    umask: int | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """``python -m tests.attack.peak ARGS`` in ``tmp``; a hang raises ``subprocess.TimeoutExpired``."""
    peak_file = tmp / f".peak-{os.getpid()}-{len(list(tmp.iterdir()))}"
    child_env = {**os.environ, "MUSICAPP_PEAK_FILE": str(peak_file), "PYTHONPATH": str(ROOT),
                 "MUSICAPP_LOG": str(tmp / ".musicapp.log"), "OMP_NUM_THREADS": "1",
                 **(env or {})}  # fmt: skip

    def limits() -> None:
        if mem_limit_mib is not None:
            cap = mem_limit_mib << 20
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        if fsize_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))
        if umask is not None:
            os.umask(umask)

    r = subprocess.run(
        [sys.executable, "-m", "tests.attack.peak", *args],
        cwd=tmp, env=child_env, capture_output=True, text=True, timeout=timeout,
        preexec_fn=limits, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        peak = int(peak_file.read_text()) / 1024.0
        peak_file.unlink()
    except (OSError, ValueError):
        peak = float("nan")
    return Run(r.returncode, r.stdout, r.stderr, peak)


def assert_clear_error(run: Run, *needles: str, rc: int = 2) -> None:
    """Exit ``rc`` with a ``musicapp`` error message containing every needle, and no traceback."""
    assert "Traceback" not in run.stderr, run.stderr
    assert run.rc == rc, (run.rc, run.stderr[-2000:])
    assert "error:" in run.stderr, run.stderr
    for needle in needles:
        assert needle in run.stderr, (needle, run.stderr[-2000:])
