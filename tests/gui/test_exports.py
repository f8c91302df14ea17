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


def test_midi_and_jams_exports_of_the_analysis(qtbot, window, track_file, tmp_path, umask,
                                               monkeypatch):
    import json

    import mido

    from musicapp.gui import main_window
    from tests.gui.conftest import load

    load(qtbot, window, track_file)
    window.set_analysis({"duration_s": 12.0, "tempo_bpm": 120.0, "meter": "4/4",
                         "beats": [0.5 * i for i in range(24)],
                         "downbeats": [2.0 * i for i in range(6)],
                         "key": {"tonic": "A", "mode": "minor"},
                         "chords": [{"start": 0.0, "end": 1.5, "label": "A:min"},
                                    {"start": 1.5, "end": 3.0, "label": "F:maj"}]})
    target = {"MIDI": tmp_path / "grid.mid", "JAMS": tmp_path / "grid.jams"}

    class Dialog:  # the real dialog would wait for a click
        @staticmethod
        def getSaveFileName(parent, caption, start, filters):
            return str(target["MIDI" if "MIDI" in caption else "JAMS"]), filters

    monkeypatch.setattr(main_window, "QFileDialog", Dialog)
    assert window.act_export_midi.isEnabled()
    window.act_export_midi.trigger()
    mid = mido.MidiFile(str(target["MIDI"]))
    markers = [m.text for t in mid.tracks for m in t if m.type == "marker"]
    assert any("Am" in m or "A:min" in m for m in markers), markers
    assert _mode(target["MIDI"]) == 0o666 & ~umask
    window.act_export_jams.trigger()
    if target["JAMS"].exists():  # the jams package is an optional part of the install
        data = json.loads(target["JAMS"].read_text())
        namespaces = {a["namespace"] for a in data["annotations"]}
        assert {"key_mode", "tempo"} <= namespaces and any(n.startswith("beat") for n in namespaces)
        assert _mode(target["JAMS"]) == 0o666 & ~umask
    else:
        assert "jams" in window.message.text()
