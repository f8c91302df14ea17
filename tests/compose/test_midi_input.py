"""Reading MIDI clips: notes, meter, tempo, key and chords; bad clips; continue/reharmonise/fill."""

from __future__ import annotations

import mido
import pytest

from musicapp.compose.midi_input import detect_key, read_clip, recognise_chords
from musicapp.compose.theory import Key
from musicapp.errors import MusicappError

# (root, third, fifth) MIDI notes per bar
_C, _AM, _F, _G = (60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)


def write_clip(path, bars, *, tempo=90.0, meter=(4, 4), tempo_change=None, drums=False,
               empty=False, gap_bar=None):
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=meter[0],
                                      denominator=meter[1], time=0))
    if tempo_change:
        conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_change),
                                          time=480 * 4))
    mid.tracks.append(conductor)
    tr = mido.MidiTrack()
    bar_ticks = int(480 * meter[0] * 4 / meter[1])
    ch = 9 if drums else 0
    events = []
    if not empty:
        for i, chord in enumerate(bars):
            if i == gap_bar:
                continue
            for p in (*chord, chord[0] - 24):
                events.append((i * bar_ticks, mido.Message("note_on", channel=ch, note=p,
                                                           velocity=80)))
                events.append(((i + 1) * bar_ticks - 10,
                               mido.Message("note_off", channel=ch, note=p, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1].type == "note_on"))
    now = 0
    for t, msg in events:
        tr.append(msg.copy(time=t - now))
        now = t
    mid.tracks.append(tr)
    mid.save(path)
    return path


def test_reads_chords_key_meter_and_tempo(tmp_path):
    p = write_clip(tmp_path / "c.mid", [_C, _AM, _F, _G], tempo=90.0)
    clip = read_clip(p)
    assert clip.meter.text == "4/4" and clip.tempo_bpm == pytest.approx(90.0)
    assert clip.length_beats == 16
    key, _ = detect_key(clip.notes)
    assert key == Key("C", "major")
    chords = recognise_chords(clip, key)
    assert [c.token.name(key) for c in chords] == ["C", "Am", "F", "G"]
    assert [c.beats for c in chords] == [4.0, 4.0, 4.0, 4.0]


def test_three_four_and_minor_key(tmp_path):
    em, am, b7 = (64, 67, 71), (57, 60, 64), (59, 63, 66)
    p = write_clip(tmp_path / "m.mid", [em, am, b7, em], meter=(3, 4))
    clip = read_clip(p)
    key, _ = detect_key(clip.notes)
    assert clip.meter.text == "3/4" and key.mode == "minor" and key.tonic == "E"
    assert [c.token.roman("minor") for c in recognise_chords(clip, key)] == ["i", "iv", "V",
                                                                             "i"]


def test_bad_clips_are_clear_errors(tmp_path):
    with pytest.raises(MusicappError, match="no notes"):
        read_clip(write_clip(tmp_path / "e.mid", [], empty=True))
    with pytest.raises(MusicappError, match="drum notes only"):
        read_clip(write_clip(tmp_path / "d.mid", [_C, _F], drums=True))
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"MThd not really")
    with pytest.raises(MusicappError, match="not a readable MIDI"):
        read_clip(junk)
    with pytest.raises(MusicappError, match="does not exist"):
        read_clip(tmp_path / "none.mid")


def test_tempo_change_is_stated(tmp_path):
    clip = read_clip(write_clip(tmp_path / "t.mid", [_C, _G], tempo=100, tempo_change=140))
    assert clip.tempo_bpm == pytest.approx(100.0)
    assert any("changes tempo" in n for n in clip.notes_text)


@pytest.fixture(scope="module")
def gen():
    from musicapp.compose.generate import Generator

    return Generator()


