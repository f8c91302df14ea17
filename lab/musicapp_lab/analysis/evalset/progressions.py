"""Generated chord progressions with drums, bass and (sometimes) a melody, with exact ground truth.

Each piece has a known key (and sometimes a modulation), tempo, meter, beat grid and Harte chord
labels. Pieces are fully determined by ``(seed, index)``; the evaluation and development sets use
disjoint seeds so nothing tuned on the development pieces is scored.
"""

from __future__ import annotations

import numpy as np

from musicapp.analysis.labels import PITCH_NAMES, QUALITIES
from musicapp_lab.analysis.evalset.piece import Piece
from musicapp_lab.analysis.render import DRUM_CHANNEL, Note

# Diatonic chords: (scale-degree semitone offset from tonic, allowed qualities with weights).
MAJOR_DEGREES = {
    "I": (0, {"maj": 3, "maj7": 1, "sus2": 0.3}),
    "ii": (2, {"min": 2, "min7": 2}),
    "iii": (4, {"min": 2, "min7": 1}),
    "IV": (5, {"maj": 3, "maj7": 1}),
    "V": (7, {"maj": 2, "7": 2, "sus4": 0.5}),
    "vi": (9, {"min": 3, "min7": 1}),
    "vii": (11, {"dim": 1}),
}
MINOR_DEGREES = {
    "i": (0, {"min": 3, "min7": 1}),
    "ii": (2, {"dim": 1}),
    "III": (3, {"maj": 2, "maj7": 1}),
    "iv": (5, {"min": 3, "min7": 1}),
    "V": (7, {"maj": 2, "7": 2, "sus4": 0.3}),
    "VI": (8, {"maj": 3, "maj7": 1}),
    "VII": (10, {"maj": 2, "7": 1}),
}
MAJOR_PATTERNS = [
    ["I", "V", "vi", "IV"], ["I", "vi", "IV", "V"], ["ii", "V", "I", "I"], ["I", "IV", "V", "I"],
    ["I", "iii", "IV", "V"], ["vi", "IV", "I", "V"], ["I", "IV", "ii", "V"], ["I", "vi", "ii", "V"],
    ["IV", "V", "iii", "vi"], ["I", "V", "IV", "I"], ["I", "ii", "vii", "I"],
]
MINOR_PATTERNS = [
    ["i", "VI", "III", "VII"], ["i", "iv", "V", "i"], ["i", "VII", "VI", "V"], ["ii", "V", "i", "i"],
    ["i", "iv", "VII", "III"], ["i", "VI", "iv", "V"], ["VI", "VII", "i", "i"], ["i", "III", "iv", "V"],
]
CHORD_PROGRAMS = [0, 1, 4, 5, 16, 19, 24, 25, 26, 48, 49, 52, 88, 89, 61]
BASS_PROGRAMS = [32, 33, 34, 35, 38, 39, 42]
MELODY_PROGRAMS = [40, 56, 65, 71, 73, 80, 11]
EVAL_TEMPI = [50, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 156, 168, 184, 200, 208, 220]


def _choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _voicing(rng: np.random.Generator, root: int, quality: str) -> list[int]:
    """Close voicing around middle C with a random inversion."""
    base = 48 + root if root >= 5 else 60 + root
    pitches = [base + i for i in QUALITIES[quality]]
    inv = int(rng.integers(0, len(pitches)))
    for _ in range(inv):
        pitches = [*pitches[1:], pitches[0] + 12]
    while max(pitches) > 79:
        pitches = [p - 12 for p in pitches]
    while min(pitches) < 50:
        pitches = [p + 12 for p in pitches]
    return sorted(pitches)


