"""The composer's Sound menu: Auto plays a strum on a guitar (GM 25), a chosen sound wins
(real window, real MIDI file read back with mido)."""

from __future__ import annotations

import mido

from tests.gui.test_composer import _generate, composer  # noqa: F401 (the fixture)


def _programs(path) -> list[int]:
    mid = mido.MidiFile(str(path))
    track = next(t for t in mid.tracks if any(m.type == "track_name" and m.name == "Chords"
                                              for m in t))
    return [m.program for m in track if m.type == "program_change"]


def test_auto_sound_follows_the_pattern_and_a_choice_wins(qtbot, window, composer, tmp_path):  # noqa: F811
    composer.source.setCurrentIndex(1)
    composer.length.setValue(4)
    _generate(qtbot, composer)
    assert composer.instrument.currentText() == "Auto (pattern)"
    composer.pattern.setCurrentIndex(composer.pattern.findData("strum"))
    assert _programs(composer.export_midi(str(tmp_path / "strum.mid"))) == [25]
    composer.pattern.setCurrentIndex(composer.pattern.findData("block"))
    assert _programs(composer.export_midi(str(tmp_path / "block.mid"))) == [4]
    composer.pattern.setCurrentIndex(composer.pattern.findData("strum"))
    composer.instrument.setCurrentIndex(composer.instrument.findData(4))  # the user's choice
    assert _programs(composer.export_midi(str(tmp_path / "chosen.mid"))) == [4]
    assert "guitar for Strum" in composer.instrument.toolTip()
