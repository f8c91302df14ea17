"""Arrange a progression: voicings with smooth voice leading, bass line, melody, rhythm patterns.

* **Voicings**: four upper voices in MIDI 52..77; every inversion/spacing is a candidate and a
  Viterbi search picks the sequence with minimal total voice movement (sum of |semitone| moves of
  the sorted voices, with a light penalty for drifting from the middle register). In the jazz
  style the voicings add the colour tones of :func:`musicapp.compose.jazz.extensions` (i m9,
  V7(b9) in minor; V9, Imaj9 in major), the fifth making room, and the markers name them.
* **Bass**: the root nearest the previous bass note, the fifth in the middle of longer chords and a
  chromatic or diatonic approach note into the next root.
* **Melody**: chord tones on strong beats, passing/neighbour tones on weak beats taken from each
  chord's scale (the key's scale with the chord's own tones substituted).
* **Rhythm**: ``block``, ``arpeggio``, ``strum``, ``pop`` (syncopated comping); the default
  pattern, tempo and note density follow arousal.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

from musicapp.compose import jazz
from musicapp.compose.generate import Progression
from musicapp.compose.rhythm import Meter
from musicapp.compose.theory import ChordToken, Key

PATTERNS = ("block", "arpeggio", "strum", "pop")
VOICE_LOW, VOICE_HIGH = 52, 77
BASS_LOW, BASS_HIGH = 33, 52
MEL_LOW, MEL_HIGH = 65, 84


@dataclass(frozen=True)
class Note:
    """A note in beats."""

    start: float
    dur: float
    pitch: int
    velocity: int = 80


@dataclass
class Arrangement:
    """Everything the MIDI writer and the preview need."""

    key: Key
    tempo_bpm: float
    pattern: str
    spans: list[tuple[float, float, ChordToken]]  # (start beat, beats, chord)
    voicings: list[tuple[int, ...]]
    chords: list[Note] = field(default_factory=list)
    bass: list[Note] = field(default_factory=list)
    melody: list[Note] = field(default_factory=list)
    meter: Meter = field(default_factory=Meter)
    #: the chord symbol of each span as voiced (jazz colours: "Am9", "E7(b9)"); empty: the
    #: chords' own names
    names: list[str] = field(default_factory=list)

    @property
    def beats_per_bar(self) -> float:
        """Bar length in quarter notes."""
        return self.meter.bar_beats

    @property
    def total_beats(self) -> float:
        s, d, _ = self.spans[-1]
        return s + d

    @property
    def markers(self) -> list[tuple[float, str]]:
        if self.names:
            return [(s, n) for (s, _, _), n in zip(self.spans, self.names, strict=True)]
        return [(s, tok.name(self.key)) for s, _, tok in self.spans]


def tempo_for_arousal(arousal: float) -> float:
    """60 bpm at arousal -1 up to 140 bpm at +1 (linear)."""
    return round(100.0 + 40.0 * float(np.clip(arousal, -1, 1)))


def pattern_for_arousal(arousal: float) -> str:
    """Calm -> block, moderate -> arpeggio, lively -> pop comping, high -> strum."""
    if arousal < -0.35:
        return "block"
    if arousal < 0.1:
        return "arpeggio"
    if arousal < 0.5:
        return "pop"
    return "strum"


def voicing_candidates(pcs: list[int], low: int = VOICE_LOW, high: int = VOICE_HIGH,
                       voices: int = 4, max_span: int = 19) -> list[tuple[int, ...]]:
    """All ``voices``-note voicings (sorted MIDI tuples) containing every chord tone (5-note
    chords drop the fifth; triads double the root or the fifth)."""
    return list(_voicing_candidates(tuple(pcs), low, high, voices, max_span))


@functools.lru_cache(maxsize=4096)
def _voicing_candidates(pcs_t: tuple[int, ...], low: int, high: int, voices: int,
                        max_span: int) -> tuple[tuple[int, ...], ...]:
    pcs = list(pcs_t)
    if len(pcs) > voices:
        pcs = [p for i, p in enumerate(pcs) if i != 2][:voices]  # drop the fifth
    multisets = [pcs] if len(pcs) == voices else [[*pcs, pcs[0]], [*pcs, pcs[2 % len(pcs)]]]
    out: set[tuple[int, ...]] = set()
    for ms in multisets:
        options = [[m for m in range(low, high + 1) if m % 12 == pc] for pc in ms]
        for combo in itertools.product(*options):
            v = tuple(sorted(combo))
            if len(set(v)) < voices or v[-1] - v[0] > max_span:
                continue
            out.add(v)
    return tuple(sorted(out))


def voiced_pcs(tok: ChordToken, key: Key, style: str | None = None) -> list[int]:
    """Pitch classes a voicing of ``tok`` holds, root first: the chord tones, and in the jazz
    style its colour tones after them (a 5-note set; the voicing drops the fifth)."""
    pcs = tok.pitch_classes(key)
    if style == jazz.STYLE:
        root = pcs[0]
        pcs = pcs + [(root + e) % 12 for e in jazz.extensions(tok, key.mode)
                     if (root + e) % 12 not in pcs]
    return pcs


def movement(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Total voice movement between two sorted voicings of equal size."""
    return int(sum(abs(x - y) for x, y in zip(a, b, strict=True)))


