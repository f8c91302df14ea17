"""Start from a MIDI clip: continue it, reharmonise it, or fill its gaps.

* ``continue``: the clip's recognised chords (and their lengths) are kept as the start of the
  loop and the model writes the rest, in whole bars, up to the requested number of chords after
  the clip's own.
* ``reharmonise``: every chord span of the clip gets a new chord (never the recognised one),
  keeping the clip's harmonic rhythm; candidates are ranked by the model's likelihood plus how
  much of the clip's sounding notes are chord tones of the new chords.
* ``fill``: spans where the clip is silent, or where no chord fits its notes well, are written by
  the model; the recognised chords stay.

The emotion, when none is given, follows the clip by the same rule as the training labels:
arousal ``(bpm - 100) / 40`` and valence ``+-0.6`` from the detected mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.compose.generate import ConstraintError, Constraints, Generator, Progression
from musicapp.compose.midi_input import (
    Clip,
    RecognisedChord,
    detect_key,
    pitch_histogram,
    read_clip,
    recognise_chords,
)
from musicapp.compose.theory import Key
from musicapp.errors import MusicappError

ACTIONS = ("continue", "reharmonise", "fill")
#: a recognised chord covering less than this share of the notes is "unclear" for ``fill``
CLEAR_FIT = 0.6
#: the longest loop ``continue`` writes (clip chords plus new ones)
MAX_LOOP = 64


@dataclass
class ClipIdea:
    """The result: the clip as read, its chords, and the new progression."""

    clip: Clip
    key: Key
    key_confidence: float
    recognised: list[RecognisedChord]
    progression: Progression
    action: str
    notes: list[str] = field(default_factory=list)


def clip_emotion(clip: Clip, key: Key) -> tuple[float, float]:
    """(valence, arousal) of a clip by the training-label rule (mode and tempo)."""
    a = float(np.clip((clip.tempo_bpm - 100.0) / 40.0, -1, 1))
    v = float(np.clip(0.6 * (1 if key.mode == "major" else -1) + 0.4 * np.tanh(a), -1, 1))
    return v, a


def chord_tone_share(prog: Progression, clip: Clip) -> float:
    """Share of the clip's sounding note duration that are chord tones of the progression."""
    t, inside, total = 0.0, 0.0, 0.0
    for tok, b in zip(prog.tokens, prog.beats, strict=True):
        h = pitch_histogram(clip.notes, t, t + b)
        pcs = tok.pitch_classes(prog.key)
        inside += h[pcs].sum()
        total += h.sum()
        t += b
    return float(inside / total) if total > 0 else 0.0


def idea_from_clip(path: str | Path, gen: Generator, *, action: str = "continue",
                   key: Key | None = None, valence: float | None = None,
                   arousal: float | None = None, length: int = 8, seed: int = 0,
                   candidates: int = 8, style: str | None = None,
                   constraints: Constraints | None = None, **kw) -> ClipIdea:
    """Read the clip and build the progression for ``action`` (see the module docstring)."""
    if action not in ACTIONS:
        raise MusicappError(f"{action!r}: choose one of {', '.join(ACTIONS)}")
    clip = read_clip(path)
    found, conf = detect_key(clip.notes, signature=clip.key_signature)
    key = key or found
    spans = recognise_chords(clip, key)
    said = list(clip.notes_text)
    if valence is None or arousal is None:
        valence, arousal = clip_emotion(clip, key)
    base = constraints or Constraints()
    chords = [s for s in spans if s.token is not None]
    if not chords:
        raise MusicappError(f"{path}: no chord could be recognised in the clip")
    common = {"start_on_tonic": False, "cadence": base.cadence, "no_repeats": base.no_repeats,
              "max_nondiatonic": None, "meter": clip.meter,
              "chords_per_bar": base.chords_per_bar}
    if action == "continue":
        n_clip = len(spans)
        if n_clip >= MAX_LOOP:
            raise MusicappError(
                f"{path}: the clip already holds {n_clip} chord spans; a loop has at most "
                f"{MAX_LOOP} chords, so there is no room to continue it (give a shorter clip, "
                "or reharmonise or fill it)")
        L = min(n_clip + length, MAX_LOOP)
        locked = {i: s.token.token for i, s in enumerate(spans) if s.token is not None}
        beats: list[float | None] = [s.beats for s in spans] + [None] * (L - n_clip)
        c = Constraints(length=L, locked=locked, beats=beats, **common)
        # a clip may repeat a chord across a silent span: relax no-repeat inside the clip only
        prog = gen.generate(valence, arousal, key, c, seed=seed, candidates=candidates,
                            style=style, **kw)
    else:
        L = len(spans)
        if L < 2:
            raise MusicappError(f"{path}: the clip holds one chord; nothing to {action}")
        beats = [s.beats for s in spans]
        if action == "fill":
            locked = {i: s.token.token for i, s in enumerate(spans)
                      if s.token is not None and s.fit >= CLEAR_FIT}
            if len(locked) == L:
                said.append("every span of the clip has a clear chord: nothing to fill; the "
                            "clip's chords are returned")
            c = Constraints(length=L, locked=locked, beats=beats, **common)
            prog = gen.generate(valence, arousal, key, c, seed=seed, candidates=candidates,
                                style=style, **kw) if len(locked) < L else Progression(
                key, [s.token for s in spans], beats, valence, arousal, meter=clip.meter,
                style=style)
        else:
            exclude = {i: {s.token.token} for i, s in enumerate(spans) if s.token is not None}
            c = Constraints(length=L, exclude=exclude, beats=beats, **common)
            rng = np.random.default_rng(seed)
            try:
                cands = gen.sample(valence, arousal, key, c, n=max(candidates, 16), rng=rng,
                                   style=style)
            except ConstraintError as exc:
                raise MusicappError(f"cannot reharmonise this clip: {exc}") from None
            for p in cands:
                p.fit = chord_tone_share(p, clip)
                p.score = p.loglik + 4.0 * p.fit
            prog = max(cands, key=lambda p: p.score)
    prog.notes = said + prog.notes
    return ClipIdea(clip, key, conf, spans, prog, action, said)
