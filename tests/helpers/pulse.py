"""Start (or reuse) a PulseAudio daemon with a null sink: a real audio device with no sound card.

Audio played to the default output (``vsink``) comes back on the default input
(``vsink.monitor``). Recipe: shared/ENVIRONMENT.md. Every process must share the same
``XDG_RUNTIME_DIR``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time


def runtime_dir() -> str:
    """The XDG runtime dir PulseAudio and its clients share (created if missing)."""
    path = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/xdg-runtime-{os.getuid()}"
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = path
    return path


def _pactl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)


def ensure_null_sink() -> str | None:
    """Make sure a PulseAudio daemon with the null sink runs; return None or why it cannot."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        return "PulseAudio is not installed (installer/setup.sh --test installs it)"
    rt = runtime_dir()
    if _pactl("info").returncode != 0:
        subprocess.run(
            [
                "pulseaudio",
                "-D",
                "-n",
                "--exit-idle-time=-1",
                "--disallow-exit",
                f"--log-target=file:{rt}/pulse.log",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=vsink rate=48000",
                "--load=module-always-sink",
            ],
            check=False,
            capture_output=True,
            timeout=20,
        )
        for _ in range(200):
            if _pactl("info").returncode == 0:
                break
            time.sleep(0.05)
        else:
            return f"PulseAudio did not start; see {rt}/pulse.log"
    sinks = _pactl("list", "short", "sinks").stdout
    if "vsink" not in sinks:
        _pactl("load-module", "module-null-sink", "sink_name=vsink", "rate=48000")
    _pactl("set-default-sink", "vsink")
    _pactl("set-default-source", "vsink.monitor")
    return None
