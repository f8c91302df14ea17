"""Read a MIDI clip (e.g. exported from a DAW): its notes, meter, tempo, key and chords.

* Notes come from every channel except General MIDI's drum channel (10); a clip with no notes,
  or with drum notes only, is refused with a clear message. A clip longer than
  :data:`MAX_CLIP_BEATS` or with more than :data:`MAX_CLIP_NOTES` notes is refused (a huge delta
  time would otherwise make recognition run for hours); trailing events after the last note
  that would make it that long (a far-away marker or end of track) are ignored, and said so.
* Positions are counted in beats from the file's ticks, which do not depend on tempo, so a tempo
  change does not move the chords; the tempo held for the most beats is reported (the first
  of equally long ones) and the change is stated.
  Tempos outside 20..400 bpm (a zero or 1-microsecond tempo) are ignored, and said so.
* Meter: the time signature that governs most of the clip by duration (4/4 when none). A
  first bar in another signature, no longer than a bar of the meter (the analysis export's
  15/16 pickup before 4/4, a DAW clip's anacrusis), is a pickup: bars are counted from the first
  full bar and the pickup's notes are left out; other changes are stated.
* Parts: a track named as chords, bass or melody (the composer's "Chords", "Bass", "Melody";
  a DAW's "Piano", "Lead" ...; GM bass programs) weighs its notes: a melody counts 0.15, so its
  passing notes do not turn a triad into a seventh chord; the bass part gives the chord's bass.
* Key: the analysis's key profiles correlated with the part-weighted pitch-class histogram,
  plus the bass resting on the tonic and the first/last chords being the tonic chord (minor for
  a minor key): i III VI VII in E minor is no longer read in G major. A key signature in the
  clip (the analysis export writes one) narrows the key to its major or relative minor and
  fixes the spelling (see :func:`detect_key`).
* Chords: the clip is cut at every half bar; each segment's weighted pitch classes are matched
  against chord templates (root weighted by the bass); a half bar where the chord part holds
  only the pitch classes it held before (same chord, or an arpeggio of it) continues that
  chord, and equal neighbours are merged.

Round trip of 50 generated loops (12 keys, major and minor, 4/4 3/4 6/8, all styles, 1/2/auto
chords a bar, through the composer's own MIDI): chords exact at every half beat 9/50 -> 45/50, key
exact 32/50 -> 47/50 (the lab's round-trip tool, module ``compose.midi_roundtrip`` under ``lab/``).
The key bonuses and the continuation threshold were chosen on those 50 loops; on the next 50
(``--start 50``, not looked at while choosing) chords 10/50 -> 43/50, key 35/50 -> 46/50.

Key on POP909 songs' MIDI (development pool, the annotated key held longest; lab tool
``compose.pop909_clip_keys``): the Krumhansl-Kessler scorer with a 0.45 first-chord bonus read
75/100 songs' key (songs 004-400, on which the new weights were chosen) and 80/100 (404-800, not
looked at); the analysis's profiles with the first chord at 0.15 read 87/100 and 90/100, and
with the key signature the analysis export writes 97/100 and 96/100. The composer's own loops
(with the signature it writes) 47/50 -> 49/50 and 47/50 -> 49/50.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.compose.rhythm import Meter
from musicapp.compose.theory import QUALITIES, ChordToken, Key, canonical, conventional_key
from musicapp.errors import MusicappError
from musicapp.pitch import NEUTRAL_NAMES

MAX_MIDI_BYTES = 16 << 20
#: Longest clip read, in quarter-note beats (256 bars of 4/4: over 8 minutes at 120 bpm).
MAX_CLIP_BEATS = 1024
#: Most pitched notes read from a clip.
MAX_CLIP_NOTES = 50_000
#: Tempos (bpm) a clip may set; others are ignored with a note.
TEMPO_RANGE = (20.0, 400.0)
DRUM_CHANNEL = 9
#: qualities recognised in a clip (the rest of the vocabulary is rare in plain playing)
_RECOGNISED = ("maj", "min", "7", "m7", "maj7", "dim", "sus4", "sus2", "aug", "m7b5", "dim7")
#: (role, words in a track name), first match wins
_ROLE_WORDS = (("bass", ("bass",)),
               ("melody", ("melody", "lead", "vocal", "voice", "solo", "flute", "tune")),
               ("chords", ("chord", "pad", "comp", "piano", "keys", "guitar", "rhythm", "harm")))
#: weight of a note of each role in chord and key recognition: a melody's passing notes count
#: little, the chord and bass parts count fully
ROLE_WEIGHT = {"chords": 1.0, "bass": 0.6, "melody": 0.15, "": 1.0}
_DEGREE_OF = ((1, 0), (2, -1), (2, 0), (3, -1), (3, 0), (4, 0), (4, 1), (5, 0), (6, -1),
              (6, 0), (7, -1), (7, 0))


@dataclass
class ClipNote:
    """A note in beats; ``role`` is "chords", "bass", "melody" or "" (unknown), from the track."""

    start: float
    dur: float
    pitch: int
    role: str = ""


@dataclass
class Clip:
    """What was read from a MIDI clip."""

    notes: list[ClipNote]
    meter: Meter
    tempo_bpm: float
    length_beats: float
    notes_text: list[str] = field(default_factory=list)  # stated fallbacks
    #: quarter-note beats of a pickup bar before the first full bar (left out of ``notes``)
    pickup_beats: float = 0.0
    #: the clip's key signature as mido names it (``"Db"``, ``"Bbm"``): the one held longest
    #: (the first of equally long ones); None when the clip has none
    key_signature: str | None = None


@dataclass
class RecognisedChord:
    """A chord found in a clip: key-relative token, start and length in beats, fit (0..1)."""

    token: ChordToken | None  # None: no notes sounded in this span
    start: float
    beats: float
    fit: float


def track_role(track) -> str:
    """A track's part from its name ("Chords", "Bass", "Melody" as the composer writes them, or
    a DAW's "Piano", "Lead" ...) or its General MIDI program (32..39: bass); "" when unknown."""
    name = " ".join(m.name for m in track if m.type == "track_name").lower()
    for role, words in _ROLE_WORDS:
        if any(w in name for w in words):
            return role
    progs = {m.program for m in track if m.type == "program_change"}
    if progs and all(32 <= x <= 39 for x in progs):
        return "bass"
    return ""


