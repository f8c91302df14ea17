"""Ctrl+C in the terminal closes the desktop app as its close button does (a real process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")

#: a hang guard, not a speed assertion: the window must be gone long before this
HANG_GUARD_S = 120.0


def _start(tmp_path: Path, *argv: str, preexec=None) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MUSICAPP_DATA_DIR": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "MUSICAPP_GUI_REPORT_START": "1"}
    return subprocess.Popen([sys.executable, "-m", "musicapp", *argv], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=preexec or _as_from_a_terminal)


def _as_from_a_terminal() -> None:
    """The child starts as from an interactive terminal: SIGINT and SIGHUP at their defaults.
    A test run started with ``nohup ... &`` passes them on ignored, and the app rightly keeps
    signals that were ignored at its start ignored (tested below: a SIGHUP ignored by nohup)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _wait_visible(proc: subprocess.Popen) -> None:
    """Read stdout up to the app's 'window visible' line (the GUI is up, its loop running)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "window visible" in line:
            return
        if not line and proc.poll() is not None:
            pytest.fail(f"the GUI ended before showing its window: {proc.stderr.read()[-2000:]}")
    proc.kill()
    pytest.fail("the GUI did not show its window")


@pytest.mark.parametrize(("argv", "signame"), [
    (["gui"], "SIGINT"), ([], "SIGINT"),  # `musicapp gui` and `musicapp` (the default)
    (["gui"], "SIGTERM"), (["gui"], "SIGHUP"),
])
def test_ctrl_c_closes_the_app_and_keeps_its_settings(tmp_path, argv, signame):
    """SIGINT was ignored: the app kept running until killed; SIGTERM/SIGHUP (logout, a closed
    terminal) killed it without its close. Now each closes the window (whose closeEvent saves
    the window state) and the app exits with 128 + the signal, like a shell's Ctrl+C (130)."""
    sig = getattr(signal, signame)
    proc = _start(tmp_path, *argv)
    try:
        _wait_visible(proc)
        settings = tmp_path / "config" / "musicapp" / "musicapp.ini"
        before = settings.read_text() if settings.exists() else ""
        assert "geometry" not in before  # written by the window's close, not at start
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, err[-2000:]
    assert "Traceback" not in err
    assert "geometry" in settings.read_text()  # the close event ran: the window state is kept


def test_a_sighup_ignored_at_start_stays_ignored(tmp_path):
    """Started under nohup (SIGHUP ignored), the app must not close on a SIGHUP - the user asked
    it to survive a closed terminal - but still closes on SIGTERM with its close event."""
    def nohup() -> None:
        _as_from_a_terminal()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc = _start(tmp_path, "gui", preexec=nohup)
    try:
        _wait_visible(proc)
        proc.send_signal(signal.SIGHUP)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=3.0)  # still running (not a speed figure: it must not end at all)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    settings = tmp_path / "config" / "musicapp" / "musicapp.ini"
    assert "geometry" in settings.read_text()
