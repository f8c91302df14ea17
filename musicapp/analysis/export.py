"""Analysis to the DAW: a type-1 MIDI file, a JAMS file and a CSV of beats, chords and key.

All three take the analysis JSON (``analyze_music(...).to_dict()`` or the flat
``TrackAnalysis.to_dict()``) so the CLI, the GUI and stored library analyses export the same.

* :func:`write_midi` – a conductor track with a tempo map from the fitted tempo segments (one
  tempo event per constant-tempo segment, its grid anchored so that the detected beats scatter
  around it in the least-squares sense; per-beat events only inside a segment whose beats drift
  away from a constant grid, see :func:`grid_times`), the time signature, the key signature,
  markers for chord names and downbeats ("Bar 1" ...), a key signature at each confident key
  change of the key timeline (:func:`key_changes`), and a "Chords" track of voiced block
  chords (bass note for inversions); chords and markers are placed from their times in seconds;
* :func:`write_jams` – beats (with their position in the bar), chords (Harte), the whole-track
  key and the supported local keys, and one tempo per segment in the JAMS annotation format (the
  ``jams`` package, imported only here);
* :func:`write_csv` – ``type,start,end,value,confidence`` rows for beats, downbeats, chords, the
  whole-track key, supported local keys and tempo segments.

No steady beat (``tempo_bpm`` null, e.g. "no steady beat (free time or rubato)"): the exports say
the same. No beats, downbeats, meter or tempo rows in the CSV, an empty beat annotation and no
tempo in the JAMS file, and a MIDI file with one neutral tempo event (120 BPM, which the format
needs; MIDI beats are then half-seconds, no bars or time signature), chords and key at their
times in seconds. A key below ``key_report.NO_CLEAR_KEY`` ("no clear key") gets no MIDI key
signature.

The lead-in of the MIDI file. A MIDI file cannot start before its bar 1, and the audio and the
MIDI file are both placed at 0 s in a DAW, so whatever comes before the first downbeat (pickup
beats, silence) must be bars of its own. It is written the way a score writes an anacrusis: a
*partial pickup bar* with its own time signature (the pickup beats plus the time before them,
counted in beats of the track's tempo and rounded to whole beats: 1/4, 2/4, 3/4 ...), marked
"Pickup", followed by the track's meter from the first downbeat on. The lead-in keeps the track's
tempo (within the rounding to a whole beat: the lead-in tempo event of the tempo map makes the
rounded beats last exactly the time before the first beat, so bar 1's downbeat stays exactly on
the audio's first downbeat; a 1.75-beat lead-in is a 2/4 bar a little slower than the track),
so a DAW's metronome and grid are right from the start;
notation programs (MuseScore, Sibelius, Dorico) read a short first bar as an anacrusis and number
the first full bar 1, which is where the "Bar 1" marker sits, and a DAW shows a short bar before
it. (Stretching the lead-in to a whole bar, as before, needed tempos up to 16 times the track's
and made the lead-in look like a bar of music.) Why a short bar and not a whole one: the file's
time 0 must stay the audio's time 0 (a DAW puts both at the start of the project, and any shift
would have to be undone by hand on every import), and the tempo must stay the track's; a whole
first bar of the meter at that tempo would then put the first downbeat on its beat 2, 3 or 4
and every later bar line off the music's. So a 3-beat lead-in in 4/4 is a 3/4 bar (a 1-beat one
1/4), which is how a score writes an anacrusis and how notation programs export one. (Rounding
to a sixteenth, as before, gave lead-in bars of 7/16 or 5/8, which a musician finds odd: a bar
counts whole beats, and a pickup of a beat and three quarters is written as two beats.)
Logic, Cubase, Studio One and Reaper take the signature change into their signature track, and
the "Pickup" marker says what the short bar is. A lead-in longer than a bar (an intro before the
first detected downbeat) becomes whole bars of the meter before the first downbeat, marked
"Lead-in", with the remainder as the partial first bar. A first beat less than a sixteenth after
the start makes the MIDI grid's first beat tick 0 (bar 1 beat 1, no sliver of a bar); notes and
markers keep their times in seconds there too (a chord at 46 ms is a few ticks after tick 0).

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

from musicapp.analysis.key_report import is_clear
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


#: A tempo segment is written as one tempo event unless the running median (over
#: :data:`DRIFT_WINDOW` beats) of its beats' distance from the constant grid exceeds this many
#: beats: then the tempo drifts inside the segment (rubato, a gradual change the segmentation
#: does not split) and that segment gets one tempo event per beat. Single jittery beats (POP909
#: 113: up to 72 ms = 0.09 beat) do not count.
MAX_DRIFT_BEATS = 0.15
DRIFT_WINDOW = 5
#: The lead-in before the first beat is a whole number of beats at the first segment's
#: tempo. When the least-squares grid is no further from such a lead-in than the beats' own
#: scatter around it (RMS; moving it there raises that RMS by at most a factor sqrt 2) and at
#: most this far, the grid is moved onto it, so the file has no separate lead-in tempo (a DAW
#: and ``chords --from-midi`` read the segment's tempo from tick 0); otherwise (exact beats, a
#: larger shift) the lead-in gets its own tempo event and the grid stays where the beats are.
SNAP_LEAD_IN_S = 0.05
#: A chord or key change this close (seconds) to a detected beat is written on that beat's tick
#: (chord boundaries come from analysis frames, a few ms off the beats they follow).
SNAP_TO_BEAT_S = 0.03


def tempo_segments_of(result: dict[str, Any], beats: np.ndarray) -> list[tuple[float, float]]:
    """(start s, bpm) of each constant-tempo stretch: the analysis' ``tempo_segments``, or (an
    analysis stored without them) :func:`musicapp.analysis.grid.fit_grid` on its beats."""
    segs = [(float(s["start"]), float(s["bpm"])) for s in result.get("tempo_segments") or []
            if s.get("bpm") and float(s["bpm"]) > 0]
    if segs:
        return sorted(segs)
    from musicapp.analysis.grid import fit_grid

    fit = fit_grid(beats) if beats.size >= 4 else None
    return [] if fit is None else [(s.start, s.bpm) for s in fit.segments]


def grid_times(beats: np.ndarray, segments: list[tuple[float, float]]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The beat grid of the tempo segments: (beat numbers, grid times, per-beat periods, mask of
    the beats on the constant grid).

    Beat numbers count the intervals in periods of their segment (a skipped beat counts 2).
    The grid runs at each segment's tempo from the beat where the segment starts, continuous
    across segments, and its one offset is the least-squares fit to the beats (the mean of beat
    time minus grid time), so the beats scatter around it instead of the grid following them.
    A segment whose beats drift away from it (see :data:`MAX_DRIFT_BEATS`) keeps its beat times.
    """
    b = np.asarray(beats, dtype=float)
    starts = np.asarray([s for s, _ in segments] or [0.0])
    periods = np.asarray([60.0 / bpm for _, bpm in segments] or [1.0])

    def seg_of(t: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(starts, t + 1e-6, side="right") - 1, 0, starts.size - 1)

    mids = seg_of(0.5 * (b[:-1] + b[1:]))
    steps = np.maximum(1, np.round(np.diff(b) / periods[mids])).astype(int)
    idx = np.concatenate([[0], np.cumsum(steps)])
    rel = np.concatenate([[0.0], np.cumsum(steps * periods[mids])])  # grid time - offset
    grid = rel + float(np.mean(b - rel))
    beat_period = periods[seg_of(b)]
    resid = (b - grid) / beat_period
    w = min(DRIFT_WINDOW, b.size)
    if w >= 3:
        from numpy.lib.stride_tricks import sliding_window_view

        med = np.median(sliding_window_view(resid, w), axis=1)
        drift = np.zeros(b.size)
        for i, m in enumerate(med):  # each beat: the largest running median over it
            drift[i:i + w] = np.maximum(drift[i:i + w], abs(m))
        segs = seg_of(b)
        for k in np.unique(segs[drift > MAX_DRIFT_BEATS]):
            grid[segs == k] = b[segs == k]
    on_grid = grid != b
    if b.size >= 2 and np.any(np.diff(grid) <= 0):  # cannot happen with positive periods
        grid, on_grid = b.copy(), np.zeros(b.size, bool)
    return idx, grid, beat_period, on_grid