def _event_error(exc: Exception) -> str:
    """A reader's words for what mido could not decode."""
    name = type(exc).__name__
    if "KeySignature" in name:
        return f"a key signature event is invalid: {str(exc)[:100]}"
    if isinstance(exc, KeyError | IndexError):
        return f"an event holds an invalid or missing value ({name} {str(exc)[:60]})"
    return str(exc)[:120] or name


def checked_chunks(data: bytes, p: Path) -> tuple[bytes, list[str]]:
    """``data`` checked chunk by chunk before mido reads it (a standard MIDI file: "MThd" then
    "MTrk" chunks, each with a 32-bit length), and notes for the clip.

    A chunk that claims more bytes than the file holds is refused here (mido would try to
    read it whole: 4 GB for a damaged length field); a header whose track count disagrees
    with the track chunks present is corrected, and said so (mido reads none of the tracks
    when the count is too high). Other files (RIFF-wrapped MIDI ...) are left to mido."""
    if data[:4] != b"MThd":
        return data, []
    size = len(data)
    head_len = int.from_bytes(data[4:8], "big")
    if head_len < 6 or 8 + head_len > size:
        raise MusicappError(f"{p}: not a readable MIDI file (its header chunk claims "
                            f"{head_len:,} bytes; the file holds {size:,}): the file is damaged")
    pos, tracks = 8 + head_len, 0
    while pos + 8 <= size:
        length = int.from_bytes(data[pos + 4:pos + 8], "big")
        if pos + 8 + length > size:
            raise MusicappError(
                f"{p}: not a readable MIDI file (chunk {data[pos:pos + 4]!r} at byte {pos:,} "
                f"claims {length:,} bytes, but only {size - pos - 8:,} follow: truncated or "
                "damaged)")
        tracks += data[pos:pos + 4] == b"MTrk"
        pos += 8 + length
    said = int.from_bytes(data[10:12], "big")
    if said != tracks:
        data = data[:10] + tracks.to_bytes(2, "big") + data[12:]
        return data, [f"the MIDI header says {said} track(s) but the file holds {tracks}: "
                      f"read the {tracks}"]
    return data, []


