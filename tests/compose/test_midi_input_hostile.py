"""Hostile MIDI clips for ``chords --from-midi``: each is written with mido by the test and read
back by the real reader; every one ends in a clip or a clear MusicappError, quickly."""

from __future__ import annotations

import mido
import pytest

from musicapp.compose.midi_input import MAX_CLIP_BEATS, read_clip, recognise_chords
from musicapp.compose.theory import Key
from musicapp.errors import MusicappError

_PROG = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62), (62, 65, 69), (64, 67, 71)]


def _chord(notes, *, gap=0, dur=1920) -> list[mido.Message]:
    """A block chord starting ``gap`` ticks after the previous event, lasting ``dur`` ticks."""
    on = [mido.Message("note_on", note=n, velocity=80, time=gap if i == 0 else 0)
          for i, n in enumerate(notes)]
    off = [mido.Message("note_off", note=n, velocity=0, time=dur if i == 0 else 0)
           for i, n in enumerate(notes)]
    return on + off


def _chords(chords, dur=1920) -> list[mido.Message]:
    """Block chords one after another."""
    return [msg for c in chords for msg in _chord(c, dur=dur)]


def _save(path, *tracks, tpb=480):
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    for events in tracks:
        mid.tracks.append(mido.MidiTrack(events))
    mid.save(path)
    return path


def test_gigantic_delta_time_is_refused_not_looped_over(tmp_path):
    # before: the second chord 2^28-1 ticks later made recognition walk 280,000 half bars
    # (over a minute and hundreds of MB); now a clear error naming the clip's length
    p = _save(tmp_path / "giant.mid", _chord(_PROG[0]) + _chord(_PROG[1], gap=0x0FFFFFFF))
    with pytest.raises(MusicappError, match=r"559,249 beats .*at most 1024 beats"):
        read_clip(p)
    held = _save(tmp_path / "held.mid", [mido.Message("note_on", note=60, velocity=80),
                                         mido.Message("note_off", note=60, time=0x0FFFFFFF)])
    with pytest.raises(MusicappError, match="at most 1024 beats"):
        read_clip(held)


def test_one_tick_per_beat_makes_a_clip_too_long(tmp_path):
    # ticks_per_beat=1: four 1920-tick chords are 7,680 beats long
    p = _save(tmp_path / "tpb1.mid", _chords(_PROG[:4]), tpb=1)
    with pytest.raises(MusicappError, match="7,680 beats"):
        read_clip(p)


def test_far_away_trailing_events_are_ignored_and_said(tmp_path):
    markers = [mido.MetaMessage("marker", text="x", time=0x0FFFFFFF)] * 20
    p = _save(tmp_path / "tail.mid", _chord(_PROG[0]) + _chord(_PROG[1]), markers)
    clip = read_clip(p)
    assert clip.length_beats == 8 <= MAX_CLIP_BEATS
    assert any("silence after the last note is ignored" in n for n in clip.notes_text)
    assert [c.token.name(Key("C")) for c in recognise_chords(clip, Key("C"))] == ["C", "Am"]


@pytest.mark.parametrize("tempo", [0, 1])
def test_zero_or_absurd_tempo_is_ignored(tmp_path, tempo):
    # before: tempo 0 raised ZeroDivisionError (a traceback); tempo 1 us gave 60,000,000 bpm
    conductor = [mido.MetaMessage("set_tempo", tempo=tempo)]
    p = _save(tmp_path / "t.mid", conductor, _chord(_PROG[0]) + _chord(_PROG[3]))
    clip = read_clip(p)
    assert clip.tempo_bpm == 120.0
    assert any("outside 20..400 bpm: ignored" in n for n in clip.notes_text)


def test_truncated_and_empty_files_say_so(tmp_path):
    good = _save(tmp_path / "good.mid", _chord(_PROG[0]))
    cut = tmp_path / "cut.mid"
    cut.write_bytes(good.read_bytes()[:30])
    with pytest.raises(MusicappError, match=r"truncated"):  # was "not a readable MIDI file ()"
        read_clip(cut)
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(MusicappError, match=r"empty \(0 bytes\)"):
        read_clip(empty)


@pytest.mark.parametrize("denominator", [4, 8, 16])
def test_one_beat_bars_give_no_zero_length_chords(tmp_path, denominator):
    # a 1/16 bar has no second half: recognition used to emit a 0-beat span after every chord
    conductor = [mido.MetaMessage("time_signature", numerator=1, denominator=denominator)]
    notes = _chords(_PROG[:4], dur=480)
    clip = read_clip(_save(tmp_path / "one.mid", conductor, notes))
    spans = recognise_chords(clip, Key("C"))
    assert all(s.beats > 0 for s in spans)
    assert [s.token.name(Key("C")) for s in spans] == ["C", "Am", "F", "G"]
    assert sum(s.beats for s in spans) == pytest.approx(4.0)


def test_continue_of_a_clip_longer_than_a_loop_is_a_clear_error(tmp_path):
    from musicapp.compose.from_clip import idea_from_clip
    from musicapp.compose.generate import Generator

    notes = _chords([_PROG[i % 6] for i in range(70)])
    p = _save(tmp_path / "long.mid", notes)
    # before: "70 durations for 64 chords", an internal message
    with pytest.raises(MusicappError, match="already holds 70 chord spans; a loop has at most 64"):
        idea_from_clip(p, Generator(), action="continue")
