"""The analysis panel on a clip too short for the tagger (issue 16): key and tempo as found, an
explicit "too short for moods" instead of moods or valence/arousal."""

from __future__ import annotations

from musicapp.gui.analysis_view import AnalysisPanel, status_text
from musicapp.track_analysis import TrackAnalysis

CLIP = {"duration_s": 2.1, "status": "ok", "level_dbfs": -12.0,
        "key": {"tonic": "C", "mode": "major", "confidence": 0.7}, "tempo_bpm": None,
        "tempo_reason": "too short for a tempo", "model": "hashnet", "model_version": 2,
        "moods_status": "too short for moods"}


def test_status_text_names_the_short_clip():
    text = status_text(TrackAnalysis.from_dict(CLIP))
    assert text.startswith("Too short for moods: 2.1 s") and "3-s" in text
    assert status_text(TrackAnalysis.from_dict({**CLIP, "moods_status": None})) == ""


def test_panel_shows_the_key_and_no_moods(qtbot):
    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_result(TrackAnalysis.from_dict(CLIP))
    assert "Too short for moods" in panel.status_label.text()
    assert panel.key_label.text().startswith("C major")
    assert panel.mood_bars.empty_text == "Too short for moods: no moods"
    assert panel.va_values.text() == "–"