def read_clip(path: str | Path) -> Clip:
    """Read the clip's pitched notes, meter and tempo (see the module docstring)."""
    import mido

    p = Path(path)
    if not p.is_file():
        raise MusicappError(f"{p}: MIDI file does not exist (or is not a regular file)")
    if p.stat().st_size == 0:
        raise MusicappError(f"{p}: the MIDI file is empty (0 bytes)")
    if p.stat().st_size > MAX_MIDI_BYTES:
        raise MusicappError(f"{p}: too large for a MIDI clip (over {MAX_MIDI_BYTES >> 20} MB)")
    import io

    data, chunk_notes = checked_chunks(p.read_bytes(), p)
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except EOFError:
        raise MusicappError(f"{p}: not a readable MIDI file (it ends in the middle: truncated)"
                            ) from None
    except MemoryError:
        raise MusicappError(f"{p}: not a readable MIDI file (it claims more data than it holds)"
                            ) from None
    except Exception as exc:  # mido's own errors for invalid events (e.g. KeySignatureError)
        raise MusicappError(f"{p}: not a readable MIDI file ({_event_error(exc)})") from None
    if mid.type == 2:
        raise MusicappError(f"{p}: MIDI type 2 (independent sequences) is not supported")
    with p.open("rb") as fh:
        division = int.from_bytes(fh.read(14)[12:14], "big")
    if division & 0x8000:
        fps = 256 - (division >> 8)
        raise MusicappError(f"{p}: the MIDI file counts time in SMPTE frames ({fps} frames per "
                            "second), not in beats; SMPTE time division is not supported (save "
                            "the clip with a ticks-per-beat division)")
    if not mid.ticks_per_beat:
        raise MusicappError(f"{p}: the MIDI header says 0 ticks per beat, so no note has a "
                            "length in beats; the file is damaged")
    tpb = mid.ticks_per_beat
    unterminated = 0
    notes: list[ClipNote] = []
    drums = 0
    tempos: list[tuple[int, int]] = []
    sigs: list[tuple[float, int, int]] = []
    keysigs: list[tuple[int, str]] = []
    end_tick = 0
    for track in mid.tracks:
        t = 0
        on: dict[tuple[int, int], int] = {}
        role = track_role(track)
        for msg in track:
            t += msg.time
            if msg.type == "set_tempo":
                tempos.append((t, msg.tempo))
            elif msg.type == "time_signature":
                sigs.append((t / tpb, msg.numerator, msg.denominator))
            elif msg.type == "key_signature":
                keysigs.append((t, msg.key))
            elif msg.type == "note_on" and msg.velocity > 0:
                if msg.channel == DRUM_CHANNEL:
                    drums += 1
                    continue
                on[(msg.channel, msg.note)] = t
            elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in on:
                start = on.pop((msg.channel, msg.note))
                if t > start:
                    notes.append(ClipNote(start / tpb, (t - start) / tpb, msg.note, role))
                    if len(notes) > MAX_CLIP_NOTES:
                        raise MusicappError(f"{p}: too many notes for a clip (over "
                                            f"{MAX_CLIP_NOTES:,}); give a shorter clip")
        for (_, pitch), start in on.items():  # never switched off: lasts to the track's end
            if t > start:
                notes.append(ClipNote(start / tpb, (t - start) / tpb, pitch, role))
                unterminated += 1
        end_tick = max(end_tick, t)
    if not notes:
        if drums:
            raise MusicappError(f"{p}: the clip has drum notes only (channel 10); give a clip "
                                "with chords or a melody")
        raise MusicappError(f"{p}: the clip has no notes")
    said: list[str] = list(chunk_notes)
    if unterminated:
        said.append(f"{unterminated} note(s) are never switched off (no note-off): each is "
                    "taken to last until the end of its track")
    last_note = max(n.start + n.dur for n in notes)
    if last_note > MAX_CLIP_BEATS:
        raise MusicappError(
            f"{p}: the clip's notes run for {last_note:,.0f} beats (a clip may be at most "
            f"{MAX_CLIP_BEATS} beats, {MAX_CLIP_BEATS // 4} bars of 4/4); give a shorter clip")
    length = end_tick / tpb
    if length > MAX_CLIP_BEATS:
        said.append(f"the clip's last event is at beat {length:,.0f}, long after its last note "
                    f"(beat {last_note:,.0f}): the silence after the last note is ignored")
        length = last_note
    length = max(length, last_note)
    meter, pickup = clip_meter(sigs, length, said)
    if pickup > 0:
        notes = [ClipNote(max(n.start, pickup) - pickup, n.start + n.dur - max(n.start, pickup),
                          n.pitch, n.role) for n in notes if n.start + n.dur > pickup + 1e-9]
        if not notes:
            raise MusicappError(f"{p}: the clip has notes in its pickup bar only")
        length -= pickup
    bar = meter.bar_beats
    # whole bars of silence before the first note (an analysis export's lead-in bar, a DAW
    # clip that starts late) are left out: the loop starts at the first bar with notes
    silent = float(np.floor(min(n.start for n in notes) / bar + 1e-9) * bar)
    if silent > 0:
        notes = [ClipNote(n.start - silent, n.dur, n.pitch, n.role) for n in notes]
        length -= silent
        said.append(f"the clip starts with {silent / bar:g} bar(s) of silence: left out")
    first_tick = (pickup + silent) * tpb
    tempos.sort()
    # a tempo set before the first bar read and replaced there (a lead-in at its own tempo)
    # does not count: the tempo in force from the first bar read on does
    live = [i for i, (t, _) in enumerate(tempos)
            if i + 1 == len(tempos) or tempos[i + 1][0] > first_tick]
    tempos = [(max(t, first_tick), tp) for i, (t, tp) in enumerate(tempos) if i in live]
    lo, hi = TEMPO_RANGE
    odd = sorted({f"{60e6 / tp:g} bpm" if tp > 0 else "zero" for _, tp in tempos
                  if not (tp > 0 and lo <= 60e6 / tp <= hi)})
    if odd:
        said.append(f"the clip's tempo {', '.join(odd)} is outside {lo:g}..{hi:g} bpm: ignored")
    tempos = [(t, tp) for t, tp in tempos if tp > 0 and lo <= 60e6 / tp <= hi]
    # the tempo held for the most beats (ties: the earliest), like the meter: an analysis
    # export's short lead-in at its own tempo does not decide the clip's tempo
    held: dict[int, int] = {}
    for i, (t, tp) in enumerate(tempos):
        until = tempos[i + 1][0] if i + 1 < len(tempos) else max(end_tick, t)
        held[tp] = held.get(tp, 0) + max(0, until - t)
    bpm = 60e6 / max(held, key=lambda tp: held[tp]) if tempos else 120.0
    distinct = sorted({round(60e6 / tp, 2) for _, tp in tempos})
    if len(distinct) > 1:
        said.append(f"the clip changes tempo ({', '.join(f'{x:g}' for x in distinct)} bpm): "
                    f"chords are read in beats, which tempo changes do not move; the idea uses "
                    f"the tempo held longest, {bpm:.0f} bpm")
    length = float(np.ceil(length / bar - 1e-6) * bar)
    return Clip(notes, meter, float(bpm), length, said, pickup,
                _held_longest(keysigs, end_tick))