def make_progression_piece(seed: int, index: int, tempo: float | None = None,
                           tonic: int | None = None, mode: str | None = None,
                           beats_per_bar: int | None = None) -> Piece:
    """Generate one piece; every random choice comes from ``(seed, index)``."""
    rng = np.random.default_rng([seed, index])
    tonic = int(rng.integers(0, 12)) if tonic is None else tonic
    mode = ("major" if rng.random() < 0.5 else "minor") if mode is None else mode
    tempo = float(rng.choice(EVAL_TEMPI)) if tempo is None else float(tempo)
    tempo *= float(rng.uniform(0.98, 1.02))
    bpb = (3 if rng.random() < 0.35 else 4) if beats_per_bar is None else beats_per_bar
    spb = 60.0 / tempo
    bar = bpb * spb
    n_bars = int(np.clip(round(40.0 / bar), 8, 32))
    n_bars += n_bars % 2
    # Harmonic rhythm: chords per bar (1, or 2 in 4/4).
    per_bar = 2 if (bpb == 4 and rng.random() < 0.3 and tempo > 70) else 1
    if tempo < 70 and bpb == 4 and rng.random() < 0.5:
        per_bar = 2
    modulate = rng.random() < 0.3
    mod_bar = n_bars * 2 // 3 if modulate else n_bars
    mod_target = (tonic + int(rng.choice([7, 5, 9 if mode == "major" else 3])), mode)
    if modulate and rng.random() < 0.3:
        # relative key instead of a fifth away
        mod_target = ((tonic + 9) % 12, "minor") if mode == "major" else ((tonic + 3) % 12,
                                                                            "major")
    chord_prog = int(rng.choice(CHORD_PROGRAMS))
    bass_prog = int(rng.choice(BASS_PROGRAMS))
    style = str(rng.choice(["block", "sustain", "arpeggio", "comp"]))
    drums = rng.random() < 0.85
    bass = rng.random() < 0.9
    melody = rng.random() < 0.5
    mel_prog = int(rng.choice(MELODY_PROGRAMS))
    jitter = 0.008
    notes: list[Note] = []
    chords: list[tuple[float, float, str]] = []
    key_segments: list[tuple[float, float, int, str]] = []

    def j() -> float:
        return float(rng.normal(0.0, jitter))

    cur_key = (tonic, mode)
    seg_start = 0.0
    pattern: list[str] = []
    slot = 0
    for b in range(n_bars):
        if b == mod_bar:
            key_segments.append((seg_start, b * bar, cur_key[0], cur_key[1]))
            seg_start = b * bar
            cur_key = (mod_target[0] % 12, mod_target[1])
            pattern = []
        degrees = MAJOR_DEGREES if cur_key[1] == "major" else MINOR_DEGREES
        patterns = MAJOR_PATTERNS if cur_key[1] == "major" else MINOR_PATTERNS
        for half in range(per_bar):
            if not pattern:
                pattern = list(patterns[int(rng.integers(0, len(patterns)))])
                if b == mod_bar and modulate:
                    # establish the new key with a cadence
                    pattern = ["ii" if cur_key[1] == "major" else "iv", "V",
                               "I" if cur_key[1] == "major" else "i",
                               "I" if cur_key[1] == "major" else "i"]
            deg = pattern.pop(0)
            offset, quals = degrees[deg]
            root = (cur_key[0] + offset) % 12
            quality = _choose(rng, quals)
            t0 = b * bar + half * bar / per_bar
            t1 = t0 + bar / per_bar
            chords.append((t0, t1, f"{PITCH_NAMES[root]}:{quality}"))
            beats_in = bpb // per_bar
            voicing = _voicing(rng, root, quality)
            vel = int(rng.integers(60, 90))
            if style == "sustain":
                for p in voicing:
                    notes.append(Note(t0 + j(), t1 - 0.02, 0, p, vel))
            elif style == "block":
                for k in range(beats_in):
                    for p in voicing:
                        notes.append(Note(t0 + k * spb + j(), t0 + (k + 0.9) * spb, 0, p,
                                          vel if k else vel + 10))
            elif style == "arpeggio":
                step = spb / 2 if tempo < 150 else spb
                n_steps = int(round((t1 - t0) / step))
                arp = [*voicing, voicing[0] + 12, *voicing[1:][::-1]]
                for k in range(n_steps):
                    p = arp[k % len(arp)]
                    notes.append(Note(t0 + k * step + j(), t0 + (k + 1.8) * step, 0, p, vel))
            else:  # comp: chord on 1, then off-beat stabs
                for p in voicing:
                    notes.append(Note(t0 + j(), t0 + 0.9 * spb, 0, p, vel + 8))
                for k in range(1, beats_in):
                    for p in voicing:
                        notes.append(Note(t0 + (k + 0.5) * spb + j(), t0 + (k + 0.9) * spb, 0,
                                          p, vel - 10))
            if bass:
                broot = 36 + root if root < 8 else 24 + root
                fifth = broot + 7
                pattern_b = [broot] * beats_in
                if beats_in >= 2 and rng.random() < 0.5:
                    pattern_b[beats_in // 2] = fifth if bpb == 4 else broot
                every = 1 if tempo < 150 else 2
                for k in range(0, beats_in, every):
                    notes.append(Note(t0 + k * spb + j(), t0 + (k + every * 0.9) * spb, 1,
                                      pattern_b[k], 95 if k == 0 else 80))
            if melody and slot % 2 == 0:
                pcs = [(root + i) % 12 for i in QUALITIES[quality]]
                k = 0
                while k < beats_in:
                    dur = int(rng.choice([1, 1, 2])) if k + 1 < beats_in else 1
                    p = 72 + int(rng.choice(pcs))
                    if p > 81:
                        p -= 12
                    notes.append(Note(t0 + k * spb + j(), t0 + (k + dur) * spb - 0.03, 2, p, 85))
                    k += dur
            slot += 1
    end = n_bars * bar
    key_segments.append((seg_start, end, cur_key[0], cur_key[1]))
    beats = [i * spb for i in range(n_bars * bpb)]
    downbeats = [i * bar for i in range(n_bars)]
    if drums:
        for i, t in enumerate(beats):
            pos = i % bpb
            if bpb == 4:
                kick, snare = pos in (0, 2), pos in (1, 3)
            else:
                kick, snare = pos == 0, pos in (1, 2)
            if kick:
                notes.append(Note(t + j(), t + 0.1, DRUM_CHANNEL, 36, 110 if pos == 0 else 95))
            if snare:
                notes.append(Note(t + j(), t + 0.1, DRUM_CHANNEL, 38, 90))
            if pos == 0 and i % (bpb * 4) == 0:
                notes.append(Note(t + j(), t + 0.5, DRUM_CHANNEL, 49, 90))
            hat = 42 if tempo < 170 else 51
            sub = 2 if tempo < 150 else 1
            for s in range(sub):
                notes.append(Note(t + s * spb / sub + j(), t + s * spb / sub + 0.05,
                                  DRUM_CHANNEL, hat, 70 if s == 0 else 55))
    programs = {0: chord_prog, 1: bass_prog, 2: mel_prog}
    mix = f"{style}{'+drums' if drums else ''}{'+bass' if bass else ''}{'+mel' if melody else ''}"
    return Piece(
        name=f"gen-{seed}-{index:03d}",
        source="generated",
        notes=notes,
        programs=programs,
        key=(tonic, mode),
        key_segments=key_segments,
        chords=chords,
        beats=beats,
        downbeats=downbeats,
        tempo=60.0 / spb,
        meter=f"{bpb}/4",
        duration=end,
        description=f"prog {chord_prog} bass {bass_prog} {mix}",
    )


def generated_pieces(seed: int, count: int) -> list[Piece]:
    """``count`` pieces covering all 24 keys in turn (tonic and mode cycle with the index)."""
    out = []
    for i in range(count):
        tonic = (i * 7) % 12
        mode = "major" if (i // 12) % 2 == 0 else "minor"
        out.append(make_progression_piece(seed, i, tonic=tonic, mode=mode))
    return out
