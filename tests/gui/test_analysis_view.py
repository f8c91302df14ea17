"""The analysis panel's one-line summary (shown when the panels under the plots collapse)."""

from __future__ import annotations

from musicapp.gui.analysis_view import summary_line
from musicapp.track_analysis import TrackAnalysis


def test_summary_line_names_key_tempo_meter_and_energy():
    result = TrackAnalysis.from_dict({"key": {"tonic": "F#", "mode": "major", "confidence": 0.8},
                                      "tempo_bpm": 127.96, "meter": "3/4", "energy": 7})
    assert summary_line(result) == "F# major · 128.0 BPM · 3/4 · track energy 7/10"  # 0.1 BPM
    assert summary_line({"tempo_bpm": 92.5}) == "92.5 BPM"


def test_summary_line_keeps_the_tempo_uncertainty_of_the_track_panel_and_library():
    """The summary said "G major · 143.8 BPM" where the Track panel showed "~143.8" and the
    library "~143.8 (or 71.9)": it uses the same rule (tempo_choice.tempo_label)."""
    close = [{"bpm": 143.8, "relation": "tactus", "score": 0.5},
             {"bpm": 71.9, "relation": "half", "score": 0.45}]
    key = {"tonic": "G", "mode": "major", "confidence": 0.8}
    low = TrackAnalysis.from_dict({"key": key, "tempo_bpm": 143.8, "tempo_confidence": 0.1})
    assert summary_line(low) == "G major · ~143.8 BPM"
    both = TrackAnalysis.from_dict({"key": key, "tempo_bpm": 143.8, "tempo_confidence": 0.1,
                                    "tempo_candidates": close})
    assert summary_line(both) == "G major · ~143.8 BPM (or 71.9)"
    sure = TrackAnalysis.from_dict({"tempo_bpm": 143.8, "tempo_confidence": 0.9,
                                    "tempo_candidates": close})
    assert summary_line(sure) == "143.8 BPM (or 71.9)"


def test_summary_line_of_an_empty_or_missing_analysis_is_empty():
    assert summary_line(None) == ""
    assert summary_line({}) == ""
    assert summary_line({"status": "silence", "energy": None}) == ""


def test_panel_says_why_there_is_no_tempo_or_key(qtbot):
    """A track the beat tracker found no steady beat in (free time, rubato) shows the reason
    instead of a bare dash, as `musicapp analyze` does, and the useless ½×/2× buttons give it
    the room; a track with a tempo shows the BPM and the buttons again."""
    from musicapp.gui.analysis_view import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    free = TrackAnalysis.from_dict({
        "duration_s": 150.9, "status": "ok", "energy": 6,
        "key": None, "key_reason": "no clear pitch centre (percussion or noise)",
        "tempo_bpm": None, "tempo_confidence": 0.0,
        "tempo_reason": "no steady beat (free time or rubato)", "meter": None,
        "beats": [0.5 * i for i in range(100)]})
    panel.set_result(free)
    assert panel.tempo_label.text() == "no steady beat (free time or rubato)"
    assert "no steady beat" in panel.tempo_label.toolTip()
    assert panel.key_label.text() == "no clear pitch centre (percussion or noise)"
    assert panel.meter_label.text() == "–"
    assert "steady beat" in panel.meter_label.toolTip()
    assert not panel.half_button.isVisible() and not panel.double_button.isVisible()

    steady = TrackAnalysis.from_dict({
        "duration_s": 65.2, "status": "ok", "key": {"tonic": "Eb", "mode": "major",
                                                    "confidence": 0.37},
        "tempo_bpm": 62.1, "tempo_reason": None, "meter": "3/4"})
    panel.set_result(steady)
    assert panel.tempo_label.text() == "62.1 BPM"
    assert panel.tempo_label.toolTip() == ""
    assert panel.key_label.text().startswith("Eb major")
    assert panel.meter_label.text() == "3/4"
    assert panel.half_button.isVisible() and panel.half_button.isEnabled()

    # a coin toss between two levels shows the other one under the BPM, and why, in the tooltip
    unsure = TrackAnalysis.from_dict({
        "duration_s": 120.0, "status": "ok", "tempo_bpm": 240.0, "meter": "4/4",
        "tempo_candidates": [{"bpm": 240.0, "relation": "tactus", "score": 0.5},
                             {"bpm": 120.0, "relation": "half", "score": 0.457},
                             {"bpm": 480.0, "relation": "double", "score": 0.043}]})
    panel.set_result(unsure)
    assert panel.tempo_label.text() == "240.0 BPM\nor 120.0?"
    assert "120.0 BPM (half time) fits almost as well" in panel.tempo_label.toolTip()


def test_panel_of_a_silent_track_keeps_the_status_not_a_reason(qtbot):
    """Silence says "silence" once (the status line), not a beat tracker's reason."""
    from musicapp.gui.analysis_view import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 20.0, "status": "silence", "tempo_bpm": None,
        "tempo_reason": "no periodic onsets found"}))
    assert panel.tempo_label.text() == "–"  # the status line says "Silence" once
    assert panel.status_label.text().startswith("Silence")
    assert panel.mood_bars.empty_text == "Silence: no moods"  # not "No mood analysis yet"
    assert not panel.half_button.isVisibleTo(panel)  # nothing to halve or double


