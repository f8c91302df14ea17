"""The composer's Style chooser: it reaches the generator (a jazz idea in A minor is seventh
chords, in the MIDI file too) and is saved with the idea."""

from __future__ import annotations

import mido

from tests.gui.test_composer import _generate, _generator


def test_style_reaches_the_idea_the_midi_and_the_saved_settings(qtbot, window, tmp_path):
    composer = window.composer
    composer.session.generator = _generator()
    window.tabs.setCurrentWidget(composer)
    assert composer.style_choice.currentData() is None  # "Any style"
    composer.source.setCurrentIndex(1)
    composer.mood.setCurrentText("sad")
    composer.tonic.setCurrentText("A")
    composer.mode.setCurrentText("minor")
    composer.style_choice.setCurrentIndex(composer.style_choice.findData("jazz"))
    composer.length.setValue(8)
    _generate(qtbot, composer)
    prog = composer.session.progression
    assert prog.style == "jazz" and prog.bars in (4, 8)
    sevenths = {"7", "maj7", "m7", "m7b5", "dim7", "9"}
    assert sum(t.quality in sevenths for t in prog.tokens) >= 6, prog.romans
    path = composer.session.export_midi(tmp_path / "jazz.mid")
    markers = [m.text for m in mido.MidiFile(str(path)).tracks[0] if m.type == "marker"]
    assert len(markers) == 8 and sum(("7" in m or "9" in m) for m in markers) >= 6, markers
    assert composer.current_idea().settings["style"] == "jazz"
    composer._apply_settings({"style": "pop"})
    assert composer.style_choice.currentData() == "pop"
    composer._apply_settings({"style": None})
    assert composer.style_choice.currentData() is None