class _TimeMap:
    """Seconds <-> MIDI ticks along the beat grid, with MIDI bar lines on the music's bar lines.

    The grid is that of the tempo segments (:func:`grid_times`): one tempo per segment, every
    detected beat on (or, by its jitter, near) a whole MIDI beat, and the first downbeat on a
    bar line. The lead-in before the first downbeat (pickup beats, and the time before the first
    beat counted in beats of the first segment's tempo, rounded to whole beats, at least one, with
    a lead-in tempo event making them last exactly that time) keeps that tempo:
    when it is shorter than a bar it is one partial pickup bar (:attr:`pickup_beats` long, with
    its own time signature), when longer it is whole bars of the meter right before the first
    downbeat with the remainder as a partial first bar. A first beat less than a quarter of a
    beat after the start is put at tick 0, so a song starting on its downbeat starts on bar 1
    beat 1 instead of after a sliver of a beat. Without downbeats the first beat is taken as the
    first downbeat. After the last beat the tempo stays at the last segment's. Without beats the
    map is one tempo (``fallback_bpm`` or 120 BPM) from the start, so ticks are seconds.
    """

    def __init__(self, beats: list[float], fallback_bpm: float | None,
                 downbeats: list[float] | None = None, per_bar: int = 4,
                 segments: list[tuple[float, float]] | None = None) -> None:
        b = np.unique(np.asarray([x for x in beats if np.isfinite(x) and x >= 0], dtype=float))
        if b.size >= 2:
            segs = segments or [(0.0, 60.0 / float(np.median(np.diff(b))))]
            idx, grid, beat_period, on_grid = grid_times(b, segs)
            self.period = float(beat_period[0])
            self.end_period = float(beat_period[-1])
        else:
            self.period = self.end_period = 60.0 / (fallback_bpm or DEFAULT_BPM)
            b = np.zeros(0)
            idx, grid, on_grid = np.zeros(0, int), np.zeros(0), np.zeros(0, bool)
        self.beats = b
        self.per_bar = max(1, int(per_bar))
        #: length of the partial first bar in beats (0: the file starts with a whole bar)
        self.pickup_beats = 0.0
        #: whole bars of the meter between the partial bar and the first downbeat
        self.lead_bars = 0
        times: list[float] = [0.0]
        positions: list[float] = [0.0]
        self._beat_positions = np.zeros(0)  # grid position of each detected beat
        if b.size:
            downs = [d for d in downbeats or [] if np.isfinite(d)]
            first_down = min(downs) if downs else float(b[0])
            pickups = int(idx[int(np.argmin(np.abs(b - first_down)))]) if downs else 0
            first = float(grid[0])
            if first < 0.25 * self.period:
                before = 0.0  # the first beat is (within a sixteenth) the start: tick 0
            else:  # whole beats; the lead-in's own tempo event makes them last ``first``
                before = float(max(1, round(first / self.period)))
            shift = before * self.period - first
            scatter = float(np.sqrt(np.mean((b - grid)[on_grid] ** 2))) if on_grid.any() else 0.0
            self.scatter_s, self.lead_in_shift_s = scatter, shift
            if abs(shift) <= min(SNAP_LEAD_IN_S, scatter) and on_grid[0]:  # see SNAP_LEAD_IN_S
                grid = np.where(on_grid, grid + shift, grid)
                if np.any(np.diff(grid) <= 0):
                    grid = grid - np.where(on_grid, shift, 0.0)
            lead = pickups + before  # MIDI beats before the first downbeat, whole beats
            self.lead_bars = int(lead // self.per_bar)
            self.pickup_beats = lead - self.lead_bars * self.per_bar
            start = lead - pickups  # MIDI beat of the first detected beat
            self._beat_positions = start + idx.astype(float)
            for i, t in enumerate(grid):
                if i == 0 and start == 0:
                    continue  # the first beat is at tick 0 already (its events keep their time)
                times.append(float(t))
                positions.append(float(self._beat_positions[i]))
        self.times = np.asarray(times)
        self.positions = np.asarray(positions)

    def time_signatures(self, numerator: int, denominator: int) -> list[tuple[int, int, int]]:
        """(tick, numerator, denominator): the pickup bar's own signature at tick 0 when there
        is one (its length in whole beats of the meter: 1/4, 2/4, 3/4 ...), then the meter."""
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
            return float(self.positions[-1] + (t - self.times[-1]) / self.end_period)
        return float(np.interp(t, self.times, self.positions))

    def beat_tick(self, t: float) -> int:
        """MIDI tick of the grid beat that detected beat ``t`` belongs to (bar lines and "Bar"
        markers sit there, though the beat itself may sound a few ms off the constant grid);
        the plain :meth:`tick` for a time that is not a detected beat."""
        if self.beats.size:
            i = int(np.argmin(np.abs(self.beats - t)))
            if abs(self.beats[i] - t) < 1e-3:
                return int(round(self._beat_positions[i] * TICKS_PER_BEAT))
        return self.tick(t)

    def snap_tick(self, t: float) -> int:
        """MIDI tick of time ``t``, on the grid beat of a detected beat within
        :data:`SNAP_TO_BEAT_S` of it: a chord or key change found a few ms off a beat (frame
        rounding: "Bar 2" at 5.362 s, "Bbm" at 5.364 s) sits on that beat or bar line, not
        2-4 ticks after it."""
        if self.beats.size:
            i = int(np.argmin(np.abs(self.beats - t)))
            if abs(self.beats[i] - t) <= SNAP_TO_BEAT_S:
                return int(round(self._beat_positions[i] * TICKS_PER_BEAT))
        return self.tick(t)

    def tick(self, t: float) -> int:
        """MIDI tick of time ``t``."""
        return int(round(self.beat_position(max(0.0, t)) * TICKS_PER_BEAT))

    def tempo_events(self) -> list[tuple[int, float]]:
        """(tick, bpm) tempo changes reproducing the grid (one per constant stretch)."""
        events: list[tuple[int, float]] = []
        for i in range(self.times.size - 1):
            span = float(self.times[i + 1] - self.times[i])
            beats = float(self.positions[i + 1] - self.positions[i])
            events.append((int(round(self.positions[i] * TICKS_PER_BEAT)), 60.0 * beats / span))
        events.append((int(round(self.positions[-1] * TICKS_PER_BEAT)), 60.0 / self.end_period))
        out: list[tuple[int, float]] = []
        for tick, bpm in events:
            if out and out[-1][0] == tick:
                out[-1] = (tick, bpm)
            elif not out or abs(out[-1][1] - bpm) > 1e-6 * bpm:
                out.append((tick, bpm))
        return out


def has_tempo(result: dict[str, Any]) -> bool:
    """Whether the analysis found a steady beat (``tempo_bpm``); without one the exports carry
    no beats, downbeats, meter or tempo map."""
    bpm = result.get("tempo_bpm")
    return bool(bpm) and float(bpm) > 0


def _clear_key(result: dict[str, Any]) -> bool:
    """Whether the analysis names its key (a key without a confidence, e.g. typed in, counts)."""
    key = result.get("key")
    conf = key.get("confidence") if isinstance(key, dict) else None
    return conf is None or is_clear(conf)


def _key_of(result: dict[str, Any]):
    key = result.get("key")
    if not key:
        return None
    try:
        return parse_key(key)
    except PitchError:
        return None


def key_changes(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The confident key changes of the key timeline: each supported local key (see
    :func:`local_keys`) whose key differs from the one before, as its timeline segment. The
    key before the first change is the whole-track key (or a supported local key starting the
    track, which is then the first entry with ``start`` 0). Empty for a one-key track."""
    local = local_keys(result)
    key = result.get("key")
    current = (key.get("name") or f"{key.get('tonic')} {key.get('mode')}") if isinstance(
        key, dict) else None
    out = []
    for s in local:
        name = s.get("name") or f"{s.get('tonic')} {s.get('mode')}"
        if name != current:
            out.append(s)
            current = name
    return out


def write_midi(result: dict[str, Any], path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the analysis as a type-1 MIDI file (see the module documentation)."""
    import mido

    out = check_output(path, overwrite=overwrite)
    steady = has_tempo(result)
    meter = (result.get("meter") or "4/4") if steady else None
    num, _, den = str(meter or "4/4").partition("/")
    # no steady beat: no beats, bars or meter; one neutral tempo (120 BPM), so ticks are seconds
    beats = [float(b) for b in result.get("beats") or []] if steady else []
    downbeats = [float(d) for d in result.get("downbeats") or []] if steady else []
    segments = tempo_segments_of(result, np.unique(np.asarray(beats, dtype=float))) if steady else []
    tm = _TimeMap(beats, None, downbeats, int(num or 4), segments)
    conductor: list[tuple[int, int, mido.MetaMessage]] = []  # (tick, order, message)
    for tick, bpm in tm.tempo_events():
        conductor.append((tick, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    # the meter, after the pickup bar's own signature when the lead-in is not whole bars
    for tick, n, d in tm.time_signatures(int(num or 4), int(den or 4)) if meter else []:
        conductor.append((tick, 1, mido.MetaMessage("time_signature", numerator=n, denominator=d)))
    if tm.lead_bars:
        conductor.append((0, 3, mido.MetaMessage("marker", text="Lead-in")))
    elif tm.pickup_beats:
        conductor.append((0, 3, mido.MetaMessage("marker", text="Pickup")))
    key = _key_of(result)
    if key is not None and _clear_key(result):
        # no key signature for "no clear key" (a best guess below key_report.NO_CLEAR_KEY)
        conductor.append((0, 2, mido.MetaMessage("key_signature", key=make_key(key.pc, key.mode).short)))
    for change in key_changes(result):  # a key signature at each confident modulation
        try:
            local = parse_key(change)
        except PitchError:
            continue
        tick = 0 if float(change["start"]) <= 0 else tm.snap_tick(float(change["start"]))
        conductor = [e for e in conductor if not (e[0] == tick and e[1] == 2)]
        conductor.append((tick, 2, mido.MetaMessage("key_signature",
                                                    key=make_key(local.pc, local.mode).short)))
        conductor.append((tick, 4, mido.MetaMessage("marker", text=f"Key: {local.name}")))
    for i, d in enumerate(downbeats):  # on the bar line, which is the downbeat's grid beat
        conductor.append((tm.beat_tick(d), 3, mido.MetaMessage("marker", text=f"Bar {i + 1}")))
    chord_events: list[tuple[int, int, mido.Message]] = []
    for c in result.get("chords") or []:
        label = c.get("label", "N")
        if label in ("N", "X"):
            continue
        a, b = tm.snap_tick(float(c["start"])), tm.snap_tick(float(c["end"]))
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


def _duration(result: dict[str, Any]) -> float:
    """The track's length: ``duration_s``, else the end of the last chord or beat."""
    dur = float(result.get("duration_s") or 0.0)
    if dur <= 0:
        ends = [float(c["end"]) for c in result.get("chords") or []] + [
            float(b) for b in result.get("beats") or []]
        dur = max(ends, default=0.0)
    return dur


#: A local key (``key_timeline`` segment) below this confidence has no support of its own and
#: is left out of the CSV and JAMS exports (temple.ogg had eight, down to 0.007); the whole-track
#: key is always written, with its confidence.
MIN_LOCAL_KEY_CONFIDENCE = 0.15


def local_keys(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The key-timeline segments worth exporting: none when the timeline is the one global key,
    else those with a confidence of at least :data:`MIN_LOCAL_KEY_CONFIDENCE`."""
    segs = result.get("key_timeline") or []
    if len(segs) <= 1:
        return []
    return [s for s in segs if float(s.get("confidence") or 0.0) >= MIN_LOCAL_KEY_CONFIDENCE]


def write_csv(result: dict[str, Any], path: str | Path, *, overwrite: bool = False) -> Path:
    """CSV rows ``type,start,end,value,confidence``: beat (value = position in the bar) and
    downbeat (only when the analysis found a steady beat), chord (Harte label), key (the
    whole-track key, start 0 to the end), local_key (key-timeline segments with support, see
    :func:`local_keys`), tempo (one row per tempo segment, only with a steady beat)."""
    out = check_output(path, overwrite=overwrite)
    steady = has_tempo(result)
    beats = [float(b) for b in result.get("beats") or []] if steady else []
    downbeats = [float(b) for b in result.get("downbeats") or []] if steady else []
    rows: list[list[Any]] = []
    for t, pos in zip(beats, _bar_positions(beats, downbeats, result.get("meter")), strict=True):
        rows.append(["beat", f"{t:.3f}", "", pos, ""])
    rows += [["downbeat", f"{t:.3f}", "", "", ""] for t in downbeats]
    for c in result.get("chords") or []:
        rows.append(["chord", f"{float(c['start']):.3f}", f"{float(c['end']):.3f}", c["label"], ""])
    key = result.get("key")
    if isinstance(key, dict) and key.get("tonic"):
        rows.append(["key", "0.000", f"{_duration(result):.3f}", f"{key['tonic']} {key['mode']}",
                     key.get("confidence", "")])
    elif key:
        rows.append(["key", "0.000", f"{_duration(result):.3f}", str(key), ""])
    for s in local_keys(result) if key else []:
        rows.append(["local_key", f"{float(s['start']):.3f}", f"{float(s['end']):.3f}",
                     f"{s['tonic']} {s['mode']}", s.get("confidence", "")])
    if steady:
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
    dur = float(duration) if duration is not None and duration > 0 else _duration(result)
    steady = has_tempo(result)
    jam = jams.JAMS()
    jam.file_metadata.duration = dur
    # the file's name, not the folder it sits in on this machine
    jam.file_metadata.title = title or Path(str(result.get("path") or "")).stem
    meta = {"annotation_tools": "musicapp.analysis"}
    # no steady beat: an empty beat annotation (the analysis' answer), no tempo annotation
    beats = [float(b) for b in result.get("beats") or []] if steady else []
    downbeats = [float(b) for b in result.get("downbeats") or []] if steady else []
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
    if isinstance(key, dict) and key.get("tonic"):
        # the whole-track key, then (a second key_mode annotation) the supported local keys
        ann = jams.Annotation(namespace="key_mode", duration=dur)
        ann.append(time=0.0, duration=dur, value=f"{key['tonic']}:{key['mode']}",
                   confidence=key.get("confidence"))
        ann.sandbox.update(scope="track")
        jam.annotations.append(ann)
        local = local_keys(result)
        if local:
            ann = jams.Annotation(namespace="key_mode", duration=dur)
            for s in local:
                a, b = float(s["start"]), float(s["end"])
                ann.append(time=a, duration=max(0.0, b - a), value=f"{s['tonic']}:{s['mode']}",
                           confidence=s.get("confidence"))
            ann.sandbox.update(scope="local")
            jam.annotations.append(ann)
    if steady:
        ann = jams.Annotation(namespace="tempo", duration=dur)
        segs = result.get("tempo_segments") or [{"start": 0.0, "end": dur,
                                                 "bpm": result["tempo_bpm"]}]
        for i, s in enumerate(segs):  # one observation per constant-tempo stretch
            a = 0.0 if i == 0 else float(s["start"])
            b = dur if i == len(segs) - 1 else float(segs[i + 1]["start"])
            ann.append(time=a, duration=max(0.0, b - a), value=float(s["bpm"]),
                       confidence=float(result.get("tempo_confidence") or 0.0))
        jam.annotations.append(ann)
    return write_atomically(out, lambda tmp: jam.save(tmp, strict=False), overwrite=overwrite, kind="JAMS")