def _held_longest(events: list[tuple[int, str]], end_tick: int) -> str | None:
    """The value of (tick, value) events held for the most ticks up to ``end_tick`` (ties: the
    earliest); None without events."""
    if not events:
        return None
    events = sorted(events, key=lambda e: e[0])
    held: dict[str, int] = {}
    for i, (t, v) in enumerate(events):
        until = events[i + 1][0] if i + 1 < len(events) else max(end_tick, t)
        held[v] = held.get(v, 0) + max(0, until - t)
    return max(held, key=lambda v: held[v])


def _meter_of(num: int, den: int, said: list[str]) -> Meter:
    try:
        return Meter(num, den)
    except MusicappError:
        said.append(f"time signature {num}/{den} is not supported: read as 4/4")
        return Meter(4, 4)


def clip_meter(sigs: list[tuple[float, int, int]], length: float, said: list[str]
               ) -> tuple[Meter, float]:
    """(meter, pickup beats) of a clip ``length`` beats long with time signatures
    ``(beat, numerator, denominator)``; fallbacks are appended to ``said``.

    The meter is the signature that governs most of the clip by duration (4/4 before the first
    one). A first bar with another signature, no longer than a bar of the meter and followed by
    the meter, is a pickup: bars are counted from the first full bar. Other changes are stated.
    """
    pts = sorted((float(t), n, d) for t, n, d in sigs)
    dedup: list[tuple[float, int, int]] = []
    for t, n, d in pts:  # the last signature at one position wins; repeats are no change
        if dedup and abs(dedup[-1][0] - t) < 1e-9:
            dedup[-1] = (t, n, d)
        elif not dedup or dedup[-1][1:] != (n, d):
            dedup.append((t, n, d))
    if not dedup or dedup[0][0] > 1e-9:
        dedup.insert(0, (0.0, 4, 4))
    span: dict[tuple[int, int], float] = {}
    for i, (t, n, d) in enumerate(dedup):
        end = dedup[i + 1][0] if i + 1 < len(dedup) else max(length, t)
        span[(n, d)] = span.get((n, d), 0.0) + max(0.0, min(end, length) - min(t, length))
    main = max(span, key=lambda k: (span[k], -next(i for i, x in enumerate(dedup)
                                                   if x[1:] == k)))
    meter = _meter_of(main[0], main[1], said)
    pickup = 0.0
    if len(dedup) >= 2 and dedup[0][1:] != main and dedup[1][1:] == main \
            and 0 < dedup[1][0] <= meter.bar_beats + 1e-9:
        pickup = dedup[1][0]
        said.append(f"the clip starts with a {dedup[0][1]}/{dedup[0][2]} pickup bar "
                    f"({pickup:g} beats) before its first full bar of {meter.text}: bars are "
                    "counted from the first full bar, the pickup's notes are left out")
    rest = dedup[1:] if pickup else dedup
    if len({x[1:] for x in rest}) > 1:
        said.append(f"the clip changes time signature ("
                    f"{', '.join(dict.fromkeys(f'{n}/{d}' for _, n, d in rest))}): read in "
                    f"{meter.text}, which governs most of it, throughout")
    return meter, pickup


