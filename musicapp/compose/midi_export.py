"""MIDI export: SMF type 1, 480 ticks per beat, named tracks on distinct channels, meta events,
chord names as markers; written atomically and never overwriting silently."""

from __future__ import annotations

import os
from pathlib import Path

import mido

from musicapp.compose.arrange import Arrangement, Note
from musicapp.outputs import write_atomically

TICKS_PER_BEAT = 480
#: track name -> (channel, General MIDI program, 0-based)
TRACKS = {"Chords": (0, 4), "Bass": (1, 33), "Melody": (2, 73)}  # E.piano 1, finger bass, flute
#: the chord track's program for each pattern when no sound is chosen: a strum is a guitar's
#: (25, acoustic steel guitar); the others keep the electric piano
PATTERN_PROGRAMS = {"block": 4, "arpeggio": 4, "pop": 4, "strum": 25}


def chord_program(pattern: str, chosen: int | None = None) -> int:
    """General MIDI program (0-based) of the chord track: ``chosen`` (the user's sound) when
    given, else the pattern's (:data:`PATTERN_PROGRAMS`)."""
    if chosen is not None:
        if not 0 <= int(chosen) <= 127:
            raise ValueError(f"{chosen}: a General MIDI program is 0..127")
        return int(chosen)
    return PATTERN_PROGRAMS.get(pattern, TRACKS["Chords"][1])


def _track(name: str, channel: int, program: int, notes: list[Note]) -> mido.MidiTrack:
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("track_name", name=name, time=0))
    tr.append(mido.Message("program_change", channel=channel, program=program, time=0))
    events: list[tuple[int, int, int, int]] = []  # (tick, on?, pitch, velocity)
    for n in notes:
        on = round(n.start * TICKS_PER_BEAT)
        off = max(round((n.start + n.dur) * TICKS_PER_BEAT), on + 1)
        events.append((on, 1, int(n.pitch), int(n.velocity)))
        events.append((off, 0, int(n.pitch), 0))
    events.sort(key=lambda e: (e[0], e[1]))  # note-offs before note-ons at the same tick
    now = 0
    for tick, is_on, pitch, vel in events:  # each message is built once, with its delta time
        tr.append(mido.Message("note_on" if is_on else "note_off", channel=channel,
                               note=pitch, velocity=vel, time=tick - now))
        now = tick
    tr.append(mido.MetaMessage("end_of_track", time=0))
    return tr


def build_midi(arr: Arrangement, chord_sound: int | None = None) -> mido.MidiFile:
    """The arrangement as a :class:`mido.MidiFile` (type 1); the chord track plays
    ``chord_sound`` (a GM program) or, without one, the pattern's (:func:`chord_program`)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name="musicapp chords", time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(arr.tempo_bpm), time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=arr.meter.numerator,
                                      denominator=arr.meter.denominator, time=0))
    conductor.append(mido.MetaMessage("key_signature", key=arr.key.mido_key(), time=0))
    now = 0
    for start, name in arr.markers:
        tick = round(start * TICKS_PER_BEAT)
        conductor.append(mido.MetaMessage("marker", text=name, time=tick - now))
        now = tick
    end = round(arr.total_beats * TICKS_PER_BEAT)
    conductor.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))
    mid.tracks.append(conductor)
    for name, notes in (("Chords", arr.chords), ("Bass", arr.bass), ("Melody", arr.melody)):
        ch, prog = TRACKS[name]
        if name == "Chords":
            prog = chord_program(arr.pattern, chord_sound)
        mid.tracks.append(_track(name, ch, prog, notes))
    return mid


def write_midi_file(mid: mido.MidiFile, path: str | os.PathLike[str], *, overwrite: bool = False,
                    fsync: bool = False) -> Path:
    """Write ``mid`` atomically with :func:`musicapp.outputs.write_atomically` (temp file in the
    same folder + ``os.replace``): a reader sees either the old file or the complete new one.
    ``fsync=True`` also flushes to disk before the rename (durability across a power cut; off by
    default because the GUI writes a file on every drag into a DAW).

    Raises :class:`~musicapp.errors.FileExistsRefusal` when ``path`` exists and ``overwrite`` is
    false, and :class:`~musicapp.errors.MusicappError` when the folder is missing or the file
    cannot be written (the previous file is kept).
    """

    def save(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            mid.save(file=fh)

    return write_atomically(path, save, overwrite=overwrite, kind="MIDI", fsync=fsync)


def write_midi(arr: Arrangement, path: str | os.PathLike[str], *, overwrite: bool = False,
               fsync: bool = False) -> Path:
    """Build and write the arrangement's MIDI file (see :func:`write_midi_file`)."""
    return write_midi_file(build_midi(arr), path, overwrite=overwrite, fsync=fsync)
