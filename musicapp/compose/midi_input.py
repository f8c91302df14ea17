"""Read a MIDI clip (e.g. exported from a DAW): its notes, meter, tempo, key and chords.

* Notes come from every channel except General MIDI's drum channel (10); a clip with no notes,
  or with drum notes only, is refused with a clear message. A clip longer than
  :data:`MAX_CLIP_BEATS` or with more than :data:`MAX_CLIP_NOTES` notes is refused (a huge delta
  time would otherwise make recognition run for hours); trailing events after the last note
  that would make it that long (a far-away marker or end of track) are ignored, and said so.
* Positions are counted in beats from the file's ticks, which do not depend on tempo, so a tempo
  change does not move the chords; the first tempo is reported and the change is stated.
  Tempos outside 20..400 bpm (a zero or 1-microsecond tempo) are ignored, and said so.
* Meter: the first time signature (4/4 when none; later changes are stated and ignored).
* Key: Krumhansl-Kessler profiles correlated with the duration-weighted pitch-class histogram.
* Chords: the clip is cut at every half bar; each segment's duration-weighted pitch classes are
  matched against chord templates (root weighted by the bass), and equal neighbours are merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.compose.rhythm import Meter
from musicapp.compose.theory import QUALITIES, ChordToken, Key, canonical, conventional_key
from musicapp.errors import MusicappError

MAX_MIDI_BYTES = 16 << 20
#: Longest clip read, in quarter-note beats (256 bars of 4/4: over 8 minutes at 120 bpm).
MAX_CLIP_BEATS = 1024
#: Most pitched notes read from a clip.
MAX_CLIP_NOTES = 50_000
#: Tempos (bpm) a clip may set; others are ignored with a note.
TEMPO_RANGE = (20.0, 400.0)
DRUM_CHANNEL = 9
# Krumhansl & Kessler (1982) probe-tone profiles
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
#: qualities recognised in a clip (the rest of the vocabulary is rare in plain playing)
_RECOGNISED = ("maj", "min", "7", "m7", "maj7", "dim", "sus4", "sus2", "aug", "m7b5")
_DEGREE_OF = ((1, 0), (2, -1), (2, 0), (3, -1), (3, 0), (4, 0), (4, 1), (5, 0), (6, -1),
              (6, 0), (7, -1), (7, 0))


@dataclass
class ClipNote:
    """A note in beats."""

    start: float
    dur: float
    pitch: int


@dataclass
class Clip:
    """What was read from a MIDI clip."""

    notes: list[ClipNote]
    meter: Meter
    tempo_bpm: float
    length_beats: float
    notes_text: list[str] = field(default_factory=list)  # stated fallbacks


@dataclass
class RecognisedChord:
    """A chord found in a clip: key-relative token, start and length in beats, fit (0..1)."""

    token: ChordToken | None  # None: no notes sounded in this span
    start: float
    beats: float
    fit: float


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
    try:
        mid = mido.MidiFile(p)
    except EOFError:
        raise MusicappError(f"{p}: not a readable MIDI file (it ends in the middle: truncated)"
                            ) from None
    except (OSError, ValueError, KeyError, IndexError) as exc:
        why = str(exc)[:120] or type(exc).__name__
        raise MusicappError(f"{p}: not a readable MIDI file ({why})") from None
    if mid.type == 2:
        raise MusicappError(f"{p}: MIDI type 2 (independent sequences) is not supported")
    tpb = mid.ticks_per_beat or 480
    notes: list[ClipNote] = []
    drums = 0
    tempos: list[tuple[int, int]] = []
    sigs: list[tuple[int, int, int]] = []
    end_tick = 0
    for track in mid.tracks:
        t = 0
        on: dict[tuple[int, int], int] = {}
        for msg in track:
            t += msg.time
            if msg.type == "set_tempo":
                tempos.append((t, msg.tempo))
            elif msg.type == "time_signature":
                sigs.append((t, msg.numerator, msg.denominator))
            elif msg.type == "note_on" and msg.velocity > 0:
                if msg.channel == DRUM_CHANNEL:
                    drums += 1
                    continue
                on[(msg.channel, msg.note)] = t
            elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in on:
                start = on.pop((msg.channel, msg.note))
                if t > start:
                    notes.append(ClipNote(start / tpb, (t - start) / tpb, msg.note))
                    if len(notes) > MAX_CLIP_NOTES:
                        raise MusicappError(f"{p}: too many notes for a clip (over "
                                            f"{MAX_CLIP_NOTES:,}); give a shorter clip")
        end_tick = max(end_tick, t)
    if not notes:
        if drums:
            raise MusicappError(f"{p}: the clip has drum notes only (channel 10); give a clip "
                                "with chords or a melody")
        raise MusicappError(f"{p}: the clip has no notes")
    said: list[str] = []
    tempos.sort()
    lo, hi = TEMPO_RANGE
    odd = sorted({f"{60e6 / tp:g} bpm" if tp > 0 else "zero" for _, tp in tempos
                  if not (tp > 0 and lo <= 60e6 / tp <= hi)})
    if odd:
        said.append(f"the clip's tempo {', '.join(odd)} is outside {lo:g}..{hi:g} bpm: ignored")
    tempos = [(t, tp) for t, tp in tempos if tp > 0 and lo <= 60e6 / tp <= hi]
    bpm = 60e6 / tempos[0][1] if tempos else 120.0
    distinct = sorted({round(60e6 / tp, 2) for _, tp in tempos})
    if len(distinct) > 1:
        said.append(f"the clip changes tempo ({', '.join(f'{x:g}' for x in distinct)} bpm): "
                    f"chords are read in beats, which tempo changes do not move; the idea uses "
                    f"the first tempo, {bpm:.0f} bpm")
    sigs.sort()
    try:
        meter = Meter(sigs[0][1], sigs[0][2]) if sigs else Meter(4, 4)
    except MusicappError:
        said.append(f"time signature {sigs[0][1]}/{sigs[0][2]} is not supported: read as 4/4")
        meter = Meter(4, 4)
    if len({(n, d) for _, n, d in sigs}) > 1:
        said.append(f"the clip changes time signature: read in {meter.text} throughout")
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
    bar = meter.bar_beats
    length = float(np.ceil(length / bar - 1e-6) * bar)
    return Clip(notes, meter, float(bpm), length, said)


@dataclass(frozen=True)
class NoteArrays:
    """The notes of a clip as arrays (start, end in beats; pitch), for fast windowed sums."""

    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray

    @staticmethod
    def of(notes: list[ClipNote]) -> NoteArrays:
        """Arrays of ``notes``."""
        n = len(notes)
        start = np.fromiter((x.start for x in notes), float, n)
        dur = np.fromiter((x.dur for x in notes), float, n)
        pitch = np.fromiter((x.pitch for x in notes), np.int64, n)
        return NoteArrays(start, start + dur, pitch)


def pitch_histogram(notes: list[ClipNote] | NoteArrays, start: float = 0.0,
                    end: float = float("inf")) -> np.ndarray:
    """Duration (in beats) of each pitch class sounding within [start, end)."""
    a = notes if isinstance(notes, NoteArrays) else NoteArrays.of(notes)
    overlap = np.minimum(a.end, end) - np.maximum(a.start, start)
    keep = overlap > 0
    return np.bincount(a.pitch[keep] % 12, weights=overlap[keep], minlength=12).astype(float)


def detect_key(notes: list[ClipNote]) -> tuple[Key, float]:
    """The best-correlating major/minor key and its correlation."""
    h = pitch_histogram(notes)
    best = (-2.0, 0, "major")
    for mode, prof in (("major", _KK_MAJOR), ("minor", _KK_MINOR)):
        for pc in range(12):
            r = float(np.corrcoef(h, np.roll(prof, pc))[0, 1]) if h.std() > 0 else 0.0
            if r > best[0]:
                best = (r, pc, mode)
    r, pc, mode = best
    names = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return conventional_key(Key(names[pc], mode)), r


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


def recognise_chords(clip: Clip, key: Key) -> list[RecognisedChord]:
    """Chords at half-bar resolution, equal neighbours merged, bar-aligned spans."""
    first, second = clip.meter.split
    bar = clip.meter.bar_beats
    spans: list[RecognisedChord] = []
    arrays = NoteArrays.of(clip.notes)
    t = 0.0
    while t < clip.length_beats - 1e-9:
        for part in (first, second):
            if part <= 0:  # a one-beat bar (1/4, 1/8, 1/16) has no second half
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