@dataclass(frozen=True)
class NoteArrays:
    """The notes of a clip as arrays (start, end in beats; pitch; weight of the note's role;
    whether it is a bass-part note), for fast windowed sums."""

    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    weight: np.ndarray
    bass: np.ndarray

    @staticmethod
    def of(notes: list[ClipNote]) -> NoteArrays:
        """Arrays of ``notes``."""
        n = len(notes)
        start = np.fromiter((x.start for x in notes), float, n)
        dur = np.fromiter((x.dur for x in notes), float, n)
        pitch = np.fromiter((x.pitch for x in notes), np.int64, n)
        weight = np.fromiter((ROLE_WEIGHT.get(x.role, 1.0) for x in notes), float, n)
        bass = np.fromiter((x.role == "bass" for x in notes), bool, n)
        return NoteArrays(start, start + dur, pitch, weight, bass)


def pitch_histogram(notes: list[ClipNote] | NoteArrays, start: float = 0.0,
                    end: float = float("inf")) -> np.ndarray:
    """Duration (in beats) of each pitch class sounding within [start, end), each note weighted
    by its part (:data:`ROLE_WEIGHT`: a melody counts less than the chords and bass)."""
    a = notes if isinstance(notes, NoteArrays) else NoteArrays.of(notes)
    overlap = np.minimum(a.end, end) - np.maximum(a.start, start)
    keep = overlap > 0
    return np.bincount(a.pitch[keep] % 12, weights=(overlap * a.weight)[keep],
                       minlength=12).astype(float)


