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


def test_every_conventional_key_of_a_track_seeds_the_composer_as_spelled():
    """A track in G# minor (5 sharps) gives G# minor, never Ab minor (7 flats, "Fb" chords):
    every key the analysis can name keeps its spelling."""
    from musicapp.gui.composer_backend import track_key
    from musicapp.pitch import make_key

    for mode in ("major", "minor"):
        for pc in range(12):
            k = make_key(pc, mode)
            assert track_key({"key": {"tonic": k.tonic, "mode": mode}}) == (k.tonic, mode)
    assert track_key({"key": {"tonic": "G#", "mode": "minor"}}) == ("G#", "minor")


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
    with qtbot.waitSignal(composer.message, timeout=5_000) as blocker:
        assert composer.set_picture(str(bad)) is False
    assert "bad.png" in blocker.args[0] and "not a readable image" in blocker.args[0]
    assert composer.picture is None
    with qtbot.waitSignal(composer.message, timeout=30_000) as blocker:
        composer.generate_button.click()
    assert "choose a picture first" in blocker.args[0]
    qtbot.waitUntil(lambda: composer.generate_button.isEnabled(), timeout=5000)


def _png_header_only(path, width: int, height: int):
    """A real PNG file whose header declares width x height RGB pixels (a few bytes of data)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [10_000, 20_000], ids=["100MP", "400MP"])
def test_an_oversized_picture_is_refused_with_a_clear_message(qtbot, composer, tmp_path, side):
    from PIL import Image

    from musicapp.compose.emotion import MAX_IMAGE_PIXELS

    ok = tmp_path / "small.png"
    Image.new("RGB", (40, 30), (30, 60, 200)).save(ok)
    composer.source.setCurrentIndex(3)
    assert composer.set_picture(str(ok)) and composer.picture == str(ok)
    bomb = _png_header_only(tmp_path / "huge.png", side, side)
    import struct

    assert struct.unpack(">II", bomb.read_bytes()[16:24]) == (side, side)  # the IHDR declares it
    with qtbot.waitSignal(composer.message, timeout=5_000) as blocker:
        assert composer.set_picture(str(bomb)) is False
    msg = blocker.args[0]
    assert "huge.png" in msg and "too large" in msg and f"{MAX_IMAGE_PIXELS:,}" in msg
    assert composer.picture is None and composer.picture_label.text() == "no picture"
    assert composer.thumbnail.pixmap().isNull()
    assert "too large" in composer.info.full_text


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


def _chord_track_pcs(path, ticks_start: float, ticks_end: float) -> set[int]:
    """Pitch classes of the Chords track's notes that start in [ticks_start, ticks_end)."""
    mid = mido.MidiFile(str(path))
    track = next(t for t in mid.tracks if any(m.type == "track_name" and m.name == "Chords"
                                              for m in t))
    now, pcs = 0, set()
    for m in track:
        now += m.time
        if m.type == "note_on" and m.velocity > 0 and ticks_start <= now < ticks_end:
            pcs.add(m.note % 12)
    return pcs


def _markers(path) -> list[str]:
    return [m.text for t in mido.MidiFile(str(path)).tracks for m in t if m.type == "marker"]


def test_choose_an_alternative_keeps_durations_and_reaches_the_midi(qtbot, composer, tmp_path):
    from musicapp.compose.model import DEFAULT_WEIGHTS
    from musicapp.gui.composer import alternative_text, percent_text

    assert [percent_text(p) for p in (0.004, 0.0099, 0.01, 0.234)] == ["<1%", "<1%", "1%", "23%"]

    assert DEFAULT_WEIGHTS.exists()  # the real, shipped chord model
    composer.source.setCurrentIndex(1)
    composer.mood.setCurrentText("happy")
    composer.tonic.setCurrentText("G")
    composer.mode.setCurrentText("major")
    composer.length.setValue(8)
    _generate(qtbot, composer)
    prog = composer.session.progression
    names, beats = list(prog.names), list(prog.beats)
    pos = 3
    with qtbot.waitSignal(composer.alternatives_ready, timeout=60_000) as blocker:
        composer.blocks[pos].alts.click()
    index, alts = blocker.args
    assert index == pos and 1 <= len(alts) <= 5
    probs = [a.probability for a in alts]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-9
    assert names[pos] not in [a.name for a in alts]  # the current chord is not offered
    menu = composer.alt_menu
    assert menu.isVisible()
    texts = [a.text() for a in menu.actions() if a.isEnabled() and not a.isSeparator()]
    assert texts[:len(alts)] == [alternative_text(a) for a in alts]
    assert all(t.split("\t")[1].endswith("%") for t in texts[:len(alts)])
    assert texts[-1].startswith("↻ Regenerate")
    assert menu.activeAction() is menu.actions()[1]  # keyboard: Enter takes the first one
    # the chord that is there says how likely it is itself ("why was it chosen at all?")
    head = menu.actions()[0].text()
    assert head.startswith(f"Instead of {names[pos]} (") and ", itself " in head
    assert head.endswith("%:")

    pick = alts[1] if len(alts) > 1 else alts[0]
    with qtbot.waitSignal(composer.progression_changed, timeout=10_000) as changed:
        next(a for a in menu.actions() if a.text().startswith(f"{pick.name}  (")).trigger()
    after = changed.args[0]
    assert after[pos] == pick.name and composer.chord_names[pos] == pick.name
    assert [n for i, n in enumerate(after) if i != pos] == \
           [n for i, n in enumerate(names) if i != pos]
    assert composer.session.progression.beats == beats  # every duration kept
    assert composer.blocks[pos].roman.full_text.startswith(pick.roman)
    assert pick.name in composer.info.full_text

    out = composer.export_midi(str(tmp_path / "alt.mid"))
    start = sum(beats[:pos])
    tpb = mido.MidiFile(str(out)).ticks_per_beat
    pcs = _chord_track_pcs(out, start * tpb, (start + beats[pos]) * tpb)
    assert pcs and pcs <= set(pick.token.pitch_classes(prog.key))
    assert _markers(out)[pos] == pick.name