def test_continue_reharmonise_fill(tmp_path, gen):
    from musicapp.compose.from_clip import idea_from_clip
    from musicapp.compose.rhythm import is_bar_aligned

    p = write_clip(tmp_path / "c.mid", [_C, _AM, _F, _G])
    idea = idea_from_clip(p, gen, action="continue", length=4, seed=1)
    names = idea.progression.names
    assert names[:4] == ["C", "Am", "F", "G"] and len(names) == 8
    assert idea.progression.beats[:4] == [4.0] * 4
    assert is_bar_aligned(idea.progression.beats, idea.clip.meter)
    re = idea_from_clip(p, gen, action="reharmonise", seed=2)
    assert len(re.progression.names) == 4 and re.progression.beats == [4.0] * 4
    assert all(a != b for a, b in zip(re.progression.names, ["C", "Am", "F", "G"], strict=True))
    gap = write_clip(tmp_path / "g.mid", [_C, _AM, _F, _G], gap_bar=2)
    filled = idea_from_clip(gap, gen, action="fill", seed=3)
    recognised = [r.token for r in filled.recognised]
    assert recognised[2] is None
    out = filled.progression.names
    assert out[0] == "C" and out[1] == "Am" and out[3] == "G" and out[2] not in ("Am", "G")


def _pickup_clip(path, bars, *, pickup=(15, 16)):
    """A DAW-style clip: a pickup bar in its own signature (15/16 = 3.75 beats, melody only),
    then 4/4 with one chord a bar."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    pick = int(480 * 4 * pickup[0] / pickup[1])
    conductor = mido.MidiTrack([
        mido.MetaMessage("time_signature", numerator=pickup[0], denominator=pickup[1], time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=pick)])
    tr = mido.MidiTrack([mido.Message("note_on", note=79, velocity=80, time=pick - 240),
                         mido.Message("note_off", note=79, velocity=0, time=240)])
    for chord in bars:
        tr.extend(mido.Message("note_on", note=n, velocity=80, time=0) for n in chord)
        tr.extend(mido.Message("note_off", note=n, velocity=0, time=1920 if i == 0 else 0)
                  for i, n in enumerate(chord))
    mid.tracks += [conductor, tr]
    mid.save(path)
    return path


def test_pickup_bar_is_not_the_meter(tmp_path):
    clip = read_clip(_pickup_clip(tmp_path / "p.mid", [_C, _AM, _F, _G]))
    assert clip.meter.text == "4/4" and clip.pickup_beats == pytest.approx(3.75)
    assert clip.length_beats == 16  # 4 bars counted from the first full bar
    assert any("15/16 pickup" in n for n in clip.notes_text)
    key, _ = detect_key(clip.notes)
    chords = recognise_chords(clip, key)
    assert [(c.token.name(key), c.start, c.beats) for c in chords] == [
        ("C", 0.0, 4.0), ("Am", 4.0, 4.0), ("F", 8.0, 4.0), ("G", 12.0, 4.0)]


def test_analysis_export_with_pickup_reads_back_in_its_meter(tmp_path):
    from musicapp.analysis.export import write_midi

    period = 0.5  # 120 bpm; the first downbeat 3.75 beats after the start: a lead-in bar
    beats = [0.375 + period * i for i in range(3 + 4 * 8)]
    downbeats = beats[3::4]
    labels = ["C:maj", "A:min", "F:maj", "G:maj"] * 2
    chords = [{"start": d, "end": d + 4 * period, "label": lab}
              for d, lab in zip(downbeats, labels, strict=False)]
    out = write_midi({"beats": beats, "downbeats": downbeats, "meter": "4/4", "tempo_bpm": 120,
                      "key": "C major", "chords": chords}, tmp_path / "song.mid")
    sigs = [(m.numerator, m.denominator) for m in mido.MidiFile(out).tracks[0]
            if m.type == "time_signature"]
    # the exporter writes the 3.75-beat lead-in as one whole 4/4 bar at its own tempo
    assert sigs == [(4, 4)]
    clip = read_clip(out)
    assert clip.meter.text == "4/4" and clip.pickup_beats == 0.0
    assert clip.length_beats == 32  # the silent lead-in bar is left out ...
    assert clip.tempo_bpm == pytest.approx(120.0)  # ... and its own tempo is not the clip's
    assert any("1 bar(s) of silence" in s for s in clip.notes_text)
    assert not any("changes tempo" in s for s in clip.notes_text)
    key, _ = detect_key(clip.notes)
    assert key == Key("C", "major")
    assert [c.token.name(key) for c in recognise_chords(clip, key)] == \
        ["C", "Am", "F", "G"] * 2


def test_meter_is_the_one_governing_most_of_the_clip(tmp_path):
    from musicapp.compose.midi_input import clip_meter

    said: list[str] = []
    meter, pickup = clip_meter([(0.0, 3, 4), (6.0, 4, 4), (18.0, 3, 4)], 21.0, said)
    assert meter.text == "4/4" and pickup == 0.0  # two 3/4 bars first are no pickup
    assert any("changes time signature (3/4, 4/4)" in s for s in said)
    said = []
    meter, pickup = clip_meter([(0.0, 3, 4), (3.0, 4, 4)], 19.0, said)
    assert meter.text == "4/4" and pickup == 3.0  # a 3-beat bar before 4/4: a pickup
    assert not any("changes time signature" in s for s in said)
    meter, pickup = clip_meter([(0.0, 6, 8), (3.0, 4, 4), (11.0, 6, 8)], 50.0, [])
    assert meter.text == "6/8" and pickup == 0.0  # 6/8 governs most of the clip
    meter, pickup = clip_meter([(0.0, 4, 4)], 8.0, [])
    assert meter.text == "4/4" and pickup == 0.0
    meter, pickup = clip_meter([], 8.0, [])
    assert meter.text == "4/4" and pickup == 0.0


def test_composer_loop_reads_back_with_its_minor_key(tmp_path, gen):
    """The composer's MIDI (chords, bass and a melody with passing notes) of i III VI VII in
    E minor reads back as those chords, bar by bar, in E minor - not G major - as
    ``chords --from-midi`` reads it: with the key signature the composer writes ("Em"; from
    the notes alone the loop is closer to G major now that the first chord counts little)."""
    from musicapp.compose.arrange import arrange
    from musicapp.compose.generate import Progression
    from musicapp.compose.midi_export import build_midi
    from musicapp.compose.theory import ChordToken

    key = Key("E", "minor")
    for pattern in ("arpeggio", "block", "pop"):
        toks = [ChordToken.parse(t, "minor") for t in ["i", "III", "VI", "VII"]]
        prog = Progression(key, toks, [4.0] * 4, -0.6, 0.0)
        path = tmp_path / f"loop-{pattern}.mid"
        build_midi(arrange(prog, pattern=pattern, seed=3)).save(path)
        clip = read_clip(path)
        assert clip.key_signature == "Em"
        found, _ = detect_key(clip.notes, signature=clip.key_signature)
        assert found == key, pattern
        spans = recognise_chords(clip, found)
        assert [(s.token.name(found), s.beats) for s in spans] == \
            [("Em", 4.0), ("G", 4.0), ("C", 4.0), ("D", 4.0)], pattern


def _write_with_signature(path, bars, signature=None):
    write_clip(path, bars)
    if signature is not None:
        mid = mido.MidiFile(path)
        mid.tracks[0].insert(0, mido.MetaMessage("key_signature", key=signature, time=0))
        mid.save(path)
    return path


# Db major opening IV-V-vi-I (POP909 066's shape): Gb Ab Bbm Db
_GB, _AB, _BBM, _DB = (54, 58, 61), (56, 60, 63), (58, 61, 65), (61, 65, 68)


def test_a_song_opening_iv_v_vi_is_read_in_its_key(tmp_path):
    """The first-chord bonus read a song opening IV-V-vi in its IV (066: F# major, chords A#m
    and E#m); it now counts little and the key is Db major, spelled with flats."""
    p = _write_with_signature(tmp_path / "o.mid", [_GB, _AB, _BBM, _DB] * 2)
    key, _ = detect_key(read_clip(p).notes)
    assert key == Key("Db", "major")


def test_a_key_signature_narrows_the_key_and_fixes_its_spelling(tmp_path):
    """A clip's key signature (the analysis export writes one) gives its major key or that
    key's relative minor, spelled as the signature spells it."""
    p = _write_with_signature(tmp_path / "s.mid", [_GB, _AB, _BBM, _DB] * 2, "Db")
    clip = read_clip(p)
    assert clip.key_signature == "Db"
    assert detect_key(clip.notes, signature=clip.key_signature)[0] == Key("Db", "major")
    # the same notes under F#'s signature (a DAW that spells Gb major as F#): F# spelling
    assert detect_key(clip.notes, signature="Gb")[0] == Key("Gb", "major")
    # a minor loop under its relative major's signature is the relative minor, spelled so
    em, am, b7 = (64, 67, 71), (57, 60, 64), (59, 63, 66)
    p = _write_with_signature(tmp_path / "m.mid", [em, am, b7, em], "G")
    clip = read_clip(p)
    assert detect_key(clip.notes, signature=clip.key_signature)[0] == Key("E", "minor")
    bbm, ebm, f7 = (58, 61, 65), (63, 66, 70), (53, 57, 60)
    p = _write_with_signature(tmp_path / "b.mid", [bbm, ebm, f7, bbm], "Bbm")
    clip = read_clip(p)
    assert detect_key(clip.notes, signature=clip.key_signature)[0] == Key("Bb", "minor")
    assert detect_key(clip.notes, signature="A#m")[0].tonic == "A#"  # the signature's spelling


def test_a_clip_without_a_signature_has_none(tmp_path):
    assert read_clip(write_clip(tmp_path / "n.mid", [_C, _G])).key_signature is None


def test_analysis_export_key_reads_back_with_its_spelling(tmp_path):
    """analyse -> MIDI -> from-midi: the analysis export's Db major song opening IV-V-vi came
    back as F# major (A#m, E#m); its key signature now gives Db major and flat names."""
    from musicapp.analysis.export import write_midi

    period = 0.5
    beats = [period * i for i in range(4 * 8)]
    downbeats = beats[::4]
    labels = ["Gb:maj", "Ab:maj", "Bb:min", "Db:maj"] * 2
    chords = [{"start": d, "end": d + 4 * period, "label": lab}
              for d, lab in zip(downbeats, labels, strict=True)]
    out = write_midi({"beats": beats, "downbeats": downbeats, "meter": "4/4", "tempo_bpm": 120,
                      "key": "Db major", "chords": chords}, tmp_path / "song.mid")
    clip = read_clip(out)
    assert clip.key_signature == "Db"
    key, _ = detect_key(clip.notes, signature=clip.key_signature)
    assert key == Key("Db", "major")
    names = [c.token.name(key) for c in recognise_chords(clip, key) if c.token is not None]
    assert names[:4] == ["Gb", "Ab", "Bbm", "Db"]


def _smf(tracks: list[bytes], ntracks: int | None = None, head_len: int = 6) -> bytes:
    """A standard MIDI file from raw track bodies (type 1, 480 ticks per beat)."""
    import struct

    head = b"MThd" + struct.pack(">IHHH", head_len, 1, len(tracks) if ntracks is None
                                 else ntracks, 480)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


_NOTES = b"".join(bytes([0, 0x90, p, 100, 0x83, 0x60, 0x80, p, 0]) for p in (60, 64, 67)) \
    + b"\x00\xff\x2f\x00"


def test_hostile_midi_headers_and_events_are_clear_errors_not_tracebacks(tmp_path):
    """An invalid key signature (mido's KeySignatureError), a header chunk claiming 4 GB (mido
    would try to read it whole), a track chunk longer than the file: each one clear error."""
    cases = {
        "keysig.mid": (_smf([b"\x00\xff\x59\x02\x7f\x05" + _NOTES]), "key signature event is invalid"),
        "header.mid": (_smf([_NOTES], head_len=0xFFFFFFFF), "header chunk claims 4,294,967,295"),
        "chunk.mid": (_smf([_NOTES])[:-10], "truncated or damaged"),
    }
    for name, (data, words) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(MusicappError, match=words):
            read_clip(path)


def test_a_header_claiming_more_tracks_than_the_file_holds_is_read_and_said(tmp_path):
    path = tmp_path / "lie.mid"
    path.write_bytes(_smf([_NOTES], ntracks=65535))
    clip = read_clip(path)
    assert len(clip.notes) == 3
    assert any("says 65535 track(s) but the file holds 1" in n for n in clip.notes_text)