def bass_histogram(notes: list[ClipNote] | NoteArrays, step: float = 0.5) -> np.ndarray:
    """Duration of each pitch class in the bass: the bass part's notes when the clip names one,
    else the lowest note sounding at each ``step`` beats."""
    a = notes if isinstance(notes, NoteArrays) else NoteArrays.of(notes)
    if a.bass.any():
        dur = a.end[a.bass] - a.start[a.bass]
        return np.bincount(a.pitch[a.bass] % 12, weights=dur, minlength=12).astype(float)
    h = np.zeros(12)
    lo, hi = float(a.start.min()), float(a.end.max())
    step = max(step, (hi - lo) / 512)  # a long clip is sampled more coarsely
    for t in np.arange(lo, hi, step):
        on = (a.start <= t + 1e-9) & (a.end > t + 1e-9)
        if on.any():
            h[int(a.pitch[on].min()) % 12] += step
    return h


def _tonic_chord_fit(chord: tuple[int, str, float] | None, tonic: int, mode: str) -> float:
    """1 when ``chord`` is the tonic triad of the mode, 0.5 for a tonic sus chord, else 0."""
    if chord is None or chord[0] != tonic:
        return 0.0
    rel = {s % 12 for s, _ in QUALITIES[chord[1]]}
    if 3 not in rel and 4 not in rel:
        return 0.5
    return 1.0 if (4 if mode == "major" else 3) in rel and \
        (3 if mode == "major" else 4) not in rel else 0.0


#: weights of the key evidence (:func:`key_scores`): profile correlation (the analysis's
#: Albrecht-Shanahan profiles, :func:`musicapp.analysis.key.key_correlations`), the bass's share
#: on the tonic, the first and the last chord being the tonic chord
KEY_WEIGHTS = (1.0, 0.5, 0.15, 0.1)
#: a MIDI key signature names a mode too (``"Em"``, not ``"G"``): the key it names gains this
#: over its relative (the composer's i III VI VII in E minor scores 0.17-0.18 below G major
#: from the notes, whose first-chord cue now counts little)
SIGNATURE_MODE_BONUS = 0.25