def voice_lead(chords: list[list[int]], register_weight: float = 0.15, centre: float = 64.0
               ) -> list[tuple[int, ...]]:
    """Voicings minimising total movement (+ ``register_weight`` * distance of each voicing's mean
    from ``centre``) over the whole progression, by dynamic programming."""
    cands = [voicing_candidates(pcs) for pcs in chords]
    arrs = [np.asarray(cs, dtype=float) for cs in cands]
    reg = [register_weight * np.abs(a.mean(axis=1) - centre) for a in arrs]
    cost = reg[0].copy()
    back: list[np.ndarray] = []
    for i in range(1, len(cands)):
        move = np.abs(arrs[i][:, None, :] - arrs[i - 1][None, :, :]).sum(axis=2)
        total = move + cost[None, :]
        arg = total.argmin(axis=1)
        back.append(arg)
        cost = total[np.arange(len(cands[i])), arg] + reg[i]
    j = int(cost.argmin())
    path = [j]
    for arg in reversed(back):
        j = int(arg[j])
        path.append(j)
    path.reverse()
    return [cands[i][k] for i, k in enumerate(path)]


def chord_scale(tok: ChordToken, key: Key) -> list[int]:
    """Pitch classes of the chord's scale: the key's scale (natural minor in minor) with the
    chord tones substituted for scale tones a semitone away."""
    base = {(key.pc + s) % 12 for s in ((0, 2, 4, 5, 7, 9, 11) if key.mode == "major"
                                         else (0, 2, 3, 5, 7, 8, 10))}
    tones = set(tok.pitch_classes(key))
    for t in tones:
        base = {p for p in base if p in tones or min((p - t) % 12, (t - p) % 12) > 1}
    return sorted(base | tones)


def _nearest(pitch: int, pcs: set[int] | list[int], low: int, high: int) -> int:
    cands = [m for m in range(low, high + 1) if m % 12 in set(pcs)]
    return min(cands, key=lambda m: (abs(m - pitch), m))


