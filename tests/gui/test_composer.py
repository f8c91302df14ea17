"""Composer panel in the real window: generate, lock, regenerate, export MIDI, drag payload."""

from __future__ import annotations

import mido
import numpy as np
import pytest

TOKENS = ["I:maj", "I:maj7", "I:min", "I:m7", "II:min", "II:dim", "III:min", "IV:maj",
          "IV:min", "V:maj", "V:7", "V:min", "VI:min", "VI:maj", "VII:dim", "bVI:maj",
          "bVII:maj", "bIII:maj", "I:sus2", "V:sus4"]


def _generator():
    """The shipped chord model, or (until it is trained) a randomly initialised one of the same
    architecture, so that the GUI path - sampling under constraints, locks, MIDI - is real."""
    from musicapp.compose.generate import Generator
    from musicapp.compose.labels import COND_DIM
    from musicapp.compose.model import DEFAULT_WEIGHTS, ChordModel
    from musicapp.compose.vocab import SPECIALS

    if DEFAULT_WEIGHTS.exists():
        return Generator()
    rng = np.random.default_rng(0)
    vocab = list(SPECIALS) + TOKENS
    v, c, e, h = len(vocab), COND_DIM, 16, 24
    t = {"emb": rng.normal(0, 0.5, (v, e)), "cond_h.w": rng.normal(0, 0.3, (h, c)),
         "cond_h.b": np.zeros(h), "gru.w_ih": rng.normal(0, 0.3, (3 * h, e + c)),
         "gru.w_hh": rng.normal(0, 0.3, (3 * h, h)), "gru.b_ih": np.zeros(3 * h),
         "gru.b_hh": np.zeros(3 * h), "out.w": rng.normal(0, 0.5, (v, h)), "out.b": np.zeros(v),
         "dur.w": rng.normal(0, 0.3, (3, h)), "dur.b": np.zeros(3)}
    meta = {"vocab": vocab, "config": {"vocab_size": v, "cond_dim": c, "emb_dim": e,
                                       "hidden": h, "n_dur": 3}}
    return Generator(ChordModel(t, meta))


@pytest.fixture
def composer(window):
    panel = window.composer
    panel.session.generator = _generator()
    window.tabs.setCurrentWidget(panel)
    return panel


def _generate(qtbot, composer):
    with qtbot.waitSignal(composer.progression_changed, timeout=60_000) as blocker:
        composer.generate_button.click()
    return blocker.args[0]


def test_generate_lock_regenerate_and_export_midi(qtbot, window, composer, tmp_path):
    composer.source.setCurrentIndex(1)  # a mood
    composer.mood.setCurrentText("sad")
    composer.tonic.setCurrentText("D")
    composer.mode.setCurrentText("minor")
    composer.length.setValue(6)
    names = _generate(qtbot, composer)
    assert len(names) == 6 and len(composer.blocks) == 6
    assert composer.session.progression.key.name == "D minor"
    assert names[0].startswith("D")  # starts on the tonic (a constraint of the generator)

    # lock chord 2, regenerate chord 4: only chord 4 may change
    composer.blocks[1].lock.click()
    assert 1 in composer.session.locked
    assert not composer.blocks[1].regen.isEnabled()
    before = composer.chord_names
    for _ in range(4):
        with qtbot.waitSignal(composer.progression_changed, timeout=60_000) as blocker:
            composer.blocks[3].regen.click()
        after = blocker.args[0]
        assert [a for i, a in enumerate(after) if i != 3] == \
               [b for i, b in enumerate(before) if i != 3]
        before = after
    # no chord block escaped into a window of its own while the row was rebuilt
    from PySide6.QtWidgets import QApplication

    from musicapp.gui.composer import ChordBlock

    qtbot.wait(50)
    assert not [w for w in QApplication.topLevelWidgets()
                if isinstance(w, ChordBlock) and w.isVisible()]
    # generating again keeps the locked chord
    locked = composer.chord_names[1]
    names2 = _generate(qtbot, composer)
    assert names2[1] == locked

    out = tmp_path / "prog.mid"
    with qtbot.waitSignal(composer.midi_exported, timeout=10_000):
        composer.export_midi(str(out))
    mid = mido.MidiFile(str(out))
    notes = [m for tr in mid.tracks for m in tr if m.type == "note_on" and m.velocity > 0]
    assert len(notes) >= 6 * 3
    names_in_file = {m.name for tr in mid.tracks for m in tr if m.type == "track_name"}
    assert "Chords" in names_in_file
    keys = [m.key for tr in mid.tracks for m in tr if m.type == "key_signature"]
    assert keys and keys[0] == "Dm"


def test_drag_payload_is_a_midi_file_url(qtbot, composer, monkeypatch, tmp_path):
    from musicapp.gui import composer_backend

    monkeypatch.setattr(composer_backend, "DRAG_DIR", tmp_path / "drag")
    _generate(qtbot, composer)
    mime = composer.drag.mime_data()
    urls = mime.urls()
    assert len(urls) == 1 and urls[0].isLocalFile()
    path = urls[0].toLocalFile()
    assert path.endswith(".mid")
    assert mido.MidiFile(path).length > 1.0


def test_key_defaults_to_the_tracks_and_emotion_from_track(qtbot, window, composer):
    flat_result = {"valence": -0.5, "arousal": 0.3, "moods": [],
                   "key": {"tonic": "F#", "mode": "minor", "confidence": 0.9}}
    window.set_analysis(flat_result)
    assert composer.tonic.currentText() == "F#"
    assert composer.mode.currentText() == "minor"
    assert composer.source.currentData() == "track"
    assert "valence -0.50" in composer.track_info.text()
    names = _generate(qtbot, composer)
    assert composer.session.progression.key.name == "F# minor"
    assert len(names) == composer.length.value()


