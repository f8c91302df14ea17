"""``musicapp FILE`` and ``musicapp-gui FILE`` open FILE in the window (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

DRIVER = r"""
import sys
from PySide6.QtWidgets import QApplication
import musicapp.gui.main_window as mw

shown = mw.MainWindow.set_track
def set_track(self, track):  # report the file the window shows, then quit
    shown(self, track)
    print("LOADED", track.path, flush=True)
    QApplication.instance().quit()
mw.MainWindow.set_track = set_track
how, path = sys.argv[1], sys.argv[2]
if how == "gui-script":  # the musicapp-gui entry point reads sys.argv itself
    sys.argv = ["musicapp-gui", path]
    from musicapp.gui.app import main
    sys.exit(main())
from musicapp.cli import main
sys.exit(main([path]))
"""


@pytest.mark.parametrize("how", ["gui-script", "cli"])
def test_command_line_file_is_opened(how, track_file, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MUSICAPP_DATA_DIR": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-c", DRIVER, how, str(track_file)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert f"LOADED {track_file}" in out.stdout, out.stderr[-2000:]
