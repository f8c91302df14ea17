"""Files the GUI writes get the mode the user's umask gives (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat

import pytest

from musicapp.gui.analysis_view import export_csv, export_json
from tests.gui.test_composer import _generate, _generator


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_analysis_exports_honour_the_umask(umask, tmp_path):
    result = {"duration_s": 3.0, "tempo_bpm": 100.0,
              "chords": [{"start": 0.0, "end": 2.0, "label": "C:maj"}]}
    assert _mode(export_json(result, tmp_path / "a.json")) == 0o666 & ~umask
    assert _mode(export_csv(result, tmp_path / "a.csv")) == 0o666 & ~umask


def test_midi_export_and_drag_file_honour_the_umask(qtbot, window, umask, tmp_path,
                                                    monkeypatch):
    from musicapp.gui import composer_backend

    monkeypatch.setattr(composer_backend, "DRAG_DIR", tmp_path / "drag")
    panel = window.composer
    panel.session.generator = _generator()
    panel.source.setCurrentIndex(1)
    panel.length.setValue(4)
    _generate(qtbot, panel)
    out = panel.export_midi(str(tmp_path / "loop.mid"))
    assert _mode(out) == 0o666 & ~umask
    mime = panel.drag.mime_data()
    dragged = mime.urls()[0].toLocalFile()
    assert _mode(dragged) == 0o666 & ~umask
    assert _mode(tmp_path / "drag") == 0o777 & ~umask
