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
    assert "image:sun.png" in composer.info.text()
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