def test_picture_source_and_bad_picture(qtbot, composer, tmp_path):
    from PIL import Image

    bright = tmp_path / "sun.png"
    Image.new("RGB", (32, 32), (255, 220, 40)).save(bright)
    composer.source.setCurrentIndex(3)
    composer.set_picture(str(bright))
    _generate(qtbot, composer)
    assert "image:sun.png" in composer.info.full_text
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    composer.set_picture(str(bad))
    with qtbot.waitSignal(composer.message, timeout=30_000) as blocker:
        composer.generate_button.click()
    assert "bad.png" in blocker.args[0]
    qtbot.waitUntil(lambda: composer.generate_button.isEnabled(), timeout=5000)


@pytest.mark.audio_device
def test_preview_renders_and_plays(qtbot, composer, pulse_audio):
    composer.length.setValue(4)
    _generate(qtbot, composer)
    with qtbot.waitSignal(composer.preview_ready, timeout=120_000) as blocker:
        composer.play_button.click()
    samples, rate = blocker.args
    assert rate == 44100 and samples.shape[-1] > rate
    assert float(np.abs(samples).max()) > 0.01
    qtbot.waitUntil(lambda: composer.player is not None and composer.player.position_s > 0.2,
                    timeout=10_000)
    composer.toggle_preview()
    assert composer.player is None


def _text_fits(label) -> bool:
    from PySide6.QtGui import QFontMetrics

    fm = QFontMetrics(label.font())
    return fm.horizontalAdvance(label.text()) <= label.contentsRect().width()


HARD = [("Bbmaj7", "bVImaj7", 2.0), ("C#m7b5", "bVII", 1.0), ("F#7/A#", "V7/IV", 1.5),
        ("Ebsus4", "bIIIsus4", 4.0)]


def test_every_chord_card_text_fits_and_keeps_accidentals(qtbot, window, composer):
    from musicapp.gui.composer import ChordBlock

    for i, (name, roman, beats) in enumerate(HARD):
        block = ChordBlock(i, name, roman, beats, locked=i == 1)
        composer.row_layout.addWidget(block)
        composer.blocks.append(block)
    window.resize(1024, 640)
    qtbot.wait(100)
    for block, (name, roman, _beats) in zip(composer.blocks, HARD, strict=True):
        assert block.name.text() == name and _text_fits(block.name)
        assert block.roman.text().startswith(roman) and _text_fits(block.roman)
        assert _text_fits(block.lock)  # "Locked" whole, not "ockec"
    assert composer.blocks[1].lock.text() == "Locked"
    assert composer.blocks[1].roman.text() == "bVII  ·  1 beat"  # singular
    assert composer.blocks[0].roman.text().endswith("2 beats")


def test_a_too_long_name_is_elided_with_a_tooltip(qtbot):
    from musicapp.gui.composer import CARD_MAX_WIDTH, FitLabel

    label = FitLabel("C" * 200)
    qtbot.addWidget(label)
    assert label.text().endswith("…") and label.toolTip() == "C" * 200
    assert label.minimumWidth() <= CARD_MAX_WIDTH


def test_controls_are_sane_and_labelled(qtbot, window, composer, tmp_path):
    from PySide6.QtGui import QColor, QImage

    window.resize(1024, 640)
    composer.source.setCurrentIndex(1)
    qtbot.wait(100)
    assert composer.mood.height() <= composer.mood.sizeHint().height() + 4  # not stretched
    composer.source.setCurrentIndex(2)
    composer.pad.set_value(-0.5, 0.25)
    assert composer.pad_values.text() == "valence -0.50 · arousal +0.25"
    assert set(composer.pad.quadrants) == {"tense", "happy", "sad", "calm"}
    picture = tmp_path / "sunset.png"
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("#ff8800"))
    image.save(str(picture))
    composer.source.setCurrentIndex(3)
    composer.set_picture(str(picture))
    assert composer.thumbnail.pixmap() is not None and not composer.thumbnail.pixmap().isNull()
    assert composer.picture_label.text() == "sunset.png"


def test_tempo_pattern_instrument_reach_the_midi_and_the_roll(qtbot, window, composer, tmp_path):
    composer.source.setCurrentIndex(1)
    composer.length.setValue(4)
    _generate(qtbot, composer)
    composer.tempo.setValue(132)
    composer.pattern.setCurrentIndex(composer.pattern.findData("arpeggio"))
    composer.instrument.setCurrentIndex(composer.instrument.findData(48))  # strings
    out = composer.export_midi(str(tmp_path / "loop.mid"))
    mid = mido.MidiFile(str(out))
    tempos = [m.tempo for t in mid.tracks for m in t if m.type == "set_tempo"]
    assert mido.tempo2bpm(tempos[0]) == pytest.approx(132, abs=0.01)
    chords = next(t for t in mid.tracks if any(m.type == "track_name" and m.name == "Chords"
                                               for m in t))
    assert [m.program for m in chords if m.type == "program_change"] == [48]
    assert composer.arrangement.pattern == "arpeggio"
    # the keyboard shows the selected chord's voicing, bass and melody
    composer.blocks[2].mousePressEvent(_left_click())
    assert composer.selected_index == 2 and composer.blocks[2].is_selected
    parts = composer.roll.notes_of(2)
    voicing = sorted({p for _s, _d, _t in [composer.arrangement.spans[2]]
                      for p in composer.arrangement.voicings[2]})
    assert parts["chords"] == voicing and parts["bass"]
    assert "voicing" in composer.roll_info.full_text and "bass" in composer.roll_info.full_text


def _left_click():
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    return QMouseEvent(QMouseEvent.Type.MouseButtonPress, QPointF(5, 5), QPointF(5, 5),
                       Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
