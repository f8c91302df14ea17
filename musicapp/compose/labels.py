"""Emotion labels for training sequences and the conditioning vector of the generator.

There is no emotion annotation for chord progressions in any licensed offline corpus, so training
labels are *derived* from properties of each sequence by fixed rules (documented in the model card):

* **valence** in [-1, 1]: ``0.45 * (+1 major / -1 minor)`` plus ``0.9 * (share of major-quality
  chords - share of minor/diminished-quality chords)`` (shares weighted by duration), clipped.
  Rationale: mode and major/minor chord quality are the best-replicated harmonic cues of
  positive/negative valence in music-emotion studies (e.g. Gabrielsson & Lindström 2010).
* **arousal** in [-1, 1]: the harmonic rate in chords per minute ``bpm / mean beats per chord``
  mapped as ``(log2(rate) - log2(30)) / 2``, plus ``0.8 * (share of dissonant chords
  [dim, dim7, m7b5, aug, dominant 7th/9th] - 0.15)``, clipped. ``bpm`` is the curated table's typical
  tempo; the corpus scores carry no tempo marking, so a nominal 70 quarter-notes/min is assumed for
  the chorales and the madrigals (an assumption: a moderate sung tempo). Tempo and harmonic
  rhythm are the main arousal cues.

Consequently the model learns "high valence -> more major-quality chords" and "high arousal ->
shorter chords / more dominant tension" *because the labels were defined that way*; the
conditioning evaluation measures whether the model reproduces these rules, not whether listeners
agree. Mood names map to points on Russell's (1980) circumplex (valence/arousal plane).
"""

from __future__ import annotations

import math

import numpy as np

from musicapp import moods
from musicapp.compose.theory import DARK_QUALITIES, MAJOR_QUALITIES, ChordToken

#: Mood prototypes on the valence/arousal plane: the app's one mood vocabulary
#: (:mod:`musicapp.moods`, our documented placements on Russell's circumplex), canonical words.
MOODS: dict[str, tuple[float, float]] = {m.word: (m.valence, m.arousal) for m in moods.VOCABULARY}
#: The prototypes whose similarity enters the condition vector (fixed order; part of the model).
COND_MOODS = ("happy", "energetic", "tense", "dark", "sad", "calm", "romantic", "epic")
COND_DIM = 3 + len(COND_MOODS)
DISSONANT = frozenset({"dim", "dim7", "m7b5", "aug", "7", "9", "7b9"})
DEFAULT_BPM = {"bach-auto": 70.0, "bach-expert": 70.0, "monteverdi-expert": 70.0}


def derive_valence(tokens: list[str], beats: list[float], mode: str) -> float:
    """Rule-based valence label of a sequence (see module docstring)."""
    toks = [ChordToken.parse(t) for t in tokens]
    w = np.asarray(beats, dtype=float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(toks), 1.0 / max(len(toks), 1))
    major = sum(wi for t, wi in zip(toks, w, strict=True) if t.quality in MAJOR_QUALITIES)
    dark = sum(wi for t, wi in zip(toks, w, strict=True) if t.quality in DARK_QUALITIES)
    v = 0.45 * (1.0 if mode == "major" else -1.0) + 0.9 * (major - dark)
    return float(np.clip(v, -1.0, 1.0))


def derive_arousal(tokens: list[str], beats: list[float], bpm: float) -> float:
    """Rule-based arousal label of a sequence (see module docstring)."""
    toks = [ChordToken.parse(t) for t in tokens]
    mean_beats = max(float(np.mean(beats)), 0.25)
    rate = bpm / mean_beats
    diss = sum(1 for t in toks if t.quality in DISSONANT) / max(len(toks), 1)
    a = (math.log2(rate) - math.log2(30.0)) / 2.0 + 0.8 * (diss - 0.15)
    return float(np.clip(a, -1.0, 1.0))


def mood_to_va(name: str) -> tuple[float, float]:
    """Valence/arousal point of a mood word or synonym (case-insensitive).

    Raises :class:`musicapp.moods.UnknownMoodError` (a ``MusicappError``) naming the nearest
    known words.
    """
    return moods.point(name)


def moods_to_va(scores: dict[str, float]) -> tuple[float, float] | None:
    """Score-weighted mean of the known mood prototypes among ``scores`` (None if none known)."""
    num_v = num_a = den = 0.0
    for name, s in scores.items():
        mood = moods.lookup(name)
        if mood is not None and s > 0:
            v, a = mood.valence, mood.arousal
            num_v += s * v
            num_a += s * a
            den += s
    if den <= 0:
        return None
    return num_v / den, num_a / den


def condition_vector(valence: float, arousal: float, mode: str) -> np.ndarray:
    """The generator's condition: [valence, arousal, is_minor, similarity to 8 mood prototypes].

    Similarities are ``exp(-d^2 / 0.5)`` of the distance on the valence/arousal plane.
    """
    v = float(np.clip(valence, -1, 1))
    a = float(np.clip(arousal, -1, 1))
    sims = [math.exp(-((v - MOODS[m][0]) ** 2 + (a - MOODS[m][1]) ** 2) / 0.5)
            for m in COND_MOODS]
    return np.asarray([v, a, 1.0 if mode == "minor" else 0.0, *sims], dtype=np.float32)
