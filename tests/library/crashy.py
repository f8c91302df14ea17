"""Test-only analysers that kill their worker process (picklable: module-level functions)."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def segfault_on_bad(path: str) -> dict:
    """Dies with SIGSEGV on every file named ``bad*``; other files get a small analysis."""
    if Path(path).name.startswith("bad"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return {"tempo_bpm": 120.0}


def killed_once(path: str) -> dict:
    """The first attempt on a file named ``victim*`` is SIGKILLed (as by an outside ``kill``);
    the retry succeeds."""
    marker = Path(path).with_suffix(".attempted")
    if Path(path).name.startswith("victim") and not marker.exists():
        marker.write_text("1")
        os.kill(os.getpid(), signal.SIGKILL)
    return {"tempo_bpm": 100.0}
