"""Analysis to the DAW: a type-1 MIDI file, a JAMS file and a CSV of beats, chords and key.

All three take the analysis JSON (``analyze_music(...).to_dict()`` or the flat
``TrackAnalysis.to_dict()``) so the CLI, the GUI and stored library analyses export the same.

* :func:`write_midi` – a conductor track with a tempo map from the beat grid (one tempo event
  per beat, so every MIDI beat lands on a detected beat and every note and marker sits at its
  time in seconds), the time signature, the key signature, markers for chord names and
  downbeats ("Bar 1" ...), and a "Chords" track of voiced block chords (bass note for
  inversions);
* :func:`write_jams` – beats (with their position in the bar), chords (Harte), key and tempo in
  the JAMS annotation format (the ``jams`` package, imported only here);
* :func:`write_csv` – ``type,start,end,value,confidence`` rows for beats, downbeats, chords, key.

The lead-in of the MIDI file. A MIDI file cannot start before its bar 1, and the audio and the
MIDI file are both placed at 0 s in a DAW, so whatever comes before the first downbeat (pickup
beats, silence) must be bars of its own. It is written the way a score writes an anacrusis: a
*partial pickup bar* with its own time signature (the pickup beats plus the time before them,
counted in beats of the track's tempo and rounded to a sixteenth: 1/8, 2/4, 7/16 ...), marked
"Pickup", followed by the track's meter from the first downbeat on. The lead-in keeps the track's
tempo (within the sixteenth's rounding), so a DAW's metronome and grid are right from the start;
notation programs (MuseScore, Sibelius, Dorico) read a short first bar as an anacrusis and number
the first full bar 1, which is where the "Bar 1" marker sits, and a DAW shows a short bar before
it. (Stretching the lead-in to a whole bar, as before, needed tempos up to 16 times the track's
and made the lead-in look like a bar of music.) A lead-in longer than a bar (an intro before the
first detected downbeat) becomes whole bars of the meter before the first downbeat, marked
"Lead-in", with the remainder as the partial first bar. A first beat less than a sixteenth after
the start makes the MIDI grid's first beat tick 0 (bar 1 beat 1, no sliver of a bar); notes and
markers keep their times in seconds there too (a chord at 46 ms is a few ticks after tick 0).

* :func:`write_jams` – beats (with their position in the bar), chords (Harte), key and tempo in
  the JAMS annotation format (the ``jams`` package, imported only here);
* :func:`write_csv` – ``type,start,end,value,confidence`` rows for beats, downbeats, chords, key.

Every writer refuses to overwrite an existing file unless ``overwrite=True`` and writes
atomically (:func:`musicapp.outputs.write_atomically`): the data goes to a temporary file in the
target's folder that is flushed and renamed into place, so a full disk or a crash leaves the
previous file intact and no partial file behind.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from musicapp.errors import MusicappError
from musicapp.outputs import check_output, write_atomically
from musicapp.pitch import BASS_DEGREES, PitchError, make_key, note_pc, parse_key

TICKS_PER_BEAT = 480
DEFAULT_BPM = 120.0
#: Harte quality -> semitones above the root.
CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9), "minmaj7": (0, 3, 7, 11), "maj6": (0, 4, 7, 9), "min6": (0, 3, 7, 9),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "9": (0, 4, 7, 10, 14), "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14), "1": (0,), "5": (0, 7),
}


def chord_notes(label: str, low: int = 52) -> list[int]:
    """MIDI notes of a voiced block chord for a Harte label (``[]`` for N/X or unknown labels).

    The chord tones sit in close position from ``low`` upwards; the bass (root, or the Harte
    bass degree for inversions) is an octave below the lowest chord tone.
    """
    if not label or label in ("N", "X"):
        return []
    root_text, _, rest = label.partition(":")
    quality, _, bass = (rest or "maj").partition("/")
    try:
        root = note_pc(root_text)
    except PitchError:
        return []
    intervals = CHORD_INTERVALS.get(quality or "maj")
    if intervals is None:
        return []
    base = low + ((root - low) % 12)
    notes = [base + i for i in intervals]
    bass_pc = (root + BASS_DEGREES.get(bass, 0)) % 12 if bass else root
    bass_note = base - 12 - ((base - bass_pc) % 12)
    return sorted({bass_note, *notes})


class _TimeMap:
    """Seconds <-> MIDI ticks along the beat grid, with MIDI bar lines on the music's bar lines.

    Every detected beat lands on a whole MIDI beat and the first downbeat on a bar line. The
    lead-in before the first downbeat (pickup beats, and the time before the first beat counted
    in beats of the track's median period, rounded to a sixteenth) keeps the track's tempo: when it
    is shorter than a bar it is one partial pickup bar (:attr:`pickup_beats` long, with its own
    time signature), when longer it is whole bars of the meter right before the first downbeat
    with the remainder as a partial first bar. A first beat less than a quarter of a beat after
    the start is put at tick 0, so a song starting on its downbeat starts on bar 1 beat 1 instead
    of after a sliver of a beat. Without downbeats the first beat is taken as the first downbeat.
    After the last beat the tempo stays at the median beat period.
    """

    def __init__(self, beats: list[float], fallback_bpm: float | None,
                 downbeats: list[float] | None = None, per_bar: int = 4) -> None:
        b = np.unique(np.asarray([x for x in beats if np.isfinite(x) and x >= 0], dtype=float))
        if b.size >= 2:
            self.period = float(np.median(np.diff(b)))
        else:
            self.period = 60.0 / (fallback_bpm or DEFAULT_BPM)
            b = np.zeros(0)
        self.beats = b
        self.per_bar = max(1, int(per_bar))
        #: length of the partial first bar in beats (0: the file starts with a whole bar)
        self.pickup_beats = 0.0
        #: whole bars of the meter between the partial bar and the first downbeat
        self.lead_bars = 0
        times: list[float] = [0.0]
        positions: list[float] = [0.0]
        self._first_beat_position = 0.0  # grid position of beats[0] (beat i: that + i)
        if b.size:
            downs = [d for d in downbeats or [] if np.isfinite(d)]
            first_down = min(downs) if downs else float(b[0])
            pickups = int(np.sum(b < first_down - 1e-3))
            if b[0] < 0.25 * self.period:
                before = 0.0  # the first beat is (within a sixteenth) the start: tick 0
            else:
                before = max(0.25, round(4.0 * b[0] / self.period) / 4.0)
            lead = pickups + before  # MIDI beats before the first downbeat, in sixteenths
            self.lead_bars = int(lead // self.per_bar)
            self.pickup_beats = lead - self.lead_bars * self.per_bar
            start = lead - pickups  # MIDI beat of the first detected beat
            self._first_beat_position = float(start)
            for i, t in enumerate(b):
                if i == 0 and start == 0:
                    continue  # the first beat is at tick 0 already (its events keep their time)
                times.append(float(t))
                positions.append(float(start + i))
        self.times = np.asarray(times)
        self.positions = np.asarray(positions)

    def time_signatures(self, numerator: int, denominator: int) -> list[tuple[int, int, int]]:
        """(tick, numerator, denominator): the pickup bar's own signature at tick 0 when there
        is one (its length in the meter's beats: 1/8, 2/4, 7/16 ...), then the meter."""
        if not self.pickup_beats:
            return [(0, numerator, denominator)]
        for scale in (1, 2, 4):
            n = self.pickup_beats * scale
            if abs(n - round(n)) < 1e-9:
                break
        return [(0, int(round(n)), denominator * scale),
                (int(round(self.pickup_beats * TICKS_PER_BEAT)), numerator, denominator)]

    def beat_position(self, t: float) -> float:
        """Position of time ``t`` in MIDI beats from the start."""
        if t >= self.times[-1]:
            return float(self.positions[-1] + (t - self.times[-1]) / self.period)
        return float(np.interp(t, self.times, self.positions))

    def beat_tick(self, t: float) -> int:
        """MIDI tick of the grid beat that detected beat ``t`` was put on (a first beat within
        a sixteenth of the start sounds a few ticks after its grid beat at tick 0); the plain
        :meth:`tick` for a time that is not a detected beat."""
        if self.beats.size:
            i = int(np.argmin(np.abs(self.beats - t)))
            if abs(self.beats[i] - t) < 1e-3:
                return int(round((self._first_beat_position + i) * TICKS_PER_BEAT))
        return self.tick(t)

    def tick(self, t: float) -> int:
        """MIDI tick of time ``t``."""
        return int(round(self.beat_position(max(0.0, t)) * TICKS_PER_BEAT))

    def tempo_events(self) -> list[tuple[int, float]]:
        """(tick, bpm) tempo changes reproducing the beat grid."""
        events: list[tuple[int, float]] = []
        for i in range(self.times.size - 1):
            span = float(self.times[i + 1] - self.times[i])
            beats = float(self.positions[i + 1] - self.positions[i])
            events.append((int(round(self.positions[i] * TICKS_PER_BEAT)), 60.0 * beats / span))
        events.append((int(round(self.positions[-1] * TICKS_PER_BEAT)), 60.0 / self.period))
        out: list[tuple[int, float]] = []
        for tick, bpm in events:
            if out and out[-1][0] == tick:
                out[-1] = (tick, bpm)
            elif not out or abs(out[-1][1] - bpm) > 1e-6:
                out.append((tick, bpm))
        return out


def _key_of(result: dict[str, Any]):
    key = result.get("key")
    if not key:
        return None
    try:
        return parse_key(key)
    except PitchError:
        return None


def write_midi(result: dict[str, Any], path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the analysis as a type-1 MIDI file (see the module documentation)."""
    import mido

    out = check_output(path, overwrite=overwrite)
    meter = result.get("meter") or "4/4"
    num, _, den = str(meter).partition("/")
    downbeats = [float(d) for d in result.get("downbeats") or []]
    tm = _TimeMap(result.get("beats") or [], result.get("tempo_bpm"), downbeats, int(num or 4))
    conductor: list[tuple[int, int, mido.MetaMessage]] = []  # (tick, order, message)
    for tick, bpm in tm.tempo_events():
        conductor.append((tick, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    # the meter, after the pickup bar's own signature when the lead-in is not whole bars
    for tick, n, d in tm.time_signatures(int(num or 4), int(den or 4)):
        conductor.append((tick, 1, mido.MetaMessage("time_signature", numerator=n, denominator=d)))
    if tm.lead_bars:
        conductor.append((0, 3, mido.MetaMessage("marker", text="Lead-in")))
    elif tm.pickup_beats:
        conductor.append((0, 3, mido.MetaMessage("marker", text="Pickup")))
    key = _key_of(result)
    if key is not None:
        conductor.append((0, 2, mido.MetaMessage("key_signature", key=make_key(key.pc, key.mode).short)))
    for i, d in enumerate(downbeats):  # on the bar line, which is the downbeat's grid beat
        conductor.append((tm.beat_tick(d), 3, mido.MetaMessage("marker", text=f"Bar {i + 1}")))
    chord_events: list[tuple[int, int, mido.Message]] = []
    for c in result.get("chords") or []:
        label = c.get("label", "N")
        if label in ("N", "X"):
            continue
        a, b = tm.tick(float(c["start"])), tm.tick(float(c["end"]))
        if b <= a:
            continue
        conductor.append((a, 4, mido.MetaMessage("marker", text=c.get("symbol") or label)))
        for n in chord_notes(label):
            chord_events.append((a, 1, mido.Message("note_on", channel=0, note=n, velocity=80)))
            chord_events.append((b, 0, mido.Message("note_off", channel=0, note=n, velocity=0)))

    def track(name: str, events: list[tuple[int, int, Any]]) -> mido.MidiTrack:
        t = mido.MidiTrack()
        t.append(mido.MetaMessage("track_name", name=name, time=0))
        now = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            t.append(msg.copy(time=tick - now))
            now = tick
        t.append(mido.MetaMessage("end_of_track", time=0))
        return t

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(track("musicapp analysis", conductor))
    chords_track = track("Chords", chord_events)
    chords_track.insert(1, mido.Message("program_change", channel=0, program=0, time=0))
    mid.tracks.append(chords_track)

    def save(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            mid.save(file=fh)

    return write_atomically(out, save, overwrite=overwrite, kind="MIDI")


def _bar_positions(beats: list[float], downbeats: list[float], meter: str | None) -> list[int]:
    """1-based position of each beat in its bar (1 on downbeats; 0 when there are no
    downbeats). Beats before the first downbeat count back from the end of a bar."""
    per_bar = int(str(meter or "4/4").partition("/")[0] or 4)
    if not downbeats:
        return [0 for _ in beats]
    b = np.asarray(beats, dtype=float)
    is_down = np.array([np.min(np.abs(np.asarray(downbeats) - t)) < 1e-3 for t in b])
    first = int(np.argmax(is_down)) if is_down.any() else 0
    out, pos = [], 0
    for i in range(b.size):
        if i < first:
            out.append(((per_bar - (first - i)) % per_bar) + 1)
            continue
        pos = 1 if is_down[i] else pos + 1
        out.append(pos)
    return out


def write_csv(result: dict[str, Any], path: str | Path, *, overwrite: bool = False) -> Path:
    """CSV rows ``type,start,end,value,confidence``: beat (value = position in the bar),
    downbeat, chord (Harte label), key (name; one row per key-timeline segment), tempo."""
    out = check_output(path, overwrite=overwrite)
    beats = [float(b) for b in result.get("beats") or []]
    downbeats = [float(b) for b in result.get("downbeats") or []]
    rows: list[list[Any]] = []
    for t, pos in zip(beats, _bar_positions(beats, downbeats, result.get("meter")), strict=True):
        rows.append(["beat", f"{t:.3f}", "", pos, ""])
    rows += [["downbeat", f"{t:.3f}", "", "", ""] for t in downbeats]
    for c in result.get("chords") or []:
        rows.append(["chord", f"{float(c['start']):.3f}", f"{float(c['end']):.3f}", c["label"], ""])
    key = result.get("key")
    if key:
        segs = result.get("key_timeline") or []
        for s in segs:
            rows.append(["key", f"{float(s['start']):.3f}", f"{float(s['end']):.3f}",
                         f"{s['tonic']} {s['mode']}", s.get("confidence", "")])
        if not segs:
            rows.append(["key", "", "", f"{key['tonic']} {key['mode']}", key.get("confidence", "")])
    if result.get("tempo_bpm"):
        for s in result.get("tempo_segments") or [{"start": 0.0, "end": "",
                                                   "bpm": result["tempo_bpm"]}]:
            rows.append(["tempo", s["start"], s["end"], s["bpm"], result.get("tempo_confidence", "")])

    def save(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["type", "start", "end", "value", "confidence"])
            w.writerows(rows)

    return write_atomically(out, save, overwrite=overwrite, kind="CSV")


def write_jams(result: dict[str, Any], path: str | Path, *, duration: float | None = None,
               title: str | None = None, overwrite: bool = False) -> Path:
    """A JAMS file with beat, chord, key_mode and tempo annotations (needs the ``jams`` package)."""
    out = check_output(path, overwrite=overwrite)
    try:
        import jams
    except ImportError as exc:  # an optional part of the install
        raise MusicappError("JAMS export needs the 'jams' package (pip install jams)") from exc
    dur = float(duration if duration is not None else result.get("duration_s") or 0.0)
    if dur <= 0:
        ends = [float(c["end"]) for c in result.get("chords") or []] + list(result.get("beats") or [])
        dur = max(ends, default=0.0)
    jam = jams.JAMS()
    jam.file_metadata.duration = dur
    # the file's name, not the folder it sits in on this machine
    jam.file_metadata.title = title or Path(str(result.get("path") or "")).stem
    meta = {"annotation_tools": "musicapp.analysis"}
    beats = [float(b) for b in result.get("beats") or []]
    downbeats = [float(b) for b in result.get("downbeats") or []]
    ann = jams.Annotation(namespace="beat_position" if downbeats else "beat", duration=dur)
    per_bar = int(str(result.get("meter") or "4/4").partition("/")[0] or 4)
    for t, pos in zip(beats, _bar_positions(beats, downbeats, result.get("meter")), strict=True):
        if downbeats:
            ann.append(time=t, duration=0.0, value={"position": max(1, min(pos, per_bar)),
                                                    "measure": 0, "num_beats": per_bar,
                                                    "beat_units": 4})
        else:
            ann.append(time=t, duration=0.0, value=None)
    ann.annotation_metadata.annotation_tools = meta["annotation_tools"]
    jam.annotations.append(ann)
    ann = jams.Annotation(namespace="chord", duration=dur)
    for c in result.get("chords") or []:
        a, b = float(c["start"]), float(c["end"])
        if b > a:
            ann.append(time=a, duration=b - a, value=c["label"])
    jam.annotations.append(ann)
    key = result.get("key")
    if key:
        ann = jams.Annotation(namespace="key_mode", duration=dur)
        segs = result.get("key_timeline") or [{"start": 0.0, "end": dur, **key}]
        for s in segs:
            a, b = float(s["start"]), float(s["end"])
            ann.append(time=a, duration=max(0.0, b - a), value=f"{s['tonic']}:{s['mode']}",
                       confidence=s.get("confidence"))
        jam.annotations.append(ann)
    if result.get("tempo_bpm"):
        ann = jams.Annotation(namespace="tempo", duration=dur)
        ann.append(time=0.0, duration=dur, value=float(result["tempo_bpm"]),
                   confidence=float(result.get("tempo_confidence") or 0.0))
        jam.annotations.append(ann)
    return write_atomically(out, lambda tmp: jam.save(tmp, strict=False), overwrite=overwrite, kind="JAMS")