def key_scores(notes: list[ClipNote] | NoteArrays,
               weights: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """(24,) scores of the keys, row ``m * 12 + tonic`` (m 0 major, 1 minor), as
    :func:`musicapp.analysis.key.key_correlations` orders them (see :func:`detect_key`)."""
    from musicapp.analysis.key import key_correlations

    a = notes if isinstance(notes, NoteArrays) else NoteArrays.of(notes)
    h = pitch_histogram(a)
    bass = bass_histogram(a)
    bass = bass / bass.sum() if bass.sum() > 0 else bass
    t0, t1 = float(a.start.min()), float(a.end.max())
    first = recognise_segment(a, t0, min(t0 + 2.0, t1))
    last = recognise_segment(a, max(t1 - 2.0, t0), t1)
    r = key_correlations(h) if h.std() > 0 else np.zeros(24)
    w_prof, w_bass, w_first, w_last = KEY_WEIGHTS if weights is None else weights
    out = np.zeros(24)
    for m, mode in enumerate(("major", "minor")):
        for pc in range(12):
            out[m * 12 + pc] = w_prof * r[m * 12 + pc] + w_bass * float(bass[pc]) \
                + w_first * _tonic_chord_fit(first, pc, mode) \
                + w_last * _tonic_chord_fit(last, pc, mode)
    return out


def signature_keys(signature: str) -> tuple[Key, Key] | None:
    """(major key, relative minor key) of a MIDI key signature (mido's ``"Db"``, ``"Bbm"``,
    ``"A#m"``), spelled as the signature spells them (A#m -> C# major, A# minor); None when
    unreadable."""
    from musicapp import pitch

    minor = signature.endswith("m")
    try:
        k = pitch.parse_key(signature[:-1] if minor else signature, "minor" if minor else "major")
    except MusicappError:
        return None
    letter = pitch.LETTERS.index(k.tonic[0])
    if minor:
        return Key(pitch.spell(letter + 2, k.pc + 3), "major"), Key(k.tonic, "minor")
    return Key(k.tonic, "major"), Key(pitch.spell(letter + 5, k.pc + 9), "minor")


def detect_key(notes: list[ClipNote], signature: str | None = None) -> tuple[Key, float]:
    """The clip's major or minor key and its profile correlation, as a musician hears it.

    The part-weighted pitch-class histogram (a melody counts less than chords and bass) is
    correlated with the analysis's key profiles; each key then gains for the bass resting on its
    tonic and, a little, for the first and last chords being its tonic chord (minor for a minor
    key): that tells a minor loop (i III VI VII) from its relative major. The first chord counts
    little (:data:`KEY_WEIGHTS`): a song that opens IV-V-vi (POP909 066 in Db major) was read
    in its IV (F# major) when it counted 0.45.

    ``signature``: the clip's key signature (mido's key name, ``"Db"``, ``"Bbm"``), as the
    analysis export and the composer write it. It is strong evidence: the key is its major key
    or that key's relative minor, spelled as the signature spells it; the one the signature
    names gains :data:`SIGNATURE_MODE_BONUS`, the notes decide beyond that.
    """
    a = NoteArrays.of(notes)
    scores = key_scores(a)
    pair = signature_keys(signature) if signature else None
    if pair is not None:
        major, minor = pair
        stated = SIGNATURE_MODE_BONUS * np.array([-1.0, 1.0])[int(signature.endswith("m"))]
        if scores[12 + minor.pc] + stated > scores[major.pc]:
            key, idx = minor, 12 + minor.pc
        else:
            key, idx = major, major.pc
    else:
        idx = int(np.argmax(scores))
        key = conventional_key(Key(NEUTRAL_NAMES[idx % 12], ("major", "minor")[idx // 12]))
    from musicapp.analysis.key import key_correlations

    h = pitch_histogram(a)
    r = float(key_correlations(h)[idx]) if h.std() > 0 else 0.0
    return key, r


def _templates() -> list[tuple[int, str, np.ndarray]]:
    out = []
    for q in _RECOGNISED:
        rel = {s % 12 for s, _ in QUALITIES[q]}
        for root in range(12):
            t = np.zeros(12)
            for r in rel:
                t[(root + r) % 12] = 1.0
            out.append((root, q, t))
    return out


_TEMPLATES = _templates()


def recognise_segment(notes: list[ClipNote] | NoteArrays, start: float, end: float
                      ) -> tuple[int, str, float] | None:
    """(root pc, quality, fit) of the chord sounding in [start, end), or None when silent.

    Score = share of the segment's note duration on chord tones minus a small penalty per chord
    tone missing, plus a bonus when the lowest note is the root.
    """
    a = notes if isinstance(notes, NoteArrays) else NoteArrays.of(notes)
    h = pitch_histogram(a, start, end)
    total = h.sum()
    if total <= 0:
        return None
    sounding = (a.start < end) & (a.end > start)
    if (sounding & a.bass).any():
        sounding &= a.bass
        first = a.start[sounding].min()  # the bass part's note at the chord's start
        sounding &= a.start <= first + 1e-9
    bass = int(a.pitch[sounding].min()) % 12
    present = h > 0.05 * total
    best = None
    for root, q, t in _TEMPLATES:
        covered = float((h * t).sum() / total)
        missing = int((t > 0).sum() - (present & (t > 0)).sum())
        score = covered - 0.12 * missing + (0.08 if bass == root else 0.0) \
            - 0.01 * (t > 0).sum()
        if best is None or score > best[0]:
            best = (score, root, q, covered)
    assert best is not None
    return best[1], best[2], best[3]


def token_of(root_pc: int, quality: str, key: Key) -> ChordToken:
    """Key-relative canonical token of an absolute chord."""
    deg, alt = _DEGREE_OF[(root_pc - key.pc) % 12]
    return canonical(ChordToken(deg, alt, quality), key.mode)


#: a second half bar whose (part-weighted) notes are at least this share tones of the first
#: half's chord continues that chord
KEEP_FIT = 0.8


def tone_share(a: NoteArrays, start: float, end: float, pcs: list[int]) -> float:
    """Share of the part-weighted note duration in [start, end) on pitch classes ``pcs``."""
    h = pitch_histogram(a, start, end)
    return float(h[pcs].sum() / h.sum()) if h.sum() > 0 else 0.0


def chord_part_pcs(a: NoteArrays, start: float, end: float) -> frozenset[int] | None:
    """Pitch classes the chord part (a track named as chords) holds in [start, end) for at least
    a quarter of the span; None when the clip names no chord part or it is silent there."""
    part = a.weight >= 1.0
    part &= ~a.bass
    overlap = np.minimum(a.end, end) - np.maximum(a.start, start)
    keep = part & (overlap >= 0.25 * (end - start))
    if not keep.any():
        return None
    return frozenset(int(x) for x in np.unique(a.pitch[keep] % 12))


def recognise_chords(clip: Clip, key: Key) -> list[RecognisedChord]:
    """Chords at half-bar resolution, equal neighbours merged, bar-aligned spans.

    When the clip names a chord part, a half bar where that part holds only pitch classes it
    held in the half bar before (the same chord, or an arpeggio's part of it) continues that
    chord: a passing note in the bass or melody does not start a new one. A second half bar
    whose notes are mostly (:data:`KEEP_FIT`) tones of the first half's chord continues it."""
    first, second = clip.meter.split
    bar = clip.meter.bar_beats
    spans: list[RecognisedChord] = []
    arrays = NoteArrays.of(clip.notes)
    named = any(n.role == "chords" for n in clip.notes)
    prev_pcs: frozenset[int] | None = None
    t = 0.0
    while t < clip.length_beats - 1e-9:
        for half, part in enumerate((first, second)):
            if part <= 0:  # a one-beat bar (1/4, 1/8, 1/16) has no second half
                continue
            pcs = chord_part_pcs(arrays, t, t + part) if named else None
            if pcs is not None and prev_pcs is not None and pcs <= prev_pcs and spans \
                    and spans[-1].token is not None:
                spans[-1].beats += part
                t += part
                continue
            prev_pcs = pcs
            if half == 1 and spans and spans[-1].token is not None and \
                    tone_share(arrays, t, t + part, spans[-1].token.pitch_classes(key)) >= KEEP_FIT:
                spans[-1].beats += part
                t += part
                continue
            r = recognise_segment(arrays, t, t + part)
            tok = None if r is None else token_of(r[0], r[1], key)
            fit = 0.0 if r is None else r[2]
            if spans and (spans[-1].token == tok):
                spans[-1].beats += part
            else:
                spans.append(RecognisedChord(tok, t, part, fit))
            t += part
        t = round(t / bar) * bar
    # a chord that starts in mid-bar and runs past it is fine; a lone half bar before a
    # different chord is kept as it is (two chords in that bar)
    return spans