def bass_line(spans: list[tuple[float, float, ChordToken]], key: Key, arousal: float
              ) -> list[Note]:
    """Roots (nearest the previous bass note), fifths mid-chord, approach notes into the next
    root. At low arousal only held roots."""
    notes: list[Note] = []
    prev = 40
    vel = int(70 + 25 * max(arousal, 0))
    for i, (s, d, tok) in enumerate(spans):
        root_pc = tok.pitch_classes(key)[0]
        root = _nearest(prev, [root_pc], BASS_LOW, BASS_HIGH - 5)
        prev = root
        if arousal < -0.35 or d < 2:
            notes.append(Note(s, d, root, vel))
            continue
        nxt = spans[(i + 1) % len(spans)][2]
        next_root = _nearest(root, [nxt.pitch_classes(key)[0]], BASS_LOW, BASS_HIGH - 5)
        fifth = root + 7 if root + 7 <= BASS_HIGH else root - 5
        beats = int(d)
        line = [root] * beats
        if beats >= 2:
            line[beats // 2] = fifth
        if next_root != root:
            step = 1 if next_root > line[-1] else -1
            approach = next_root - step  # chromatic approach from the side we come from
            if beats >= 3 or approach % 12 in chord_scale(tok, key):
                line[-1] = approach
        for k, p in enumerate(line):
            notes.append(Note(s + k, 1.0 if k < beats - 1 else d - k, p,
                              vel if k == 0 else vel - 12))
    return notes


def melody_line(spans: list[tuple[float, float, ChordToken]], key: Key, arousal: float,
                rng: np.random.Generator) -> list[Note]:
    """Chord tones on strong beats, passing/neighbour tones from the chord scale on weak ones."""
    step = 0.5 if arousal > 0.2 else (1.0 if arousal > -0.4 else 2.0)
    notes: list[Note] = []
    cur = _nearest(72, spans[0][2].pitch_classes(key), MEL_LOW, MEL_HIGH)
    for s, d, tok in spans:
        tones = tok.pitch_classes(key)
        scale = chord_scale(tok, key)
        scale_notes = [m for m in range(MEL_LOW, MEL_HIGH + 1) if m % 12 in scale]
        t = 0.0
        while t < d - 1e-9:
            strong = abs(t - round(t)) < 1e-9 and (int(round(s + t)) % 2 == 0 or t == 0)
            length = min(step, d - t)
            if strong:
                cands = sorted((m for m in range(MEL_LOW, MEL_HIGH + 1) if m % 12 in tones),
                               key=lambda m: abs(m - cur))[:3]
                cur = cands[int(rng.integers(len(cands)))] if len(cands) > 1 else cands[0]
                vel = 92
            else:
                # next strong target: a chord tone near the current note; step toward it
                target = _nearest(cur + int(rng.choice([-3, 3])), tones, MEL_LOW, MEL_HIGH)
                idx = int(np.searchsorted(scale_notes, cur))
                if target > cur:
                    cur = scale_notes[min(idx + 1, len(scale_notes) - 1)]
                elif target < cur:
                    cur = scale_notes[max(idx - 1, 0)]
                else:
                    cur = scale_notes[min(idx + 1, len(scale_notes) - 1)]
                vel = 74
            notes.append(Note(s + t, length * 0.95, cur, vel))
            t += length
    return notes


def learned_melody_line(spans: list[tuple[float, float, ChordToken]], key: Key, arousal: float,
                        rng: np.random.Generator, meter: Meter) -> list[Note]:
    """The melody rhythm of :func:`melody_line` with pitches from the learned melody model
    (:mod:`musicapp.compose.melody`)."""
    from musicapp.compose.melody import load_melody_model, sample_pitches

    model = load_melody_model()
    step = 0.5 if arousal > 0.2 else (1.0 if arousal > -0.4 else 2.0)
    bar, half = meter.bar_beats, meter.split[0]
    onsets, lengths, chords, strong = [], [], [], []
    for s, d, tok in spans:
        t = 0.0
        while t < d - 1e-9:
            pos = (s + t) % bar
            onsets.append(s + t)
            lengths.append(min(step, d - t))
            chords.append(tok.pitch_classes(key))
            strong.append(abs(pos) < 1e-9 or abs(pos - half) < 1e-9)
            t += step
    start = _nearest(72, spans[0][2].pitch_classes(key), MEL_LOW, MEL_HIGH)
    pitches = sample_pitches(model, onsets, chords, strong, key.pc, key.mode, rng, start=start)
    return [Note(o, ln * 0.95, p, 92 if st else 74)
            for o, ln, p, st in zip(onsets, lengths, pitches, strong, strict=True)]


def comp(spans: list[tuple[float, float, ChordToken]], voicings: list[tuple[int, ...]],
         pattern: str) -> list[Note]:
    """Chord-track notes for one rhythm pattern."""
    if pattern not in PATTERNS:
        raise ValueError(f"{pattern!r}: pattern must be one of {', '.join(PATTERNS)}")
    notes: list[Note] = []
    for (s, d, _), v in zip(spans, voicings, strict=True):
        if pattern == "block":
            notes += [Note(s, d, p, 72) for p in v]
        elif pattern == "arpeggio":
            order = [*v, *v[-2:0:-1]]
            k, t = 0, 0.0
            while t < d - 1e-9:
                notes.append(Note(s + t, min(0.5, d - t), order[k % len(order)], 70))
                k += 1
                t += 0.5
        elif pattern == "strum":
            hits = [h for h in np.arange(0.0, d, 2.0)]
            for j, h in enumerate(hits):
                end = hits[j + 1] if j + 1 < len(hits) else d
                for n_i, p in enumerate(v):
                    off = 0.03 * n_i
                    notes.append(Note(s + h + off, end - h - off, p, 84 - 4 * (j % 2)))
        else:  # pop comping: hits on 1, the "and" of 2, and 4 (within the chord's span)
            hits = [h for h in (0.0, 1.5, 3.0) if h < d] if d >= 2 else [0.0]
            for j, h in enumerate(hits):
                end = hits[j + 1] if j + 1 < len(hits) else d
                for p in v:
                    notes.append(Note(s + h, (end - h) * 0.9, p, 86 if h == 0 else 72))
    return notes


MELODIES = ("chord-tone", "learned")


def arrange(prog: Progression, *, pattern: str | None = None, tempo_bpm: float | None = None,
            seed: int = 0, melody: str = "chord-tone") -> Arrangement:
    """Arrange a progression in its meter; a loop that does not fill whole bars (a hand-made
    progression) has its last chord stretched to the bar line. ``melody`` is ``"chord-tone"``
    (the rule of :func:`melody_line`) or ``"learned"`` (:func:`learned_melody_line`)."""
    if melody not in MELODIES:
        raise ValueError(f"{melody!r}: melody must be one of {', '.join(MELODIES)}")
    meter = prog.meter
    beats_per_bar = meter.bar_beats
    beats = list(prog.beats)
    total = sum(beats)
    rem = (-total) % beats_per_bar
    if rem > 1e-9:
        beats[-1] += rem
    spans = []
    t = 0.0
    for tok, b in zip(prog.tokens, beats, strict=True):
        spans.append((t, float(b), tok))
        t += b
    pattern = pattern or pattern_for_arousal(prog.arousal)
    # what plays: the jazz colours of the generator's chords (m9, 7(b9)), a typed chord as typed
    voicings = voice_lead([voiced_pcs(tok, prog.key) for tok in prog.sounding])
    rng = np.random.default_rng(seed)
    names = prog.names if prog.style == jazz.STYLE or prog.typed else []  # what plays
    arr = Arrangement(prog.key, tempo_bpm or tempo_for_arousal(prog.arousal), pattern, spans,
                      voicings, meter=meter, names=names)
    arr.chords = comp(spans, voicings, pattern)
    arr.bass = bass_line(spans, prog.key, prog.arousal)
    if melody == "learned":
        arr.melody = learned_melody_line(spans, prog.key, prog.arousal, rng, meter)
    else:
        arr.melody = melody_line(spans, prog.key, prog.arousal, rng)
    return arr
