"""What the analysis says about the key: ranked candidates with probabilities, tonic evidence,
"ambiguous between X and Y", an optional mode (Dorian, Mixolydian ...), Camelot and Open Key.

Every name is spelled for its key through :mod:`musicapp.pitch` (Db major, C# minor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musicapp import pitch
from musicapp.analysis import key as key_mod

AMBIGUOUS_RATIO = 0.6  # runner-up probability / best above which the key is called ambiguous
MIN_CANDIDATE_P = 0.01
NOISE_TONALITY = 0.1  # chroma std/mean of white noise is ~0.05


def key_entry(pc: int, mode: str, probability: float | None = None) -> dict:
    """JSON form of one key: tonic (spelled), mode, name, Camelot, Open Key [, probability]."""
    k = pitch.make_key(pc, mode)
    out = {"tonic": k.tonic, "mode": k.mode, "name": k.name,
           "camelot": pitch.camelot(pc, mode), "open_key": pitch.open_key(pc, mode)}
    if probability is not None:
        out["probability"] = round(float(probability), 3)
    return out


@dataclass
class KeyReport:
    """Global key (None with ``reason`` when there is no tonal centre) and its alternatives."""

    pc: int | None
    mode: str | None
    confidence: float
    probabilities: np.ndarray | None = None
    reason: str | None = None
    mode_detail: str | None = None
    evidence: dict = field(default_factory=dict)

    @property
    def key(self) -> pitch.KeyName | None:
        """The key as a :class:`musicapp.pitch.KeyName`, or None."""
        return None if self.pc is None or self.mode is None else pitch.make_key(self.pc, self.mode)

    def candidates(self, top: int = 3) -> list[dict]:
        """The ``top`` most probable keys, plus the relative and parallel of the best when their
        probability is at least :data:`MIN_CANDIDATE_P`; sorted by probability."""
        if self.probabilities is None or self.pc is None or self.mode is None:
            return []
        p = self.probabilities
        order = list(np.argsort(-p)[:top])
        best = pitch.make_key(self.pc, self.mode)
        for other in (pitch.relative(best), pitch.parallel(best)):
            i = other.pc + 12 * key_mod.MODES.index(other.mode)
            if i not in order and p[i] >= MIN_CANDIDATE_P:
                order.append(i)
        order.sort(key=lambda i: -p[i])
        out = []
        for i in order:
            e = key_entry(int(i) % 12, key_mod.MODES[int(i) // 12], float(p[i]))
            rel = _relation(best, pitch.make_key(int(i) % 12, key_mod.MODES[int(i) // 12]))
            if rel:
                e["relation"] = rel
            out.append(e)
        return out

    def ambiguity(self) -> str | None:
        """``"ambiguous between A minor and C major"`` when the runner-up is close, else None."""
        if self.probabilities is None or self.pc is None:
            return None
        order = np.argsort(-self.probabilities)
        a, b = self.probabilities[order[0]], self.probabilities[order[1]]
        if b < AMBIGUOUS_RATIO * a:
            return None
        names = [pitch.key_name(int(i) % 12, key_mod.MODES[int(i) // 12]) for i in order[:2]]
        return f"ambiguous between {names[0]} and {names[1]}"

    def to_dict(self) -> dict:
        """The ``key*`` fields of the analysis JSON."""
        if self.pc is None or self.mode is None:
            return {"key": None, "key_reason": self.reason, "key_candidates": [],
                    "key_ambiguity": None, "key_mode_detail": None, "key_evidence": {}}
        k = key_entry(self.pc, self.mode)
        k["confidence"] = round(float(self.confidence), 3)
        return {"key": k, "key_reason": None, "key_candidates": self.candidates(),
                "key_ambiguity": self.ambiguity(), "key_mode_detail": self.mode_detail,
                "key_evidence": self.evidence}


def _relation(a: pitch.KeyName, b: pitch.KeyName) -> str | None:
    if a == b:
        return "best"
    if pitch.relative(a) == b:
        return "relative"
    if pitch.parallel(a) == b:
        return "parallel"
    if a.mode == b.mode and (b.pc - a.pc) % 12 == 7:
        return "dominant"
    if a.mode == b.mode and (b.pc - a.pc) % 12 == 5:
        return "subdominant"
    return None


# Characteristic degree (semitones above the tonic) of each mode against the plain major/minor.
_MODES_OF = {
    "major": (("Mixolydian", 10, 11), ("Lydian", 6, 5)),
    "minor": (("Dorian", 9, 8), ("Phrygian", 1, 2)),
}


def mode_detail(chroma: np.ndarray, pc: int, mode: str) -> str | None:
    """A church mode when the chroma clearly prefers its characteristic degree over the plain
    major/minor one (e.g. Dorian: major 6th much stronger than minor 6th); else None."""
    c = np.asarray(chroma, dtype=np.float64)
    if c.sum() <= 0:
        return None
    c = c / c.max()
    for name, char, plain in _MODES_OF[mode]:
        a, b = c[(pc + char) % 12], c[(pc + plain) % 12]
        if a > 0.35 and a > 3.0 * b:
            return name
    if mode == "minor" and c[(pc + 11) % 12] > 0.35 and c[(pc + 11) % 12] > 2.0 * c[(pc + 10) % 12]:
        return "harmonic minor"
    return None


def no_key_reason(key_chroma: np.ndarray) -> str | None:
    """Why a summed chroma has no key (no pitched sound, noise, too few pitch classes), or None.

    The same test decides that a track has no chords (a single tone or noise is no chord)."""
    c = np.asarray(key_chroma, dtype=np.float64)
    if not np.any(c > 0):
        return "no pitched sound"
    tonal = float(c.std() / c.mean()) if c.mean() > 0 else 0.0
    if tonal < NOISE_TONALITY:
        return "no tonal centre (noise or unpitched sound)"
    if key_mod.effective_pitch_classes(c) < key_mod.MIN_PITCH_CLASSES:
        return "too few different pitches for a key"
    return None


def analyse_key(key_chroma: np.ndarray, bass_chroma: np.ndarray, labels: list[str],
                durations: np.ndarray) -> KeyReport:
    """The key report of a track from its summed key and bass chroma and decoded chords."""
    c = np.asarray(key_chroma, dtype=np.float64)
    reason = no_key_reason(c)
    if reason is not None:
        return KeyReport(None, None, 0.0, reason=reason)
    tonal = float(c.std() / c.mean())
    feats = key_mod.key_features(c, bass_chroma, labels, durations)
    p = key_mod.key_probabilities(feats)
    best = int(np.argmax(p))
    pc, mode = best % 12, key_mod.MODES[best // 12]
    # a barely tonal chroma (close to noise) cannot be confident, whatever the softmax says
    conf = float(p[best]) * float(np.clip((tonal - NOISE_TONALITY) / 0.3, 0.0, 1.0))
    chords = [lab for lab in labels if lab not in ("N", "X")]
    evidence = {
        "bass_tonic": pitch.spell_pc(int(np.argmax(bass_chroma)), pitch.make_key(pc, mode))
        if np.any(np.asarray(bass_chroma) > 0) else None,
        "first_chord": pitch.spell_chord(chords[0], pitch.make_key(pc, mode)) if chords else None,
        "last_chord": pitch.spell_chord(chords[-1], pitch.make_key(pc, mode)) if chords else None,
        "tonic_chord_share": round(float(feats[best, 2]), 3),
        "cadences": int(round(feats[best, 5] * 4)),
    }
    return KeyReport(pc, mode, conf, p, mode_detail=mode_detail(c, pc, mode), evidence=evidence)