def test_alternatives_by_keyboard_and_context_menu(qtbot, composer):
    from PySide6.QtCore import QPoint, Qt

    composer.source.setCurrentIndex(1)
    composer.length.setValue(4)
    _generate(qtbot, composer)
    block = composer.blocks[1]
    assert block.alts.focusPolicy() & Qt.FocusPolicy.TabFocus  # reachable with Tab
    with qtbot.waitSignal(composer.alternatives_ready, timeout=60_000):
        block.customContextMenuRequested.emit(QPoint(5, 5))  # right-click / menu key
    first = composer.alternatives_shown[1][0]
    before = composer.session.progression.beats
    with qtbot.waitSignal(composer.progression_changed, timeout=10_000) as changed:
        qtbot.keyClick(composer.alt_menu, Qt.Key.Key_Return)
    assert changed.args[0][1] == first.name
    assert composer.session.progression.beats == before
    # from the keyboard alone: Tab to a card's button, Shift+F10 (or the menu key, Alt+Down)
    composer.alt_menu.close()
    block = composer.blocks[3]
    block.regen.setFocus()
    with qtbot.waitSignal(composer.alternatives_ready, timeout=60_000) as shown:
        qtbot.keyClick(block.regen, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert shown.args[0] == 3 and composer.alt_menu.isVisible()
    composer.alt_menu.close()
    # a locked chord offers no alternatives
    block = composer.blocks[2]
    block.lock.click()
    assert not block.alts.isEnabled()
    with qtbot.assertNotEmitted(block.alternatives_requested):
        block.request_alternatives()


def test_regenerate_never_returns_the_current_chord_and_keeps_durations(qtbot, composer):
    composer.source.setCurrentIndex(1)
    composer.mood.setCurrentText("sad")
    composer.tonic.setCurrentText("E")
    composer.mode.setCurrentText("minor")
    composer.length.setValue(8)
    _generate(qtbot, composer)
    beats = list(composer.session.progression.beats)
    for trial in range(6):
        pos = 1 + trial % 6
        before = composer.chord_names
        with qtbot.waitSignal(composer.progression_changed, timeout=60_000) as blocker:
            composer.blocks[pos].regen.click()
        after = blocker.args[0]
        assert after[pos] != before[pos]
        assert [a for i, a in enumerate(after) if i != pos] == \
               [b for i, b in enumerate(before) if i != pos]
        assert composer.session.progression.beats == beats


def test_composer_parts_do_not_overlap_in_a_small_window(qtbot, window, composer):
    composer.source.setCurrentIndex(1)
    composer.length.setValue(8)
    _generate(qtbot, composer)
    window.resize(1024, 640)
    qtbot.wait(200)
    parts = {"cards": composer.cards, "roll": composer.roll, "roll_info": composer.roll_info,
             "info": composer.info, "preview": composer.play_button,
             "export": composer.export_button, "drag": composer.drag}
    rects = {}
    for name, w in parts.items():
        assert w.isVisible(), name
        top_left = w.mapTo(composer, w.rect().topLeft())
        rects[name] = w.rect().translated(top_left)
        assert composer.rect().contains(rects[name]), name  # not pushed out of the panel
    names = list(rects)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not rects[a].intersects(rects[b]), (a, b, rects[a], rects[b])
    assert composer.roll.height() >= composer.roll.minimumHeight()
    assert composer.cards.horizontalScrollBar().isVisible()  # 8 cards scroll, none cut off


def test_chord_cards_count_six_eight_in_dotted_quarters(qtbot, window, composer):
    """A 6/8 chord card said "3 beats" (quarter notes): a whole bar is "1 bar", half a bar
    "1 beat", and the tooltip names the dotted-quarter beat."""
    from musicapp.compose.rhythm import Meter
    from musicapp.gui.composer import ChordBlock

    six_eight = Meter(6, 8)
    whole = ChordBlock(0, "C", "I", 3.0, False, meter=six_eight)
    half = ChordBlock(1, "G", "V", 1.5, False, meter=six_eight)
    qtbot.addWidget(whole)
    qtbot.addWidget(half)
    assert whole.roman.text() == "I  ·  1 bar"
    assert half.roman.text() == "V  ·  1 beat"
    assert "dotted quarter" in half.roman.toolTip()
