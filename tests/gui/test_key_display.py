"""The analysis panel shows the key's ambiguity and the same confidence as the analysis."""

from __future__ import annotations

from musicapp.gui.analysis_view import key_text
from musicapp.track_analysis import TrackAnalysis

AMBIGUOUS = {
    "duration_s": 30.0, "status": "ok",
    "key": {"tonic": "C", "mode": "major", "confidence": 0.54},
    "key_candidates": [
        {"name": "C major", "probability": 0.54, "relation": "best"},
        {"name": "A minor", "probability": 0.22, "relation": "relative"},
        {"name": "F major", "probability": 0.19, "relation": "subdominant"}],
    "key_ambiguity": "ambiguous between C major and A minor"}


def test_key_text_adds_the_ambiguity_line():
    text = key_text(AMBIGUOUS["key"], AMBIGUOUS["key_candidates"], AMBIGUOUS["key_ambiguity"])
    assert text.splitlines() == ["C major · 0.54", "or A minor 0.22, F major 0.19",
                                 "ambiguous between C major and A minor"]
    assert "ambiguous" not in key_text(AMBIGUOUS["key"], AMBIGUOUS["key_candidates"])


def test_panel_shows_the_ambiguity_with_the_analysis_confidence(qtbot):
    from musicapp.gui.analysis_view import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_result(TrackAnalysis.from_dict(AMBIGUOUS))
    lines = panel.key_label.text().splitlines()
    assert lines[0] == "C major · 0.54"
    assert lines[-1] == "ambiguous between C major and A minor"
