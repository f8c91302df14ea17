"""The analysis panel's one-line summary (shown when the panels under the plots collapse)."""

from __future__ import annotations

from musicapp.gui.analysis_view import summary_line
from musicapp.track_analysis import TrackAnalysis


def test_summary_line_names_key_tempo_meter_and_energy():
    result = TrackAnalysis.from_dict({"key": {"tonic": "F#", "mode": "major", "confidence": 0.8},
                                      "tempo_bpm": 127.96, "meter": "3/4", "energy": 7})
    assert summary_line(result) == "F# major · 128 BPM · 3/4 · energy 7/10"
    assert summary_line({"tempo_bpm": 92.5}) == "92.5 BPM"


def test_summary_line_of_an_empty_or_missing_analysis_is_empty():
    assert summary_line(None) == ""
    assert summary_line({}) == ""
    assert summary_line({"status": "silence", "energy": None}) == ""