def test_the_key_comes_with_its_alternatives_and_never_a_certain_one(qtbot):
    """A musician reads "Eb major (0.37)" and wants to know what else it could be; a real track
    showed "confidence 1.00"."""
    from musicapp.gui.analysis_view import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 65.2, "status": "ok",
        "key": {"tonic": "Eb", "mode": "major", "confidence": 0.37},
        "key_candidates": [
            {"tonic": "Eb", "mode": "major", "name": "Eb major", "probability": 0.37,
             "relation": "best"},
            {"tonic": "C", "mode": "minor", "name": "C minor", "probability": 0.31,
             "relation": "relative"},
            {"tonic": "Bb", "mode": "major", "name": "Bb major", "probability": 0.12,
             "relation": "dominant"}]}))
    first, second = panel.key_label.text().split("\n")
    assert first == "Eb major · 0.37"  # short: "(confidence 0.81)" wrapped at 1024x640
    assert second == "or C minor 0.31, Bb major 0.12"
    assert "C minor 0.31 (relative), Bb major 0.12 (dominant)" in panel.key_label.toolTip()
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 65.2, "status": "ok",
        "key": {"tonic": "G", "mode": "minor", "confidence": 0.998}}))
    assert panel.key_label.text() == "G minor · >0.99"


def test_percentiles_never_round_up_to_a_certain_100():
    from musicapp.gui.analysis_view import percent_text

    assert [percent_text(x) for x in (0.0, 0.504, 0.994, 0.996, 1.0)] == [
        "0%", "50%", "99%", "99%", "100%"]


def test_an_arousal_that_rounds_to_zero_shows_no_minus_sign(qtbot):
    """A musician read "arousal -0.00" in the valence/arousal box."""
    from musicapp.gui.analysis_view import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 30.0, "status": "ok", "valence": 0.41, "arousal": -0.0031}))
    assert panel.va_values.text() == "valence +0.41, arousal 0.00"
    assert panel.va_box.title() == "Valence +0.41 · arousal 0.00"


def test_panel_marks_a_low_confidence_tempo_as_the_cli_does(qtbot):
    """A tempo the analysis is unsure of reads "~71.3 BPM", as `analyze` and `library list`
    print it, with the reason in the tooltip."""
    from musicapp.gui.analysis_view import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 90.0, "status": "ok", "tempo_bpm": 71.25, "tempo_confidence": 0.2,
        "meter": "4/4"}))
    assert panel.tempo_label.text() == "~71.2 BPM" or panel.tempo_label.text() == "~71.3 BPM"
    assert "Low tempo confidence (0.20)" in panel.tempo_label.toolTip()
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 90.0, "status": "ok", "tempo_bpm": 71.25, "tempo_confidence": 0.9,
        "meter": "4/4"}))
    assert not panel.tempo_label.text().startswith("~")


def test_the_key_row_names_a_key_change_as_the_cli_does(qtbot):
    """The Harmony tab and the chord lane showed a modulation, the Key row did not; it says
    "→ C major at 4:59.6" (`analyze`: "changes to C major at 4:59.6"), the tooltip too."""
    from musicapp.gui.analysis_view import AnalysisPanel, key_change_text

    timeline = [{"start": 0.0, "end": 299.6, "tonic": "A", "mode": "major", "name": "A major",
                 "confidence": 0.9},
                {"start": 299.6, "end": 400.0, "tonic": "C", "mode": "major",
                 "name": "C major", "confidence": 0.9}]
    result = TrackAnalysis.from_dict({
        "duration_s": 400.0, "status": "ok", "key_timeline": timeline,
        "key": {"tonic": "A", "mode": "major", "confidence": 0.8}})
    assert key_change_text(result.to_dict()) == "→ C major at 4:59.6"
    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_result(result)
    assert panel.key_label.text().split("\n")[:2] == ["A major · 0.80", "→ C major at 4:59.6"]
    assert "Key change: → C major at 4:59.6" in panel.key_label.toolTip()
    one_key = TrackAnalysis.from_dict({
        "duration_s": 400.0, "status": "ok", "key_timeline": timeline[:1],
        "key": {"tonic": "A", "mode": "major", "confidence": 0.8}})
    panel.set_result(one_key)
    assert panel.key_label.text() == "A major · 0.80" and "→" not in panel.key_label.toolTip()


def test_a_bpm_stays_on_one_line_in_a_1024_window(qtbot):
    """At 1024x640 the Track panel wrapped "~120.0 / BPM" onto two lines: the BPM line is laid
    out whole (a reason such as "no steady beat (…)" still wraps)."""
    from musicapp.gui.analysis_view import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 260)  # the panel's width in a 1024x640 window
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 90.0, "status": "ok", "tempo_bpm": 120.0, "tempo_confidence": 0.2,
        "meter": "4/4", "key": {"tonic": "G#", "mode": "minor", "confidence": 0.5}}))
    qtbot.wait(20)
    label = panel.tempo_label
    assert label.text() == "~120.0 BPM"
    assert label.width() >= label.fontMetrics().horizontalAdvance("~120.0 BPM")
    assert label.height() < 2 * label.fontMetrics().lineSpacing()
    panel.set_result(TrackAnalysis.from_dict({
        "duration_s": 90.0, "status": "ok", "tempo_bpm": None,
        "tempo_reason": "no steady beat (free time or rubato)"}))
    assert label.wordWrap()
