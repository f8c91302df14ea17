"""Realistic evaluation pieces from OpenEWLD (MIT): public-domain lead sheets voiced by the arranger.

A lead sheet (compressed MusicXML, ``dataset/<composer>/<song>/<song>.mxl``) gives a melody and
chord symbols. :func:`parse_sheet` reads it with the lab's MusicXML walker
(:mod:`musicapp_lab.musicxml`, shared with the chord-corpus builder): melody notes (onsets and
durations in quarter notes from the divisions, ties merged, rests, grace notes dropped), chord
symbols (``<harmony>``: root, kind and ``<degree>`` changes as a Harte label, ``<bass>`` as the
inversion), the key signature with its notated mode, the time signature and the measures (a
short first measure is a pickup). Repeats, voltas and jumps are ignored: the sheet is played
through once, every measure in the written order, so labels and audio stay exactly aligned.

:func:`render_sheet` turns the opening 30-45 s into a :class:`Piece`: the chord symbols are voiced
by the app's arranger (:func:`musicapp.compose.arrange.voice_lead`, :func:`~musicapp.compose.
arrange.comp`, :func:`~musicapp.compose.arrange.bass_line`; a slash chord holds its notated bass),
the melody, chords and bass go to randomly drawn General MIDI programs and levels at a tempo
drawn per song (70-160 quarter notes per minute), and about half of the 4/4 songs get a Groove
MIDI Dataset drum performance. Beats (quarter notes), downbeats (bar lines; a pickup has beats
but no downbeat), tempo and meter follow from the notation and the drawn tempo. 2/2 is counted
in quarter notes as 4/4; other meters than 4/4, 2/2 and 3/4 are skipped.

Key truth: only a notated mode counts. The Wikifonia exporter writes ``<mode>major</mode>`` by
default (songs in minor such as "Hungarian Dance No. 5 in F# minor", "Scarborough Fair" or
"Yesterdays" carry it), and the dataset's ``features.tonality`` column is a Krumhansl-Schmuckler
estimate, so neither is evidence: only ``<mode>minor</mode>`` (a deliberate change) gives a key;
every other piece has no key truth (``Piece.key`` None) and is not scored for key.

Split by song: a SHA-1 hash of the song's folder name puts ~30 % of songs in the development
pool, the rest in the evaluation pool; each pool is drawn in hash order (see OPENEWLD.md).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.analysis.labels import PITCH_NAMES
from musicapp_lab import musicxml
from musicapp_lab.analysis.evalset.piece import Piece
from musicapp_lab.analysis.render import Note

SOURCE = "openewld"
SPLIT_COUNTS = {"eval": 70, "dev": 30}
#: share of songs (by hash) in the development pool
DEV_SHARE = 30
TEMPO_RANGE = (70.0, 160.0)
MELODY_PROGRAMS = [73, 65, 56, 40, 80, 71, 11, 0, 22, 68]
CHORD_PROGRAMS = [0, 1, 2, 4, 5, 24, 25, 26, 46, 16, 19, 48, 49, 52, 89, 61]
BASS_PROGRAMS = [32, 33, 34, 35, 38, 39, 42]
#: (beats, beat type) -> (quarter notes per bar, meter label); others are skipped
METERS = {(4, 4): (4, "4/4"), (2, 2): (4, "4/4"), (3, 4): (3, "3/4")}
#: MusicXML <kind> -> (Harte shorthand, intervals root first in degree order)
KINDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "major": ("maj", (0, 4, 7)),
    "minor": ("min", (0, 3, 7)),
    "augmented": ("aug", (0, 4, 8)),
    "diminished": ("dim", (0, 3, 6)),
    "dominant": ("7", (0, 4, 7, 10)),
    "major-seventh": ("maj7", (0, 4, 7, 11)),
    "minor-seventh": ("min7", (0, 3, 7, 10)),
    "diminished-seventh": ("dim7", (0, 3, 6, 9)),
    "augmented-seventh": ("aug(b7)", (0, 4, 8, 10)),
    "augmented-ninth": ("aug(b7,9)", (0, 4, 8, 10, 14)),
    "half-diminished": ("hdim7", (0, 3, 6, 10)),
    "major-minor": ("minmaj7", (0, 3, 7, 11)),  # MusicXML: minor triad, major seventh
    "minor-major": ("minmaj7", (0, 3, 7, 11)),  # Wikifonia's spelling of the same
    "major-sixth": ("maj6", (0, 4, 7, 9)),
    "minor-sixth": ("min6", (0, 3, 7, 9)),
    "dominant-ninth": ("9", (0, 4, 7, 10, 14)),
    "major-ninth": ("maj9", (0, 4, 7, 11, 14)),
    "minor-ninth": ("min9", (0, 3, 7, 10, 14)),
    "dominant-11th": ("11", (0, 4, 7, 10, 14, 17)),
    "minor-11th": ("min11", (0, 3, 7, 10, 14, 17)),
    "dominant-13th": ("13", (0, 4, 7, 10, 14, 21)),
    "minor-13th": ("min13", (0, 3, 7, 10, 14, 21)),
    "major-13th": ("maj13", (0, 4, 7, 11, 14, 21)),
    "suspended-second": ("sus2", (0, 2, 7)),
    "suspended-fourth": ("sus4", (0, 5, 7)),
    "maj69": ("maj6(9)", (0, 4, 7, 9, 14)),
    "power": ("5", (0, 7)),
}
#: semitones of the major-scale degree (Harte degrees)
_DEGREE_SEMIS = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11, 9: 14, 11: 17, 13: 21}
_BASS_DEGREE = ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")
#: Harte shorthand -> arranger quality (only the root and scale matter for the bass line)
_ARRANGER_QUALITY = {"maj": "maj", "min": "min", "aug": "aug", "dim": "dim", "7": "7",
                     "maj7": "maj7", "min7": "m7", "dim7": "dim7", "hdim7": "m7b5",
                     "sus2": "sus2", "sus4": "sus4", "9": "9", "11": "7", "13": "7",
                     "maj9": "maj7", "maj13": "maj7", "min9": "m7", "min11": "m7",
                     "min13": "m7", "minmaj7": "min", "maj6": "maj", "min6": "min",
                     "aug(b7)": "aug", "aug(b7,9)": "aug", "maj6(9)": "maj", "5": "maj"}


class SheetError(ValueError):
    """A lead sheet that cannot be turned into an evaluation piece (the message says why;
    ``reason`` is a short category for the skip counts)."""

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Chord:
    """A chord symbol: start/end in quarter notes, Harte label, absolute pitch classes (root
    first, in degree order), bass pitch class."""

    start: float
    end: float
    label: str
    pcs: tuple[int, ...]
    bass: int
    root_letter: int
    quality: str


@dataclass
class Sheet:
    """A parsed lead sheet; times in quarter notes from the start of the first measure."""

    name: str
    notes: list[tuple[float, float, int]]  # (onset, duration, MIDI key)
    chords: list[Chord]
    measures: list[tuple[float, float]]  # (start, length)
    time_signature: tuple[int, int] | None
    fifths: int | None
    mode: str | None  # as notated
    length: float
    warnings: list[str] = field(default_factory=list)

    @property
    def bar_quarters(self) -> float | None:
        """Notated bar length in quarter notes."""
        if self.time_signature is None:
            return None
        b, t = self.time_signature
        return b * 4.0 / t

    @property
    def pickup(self) -> float:
        """Length of the pickup (a first measure shorter than the bar), 0 without one."""
        bar = self.bar_quarters
        if bar is None or not self.measures:
            return 0.0
        first = self.measures[0][1]
        return first if first < bar - 1e-6 else 0.0

    @property
    def key(self) -> tuple[int, str] | None:
        """Key truth: only an explicitly notated minor mode counts (see the module docstring)."""
        if self.fifths is None or self.mode != "minor":
            return None
        return ((self.fifths * 7 + 9) % 12, "minor")


def read_mxl(path: Path) -> ET.Element:
    """The score element of a compressed MusicXML file (:func:`musicapp_lab.musicxml.read_mxl`);
    SheetError when it cannot be read."""
    try:
        return musicxml.read_mxl(path)
    except musicxml.MusicXMLError as exc:
        raise SheetError(str(exc)) from exc


def _pc(step: str | None, alter: str | None) -> int:
    try:
        return musicxml.step_pc(step, alter)
    except musicxml.MusicXMLError as exc:
        raise SheetError(str(exc), "bad pitch") from exc


def _degree_in(intervals: list[int], value: int) -> int | None:
    """The chord's interval that stands for degree ``value`` (within two semitones of the
    major-scale degree, nearest first), None when absent."""
    base = _DEGREE_SEMIS[value]
    best = None
    for i in intervals:
        d = abs(((i - base) % 12 + 6) % 12 - 6)
        if d <= (2 if value == 7 else 1) and (value < 9) == (i < 12) and (
                best is None or d < best[0]):
            best = (d, i)
    return None if best is None else best[1]


def _degree_text(semis: int, value: int) -> str:
    """Harte degree text of interval ``semis`` written as degree ``value`` (``b7``, ``#5``)."""
    acc = ((semis - _DEGREE_SEMIS[value]) % 12 + 6) % 12 - 6
    return ("#" * acc if acc > 0 else "b" * (-acc)) + str(value)


def harmony_label(el: ET.Element) -> tuple[str, tuple[int, ...], int, int, str]:
    """(Harte label, absolute pcs root first, bass pc, root letter index, shorthand) of a
    ``<harmony>`` element; "N" for ``<kind>none</kind>``; SheetError for unknown kinds."""
    kind = (el.findtext("kind") or "").strip()
    if kind == "none":
        return "N", (), -1, -1, "N"
    if kind not in KINDS:
        raise SheetError(f"unsupported chord kind {kind!r}", "chord kind")
    step = el.findtext("root/root-step")
    root = _pc(step, el.findtext("root/root-alter"))
    short, ivs = KINDS[kind]
    intervals = list(ivs)
    mods: list[str] = []
    for deg in el.findall("degree"):
        value = int(deg.findtext("degree-value") or 0)
        alter = int(round(float(deg.findtext("degree-alter") or 0)))
        dtype = (deg.findtext("degree-type") or "add").strip()
        if value not in _DEGREE_SEMIS:
            raise SheetError(f"unsupported chord degree {value}", "chord kind")
        present = _degree_in(intervals, value)
        if dtype in ("alter", "subtract") and present is not None:
            # alter/subtract: relative to the degree already in the chord (MusicXML)
            intervals = [i for i in intervals if i != present]
            mods.append("*" + _degree_text(present, value))
            if dtype == "alter":
                intervals.append(present + alter)
                mods.append(_degree_text(present + alter, value))
        elif dtype != "subtract":
            # add (or alter of an absent degree): relative to a dominant chord (MusicXML)
            semis = _DEGREE_SEMIS[value] - (1 if value == 7 else 0) + alter
            if semis % 12 not in {i % 12 for i in intervals}:
                intervals.append(semis)
            mods.append(_degree_text(semis, value))
    if mods:
        if "(" in short:  # fold into the shorthand's own degree list
            short = short[:-1] + "," + ",".join(mods) + ")"
        else:
            short = f"{short}({','.join(mods)})"
    label = f"{PITCH_NAMES[root]}:{short}"
    bass = root
    if el.find("bass") is not None:
        bass = _pc(el.findtext("bass/bass-step"), el.findtext("bass/bass-alter"))
        if bass != root:
            label += "/" + _BASS_DEGREE[(bass - root) % 12]
    pcs: list[int] = []
    for i in intervals:
        if (root + i) % 12 not in pcs:
            pcs.append((root + i) % 12)
    letter = "CDEFGAB".index(step) if step else 0
    return label, tuple(pcs), bass, letter, KINDS[kind][0]


def parse_sheet(path: Path, name: str | None = None) -> Sheet:
    """Parse a lead sheet (.mxl) played through once (repeats and voltas ignored)."""
    path = Path(path)
    root = read_mxl(path)
    part = root.find("part")
    if part is None:
        raise SheetError(f"{path}: no <part>")
    fifths: int | None = None
    mode: str | None = None
    tsig: tuple[int, int] | None = None
    pos = 0.0
    notes: list[list[float]] = []
    open_ties: dict[int, int] = {}
    harm: list[tuple[float, str, tuple[int, ...], int, int, str]] = []
    measures: list[tuple[float, float]] = []
    warnings: list[str] = []
    for ev in musicxml.walk(part):
        if isinstance(ev, musicxml.MeasureEnd):
            measures.append((ev.start, ev.length))
            pos = ev.end
            continue
        el = ev.el
        if ev.tag == "attributes":
            k = el.find("key")
            if k is not None and k.findtext("fifths") is not None:
                fifths = int(k.findtext("fifths") or 0)
                mode = (k.findtext("mode") or "").strip() or None
            t = el.find("time")
            if t is not None and t.findtext("beats") and t.findtext("beat-type"):
                try:
                    sig = (int(t.findtext("beats") or 0), int(t.findtext("beat-type") or 0))
                except ValueError as exc:
                    raise SheetError(f"{path}: compound time signature", "meter") from exc
                if tsig is not None and sig != tsig:
                    raise SheetError(f"{path}: time signature changes", "meter")
                tsig = sig
        elif ev.tag == "harmony":
            offset = float(el.findtext("offset") or 0) / ev.divisions
            harm.append((ev.time + offset, *harmony_label(el)))
        elif ev.tag == "note":
            dur, onset = ev.duration, ev.time
            if ev.chord:
                warnings.append("chord note in the melody dropped")
                continue
            p = el.find("pitch")
            if p is not None and el.find("rest") is None and dur > 0:
                try:
                    midi = musicxml.pitch_midi(p)
                except musicxml.MusicXMLError as exc:
                    raise SheetError(f"{path}: {exc}", "bad pitch") from exc
                ties = {t.get("type") for t in el.findall("tie")}
                j = open_ties.pop(midi, None) if "stop" in ties else None
                if j is not None and abs(notes[j][0] + notes[j][1] - onset) < 1e-6:
                    notes[j][1] += dur
                    idx = j
                else:
                    notes.append([onset, dur, float(midi)])
                    idx = len(notes) - 1
                if "start" in ties:
                    open_ties[midi] = idx
    chords: list[Chord] = []
    for i, (s, label, pcs, bass, letter, short) in enumerate(harm):
        e = harm[i + 1][0] if i + 1 < len(harm) else pos
        if e - s <= 1e-9:
            continue
        if chords and chords[-1].end > s + 1e-9:
            raise SheetError(f"{path}: chord symbols out of order", "chord order")
        chords.append(Chord(s, e, label, pcs, bass, letter, short))
    return Sheet(name=name or path.stem, notes=[(a, b, int(c)) for a, b, c in notes],
                 chords=chords, measures=measures, time_signature=tsig, fifths=fifths, mode=mode,
                 length=pos, warnings=warnings)


def beat_grid(sheet: Sheet) -> tuple[list[float], list[float]]:
    """(beats, downbeats) in quarter notes: a quarter-note grid on the bar lines; the pickup has
    beats counted back from the first bar line but no downbeat. SheetError when a measure other
    than the first and the last is not a whole bar (the grid would be ambiguous)."""
    bar = sheet.bar_quarters
    if bar is None:
        raise SheetError(f"{sheet.name}: no time signature", "meter")
    beats: list[float] = []
    downs: list[float] = []
    n = len(sheet.measures)
    for i, (start, length) in enumerate(sheet.measures):
        if i == 0 and length < bar - 1e-6:  # pickup: beats counted back from the bar line
            end = start + length
            k = 1
            while end - k >= start - 1e-6:
                beats.insert(0, end - k)
                k += 1
            continue
        if abs(length - bar) > 1e-6 and i != n - 1:
            raise SheetError(f"{sheet.name}: measure {i + 1} lasts {length:g} quarters, not "
                             f"a whole bar of {bar:g}", "irregular measure")
        downs.append(start)
        k = 0
        while k < length - 1e-6:
            beats.append(start + k)
            k += 1
    return [max(0.0, b) for b in beats], downs


def _tokens(chords: list[Chord]):
    from musicapp.compose.theory import ChordToken, from_root

    out = []
    for c in chords:
        q = _ARRANGER_QUALITY.get(c.quality.split("(")[0], "maj")
        root = c.pcs[0] if c.pcs else 0
        tok: ChordToken = from_root(c.root_letter, root, q)
        out.append(tok)
    return out


def arrange_chords(chords: list[Chord], arousal: float, pattern: str
                   ) -> tuple[list, list]:
    """Chord-track and bass notes (arranger Notes, in quarter notes) for the chord symbols.

    The arranger voices the chord tones (:func:`voice_lead`), comps them in ``pattern``
    (:func:`comp`) and writes the bass line (:func:`bass_line`); a slash chord's span holds its
    notated bass instead."""
    from musicapp.compose.arrange import BASS_HIGH, BASS_LOW, bass_line, comp, voice_lead
    from musicapp.compose.arrange import Note as ANote
    from musicapp.compose.theory import Key

    real = [c for c in chords if c.label != "N"]
    if not real:
        return [], []
    pcs = [list(c.pcs) if len(c.pcs) >= 2 else [c.pcs[0], (c.pcs[0] + 7) % 12] for c in real]
    pcs = [p if len(p) >= 3 else [p[0], p[1], p[0], p[1]] for p in pcs]
    spans = [(c.start, c.end - c.start, t) for c, t in zip(real, _tokens(real), strict=True)]
    voicings = voice_lead(pcs)
    chord_notes = comp(spans, voicings, pattern)
    bass = bass_line(spans, Key("C"), arousal)
    out_bass = []
    prev = 40
    for c, (s, d, _) in zip(real, spans, strict=True):
        inside = [n for n in bass if s - 1e-9 <= n.start < s + d - 1e-9]
        if c.bass != c.pcs[0]:
            cands = [m for m in range(BASS_LOW, BASS_HIGH + 1) if m % 12 == c.bass]
            pitch = min(cands, key=lambda m: (abs(m - prev), m))
            vel = inside[0].velocity if inside else 80
            out_bass.append(ANote(s, d, pitch, vel))
            prev = pitch
        else:
            out_bass += inside
            if inside:
                prev = inside[-1].pitch
    return chord_notes, out_bass


def render_sheet(sheet: Sheet, rng: np.random.Generator, groove: list[Path],
                 seconds: float) -> Piece:
    """The opening ``seconds`` of ``sheet`` as a Piece (SheetError when it does not fit)."""
    from musicapp.compose.arrange import PATTERNS
    from musicapp_lab.analysis.evalset.pop909 import groove_notes

    if sheet.time_signature not in METERS:
        raise SheetError(f"{sheet.name}: meter {sheet.time_signature} not used", "meter")
    bpb, meter = METERS[sheet.time_signature]
    beats_q, downs_q = beat_grid(sheet)
    if not sheet.chords or all(c.label == "N" for c in sheet.chords):
        raise SheetError(f"{sheet.name}: no chord symbols", "no chords")
    tempo = float(rng.uniform(*TEMPO_RANGE))
    spb = 60.0 / tempo
    total = sheet.length * spb
    t1 = min(seconds, total)
    if t1 < 25.0:
        raise SheetError(f"{sheet.name}: only {total:.0f} s at {tempo:.0f} BPM", "too short")
    q1 = t1 / spb
    programs = {0: int(rng.choice(MELODY_PROGRAMS)), 1: int(rng.choice(CHORD_PROGRAMS)),
                2: int(rng.choice(BASS_PROGRAMS))}
    levels = {0: float(rng.uniform(0.75, 1.1)), 1: float(rng.uniform(0.4, 0.9)),
              2: float(rng.uniform(0.6, 1.0))}
    arousal = float(rng.uniform(-0.6, 0.8))
    pattern = str(rng.choice(PATTERNS))
    notes: list[Note] = []

    def add(ch: int, start_q: float, dur_q: float, key: int, vel: float) -> None:
        if start_q >= q1 - 1e-9:
            return
        s = start_q * spb
        e = min((start_q + dur_q) * spb, t1 + 1.0)
        notes.append(Note(s, max(e, s + 0.02), ch, int(key),
                          int(np.clip(vel * levels[ch], 1, 127))))

    for onset, dur, key in sheet.notes:
        add(0, onset, dur * 0.95, key, 90 + rng.integers(-8, 9))
    chord_notes, bass_notes = arrange_chords(sheet.chords, arousal, pattern)
    for n in chord_notes:
        add(1, n.start, n.dur, n.pitch, n.velocity)
    for n in bass_notes:
        add(2, n.start, n.dur * 0.95, n.pitch, n.velocity)
    drums = ""
    if groove and bpb == 4 and rng.random() < 0.5:
        g = groove[int(rng.integers(0, len(groove)))]
        first_down = downs_q[0] * spb
        grid = np.array([b * spb for b in beats_q if b >= downs_q[0] - 1e-9]
                        + [(beats_q[-1] + k) * spb for k in range(1, 9)])
        for n in groove_notes(g, grid, first_down, t1, float(rng.uniform(0.5, 0.9))):
            notes.append(Note(n.start + first_down, n.end + first_down, n.channel, n.key,
                              n.velocity))
        drums = f" drums {g.stem}"
    chords: list[tuple[float, float, str]] = []
    first = sheet.chords[0].start
    if first > 1e-9:
        chords.append((0.0, min(first * spb, t1), "N"))
    for c in sheet.chords:
        if c.start >= q1 - 1e-9:
            break
        chords.append((c.start * spb, min(c.end * spb, t1), c.label))
    key = sheet.key
    return Piece(
        name=f"openewld-{song_id(sheet.name)}", source=SOURCE, notes=notes, programs=programs,
        key=key, key_segments=[(0.0, t1, key[0], key[1])] if key else [], chords=chords,
        beats=[b * spb for b in beats_q if b * spb < t1 - 1e-9],
        downbeats=[d * spb for d in downs_q if d * spb < t1 - 1e-9], tempo=tempo, meter=meter,
        duration=t1,
        description=(f"OpenEWLD {sheet.name} 0-{t1:.0f} s at {tempo:.1f} BPM, {pattern}, "
                     f"programs {programs}{drums}"),
        extra={"gain": float(10 ** (rng.uniform(-18, 0) / 20)), "constant_tempo": True,
               # the notated signature and mode, for reference only (not key truth)
               "key_signature": {"fifths": sheet.fifths, "mode": sheet.mode}},
    )


def song_id(name: str) -> str:
    """Short stable id of a song (first 10 hex digits of the SHA-1 of its folder name)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def song_pool(name: str) -> str:
    """"dev" for ~30 % of songs (by the hash of the song's folder name), else "eval"."""
    return "dev" if int(song_id(name), 16) % 100 < DEV_SHARE else "eval"


def sheet_files(root: Path) -> list[tuple[str, Path]]:
    """(song folder name, .mxl path) of every lead sheet under ``root``, sorted by name."""
    root = Path(root).expanduser()
    base = root / "dataset" if (root / "dataset").is_dir() else root
    files = sorted(base.glob("*/*/*.mxl")) if base.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"{root}: no OpenEWLD lead sheets here (expected dataset/<composer>/<song>/*.mxl, "
            "a copy of 00sapo/OpenEWLD); point the builder to a local copy")
    return [(f"{p.parent.parent.name}/{p.parent.name}", p) for p in files]


def drawing_order(root: Path, pool: str) -> list[tuple[str, Path]]:
    """The lead sheets of ``pool`` in the order the builder draws them (by song hash)."""
    sheets = [(n, p) for n, p in sheet_files(root) if song_pool(n.split("/")[-1]) == pool]
    return sorted(sheets, key=lambda np_: (song_id(np_[0].split("/")[-1]), np_[0]))


def split_entries(root: Path, split: str, groove: list[Path] | None = None,
                  count: int | None = None,
                  skipped: dict[str, int] | None = None) -> Iterator[tuple[str, Piece]]:
    """(song, piece) of ``split`` in drawing order; sheets that do not fit are counted in
    ``skipped`` by reason."""
    if split not in SPLIT_COUNTS:
        raise ValueError(f"split {split!r}: OpenEWLD has only {', '.join(SPLIT_COUNTS)}")
    want = SPLIT_COUNTS[split] if count is None else count
    made = 0
    for name, path in drawing_order(root, split):
        if made >= want:
            return
        song = name.split("/")[-1]
        rng = np.random.default_rng([2018, int(song_id(song), 16)])
        seconds = float(rng.uniform(30.0, 45.0))
        try:
            piece = render_sheet(parse_sheet(path, song), rng, groove or [], seconds)
        except SheetError as exc:
            if skipped is not None:
                skipped[exc.reason] = skipped.get(exc.reason, 0) + 1
            continue
        made += 1
        yield song, piece


def openewld_pieces(root: Path, split: str, count: int | None = None,
                    groove_root: Path | None = None) -> Iterator[Piece]:
    """Pieces of ``split`` ("eval" or "dev"), one per song, in a stable order."""
    from musicapp_lab.analysis.evalset.pop909 import check_root, groove_files

    groove = groove_files(check_root(groove_root, "Groove MIDI Dataset", "drummer1")) \
        if groove_root is not None else []
    for _, piece in split_entries(root, split, groove, count):
        yield piece


def split_songs(root: Path, split: str) -> list[str]:
    """The song folder names whose openings make up ``split``."""
    return [song for song, _ in split_entries(root, split)]


def signature_match(truth: dict, tonic: int, mode: str) -> float | None:
    """1.0 when key (``tonic``, ``mode``) has the notated key signature (the signature's major
    key or its relative minor), 0.0 when not, None without a notated signature. A mode-free
    diagnostic for pieces without key truth; not a key score."""
    sig = (truth.get("key_signature") or {}).get("fifths")
    if sig is None:
        return None
    major = (int(sig) * 7) % 12
    own = tonic % 12 if mode == "major" else (tonic + 3) % 12
    return float(own == major)


def main(argv: list[str] | None = None) -> None:
    """Print the key-signature agreement of the analysis and the baseline on the OpenEWLD
    pieces of a built split (``python -m musicapp_lab.analysis.evalset.openewld --split dev``)."""
    import argparse

    from musicapp.pitch import note_pc
    from musicapp_lab.analysis.evalset.evaluate import evaluate_split

    ap = argparse.ArgumentParser(description=main.__doc__.splitlines()[0] if main.__doc__ else "")
    ap.add_argument("--split", choices=["dev"], default="dev",
                    help="only 'dev': the evaluation split is scored once, by the lead")
    ap.add_argument("--cache-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    res = evaluate_split(f"{args.split}-real", cache_dir=args.cache_dir, sources={SOURCE})
    ours, base = [], []
    for row in res["items"]:
        k = row["res"].get("key")  # no key (null) counts as a miss
        ours.append(signature_match(row["truth"], note_pc(k["tonic"]), k["mode"]) if k else
                    (0.0 if signature_match(row["truth"], 0, "major") is not None else None))
        b = row["baseline"]["key"]
        base.append(signature_match(row["truth"], int(b[0]), b[1]))
    ours = [v for v in ours if v is not None]
    base = [v for v in base if v is not None]
    print(f"{args.split} OpenEWLD key-signature agreement (diagnostic, not key truth): ours "
          f"{np.mean(ours):.3f} (n {len(ours)}), baseline {np.mean(base):.3f} (n {len(base)})")


if __name__ == "__main__":
    main()
