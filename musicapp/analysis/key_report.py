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
#: a best key below this shown probability is called ambiguous when the runner-up has at least
#: AMBIGUOUS_RUNNER_UP (Am-F-C-G: C major 0.54, A minor 0.22)
AMBIGUOUS_CONFIDENCE = 0.6
AMBIGUOUS_RUNNER_UP = 0.2
MIN_CANDIDATE_P = 0.01
#: the relative/parallel key's tonic chord fills this much more chord time than the best's ...
CONTRADICTION_SHARE = 0.1
#: ... and has at least this shown probability: the key is called ambiguous
CONTRADICTION_P = 0.05
NOISE_TONALITY = 0.1  # chroma std/mean of white noise is ~0.05


def key_entry(pc: int, mode: str, probability: float | None = None,
              near: pitch.KeyName | None = None) -> dict:
    """JSON form of one key: tonic (spelled), mode, name, Camelot, Open Key [, probability].

    ``near``: the key this one is shown beside (see :func:`musicapp.pitch.make_key`)."""
    k = pitch.make_key(pc, mode, near=near)
    out = {"tonic": k.tonic, "mode": k.mode, "name": k.name,
           "camelot": pitch.camelot(pc, mode), "open_key": pitch.open_key(pc, mode)}
    if probability is not None:
        out["probability"] = round(float(probability), 3)
    return out


def shown_probabilities(p: np.ndarray, confidence: float) -> np.ndarray:
    """The probabilities the app shows: the best key gets the calibrated ``confidence`` and the
    other keys share the rest in proportion to the key scorer's softmax ``p``."""
    p = np.asarray(p, dtype=np.float64)
    best = int(np.argmax(p))
    rest = p.copy()
    rest[best] = 0.0
    total = float(rest.sum())
    rest = rest / total if total > 0 else np.full_like(p, 1.0 / (p.size - 1))
    rest[best] = 0.0
    out = (1.0 - float(confidence)) * rest
    out[best] = float(confidence)
    return out


@dataclass
class KeyReport:
    """Global key (None with ``reason`` when there is no tonal centre) and its alternatives.

    ``probabilities`` are the shown ones (:func:`shown_probabilities`: the best key's equals
    ``confidence``); ``scores`` the key scorer's softmax they were derived from."""

    pc: int | None
    mode: str | None
    confidence: float
    probabilities: np.ndarray | None = None
    reason: str | None = None
    mode_detail: str | None = None
    evidence: dict = field(default_factory=dict)
    scores: np.ndarray | None = None

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
            e = key_entry(int(i) % 12, key_mod.MODES[int(i) // 12], float(p[i]), near=best)
            rel = _relation(best, pitch.make_key(int(i) % 12, key_mod.MODES[int(i) // 12]))
            if rel:
                e["relation"] = rel
            out.append(e)
        return out

    def ambiguity(self) -> str | None:
        """``"ambiguous between A minor and C major"`` when the runner-up's shown probability is
        at least :data:`AMBIGUOUS_RATIO` of the best's, or when the best's is below
        :data:`AMBIGUOUS_CONFIDENCE` and the runner-up's at least :data:`AMBIGUOUS_RUNNER_UP`;
        ``"ambiguous between C minor and C major
        (the chords centre on C major)"`` when the relative or parallel key's tonic chord fills
        more of the chord time than the best key's (by :data:`CONTRADICTION_SHARE`) and that key
        has a shown probability of at least :data:`CONTRADICTION_P`; else None."""
        if self.probabilities is None or self.pc is None or self.mode is None:
            return None
        p = self.probabilities
        order = np.argsort(-p)
        best = pitch.make_key(self.pc, self.mode)
        a, b = float(p[order[0]]), float(p[order[1]])
        if b >= AMBIGUOUS_RATIO * a or (a < AMBIGUOUS_CONFIDENCE and b >= AMBIGUOUS_RUNNER_UP):
            other = pitch.make_key(int(order[1]) % 12, key_mod.MODES[int(order[1]) // 12],
                                   near=best)
            return f"ambiguous between {best.name} and {other.name}"
        shares = self.evidence.get("other_tonic_chord_share") or {}
        own = float(self.evidence.get("tonic_chord_share") or 0.0)
        for other in (pitch.relative(best), pitch.parallel(best)):
            i = other.pc + 12 * key_mod.MODES.index(other.mode)
            if (float(shares.get(other.name, 0.0)) >= own + CONTRADICTION_SHARE
                    and p[i] >= CONTRADICTION_P):
                return (f"ambiguous between {best.name} and {other.name} (the chords centre on "
                        f"{other.name})")
        return None

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
    # P(right) from the margin and the amount of evidence (calibrated on training songs, capped
    # for short clips); a barely tonal chroma (close to noise) cannot be confident either
    x = key_mod.confidence_features(feats, p, list(labels), np.asarray(durations))
    conf = key_mod.calibrated_confidence(x) * float(
        np.clip((tonal - NOISE_TONALITY) / 0.3, 0.0, 1.0))
    chords = [lab for lab in labels if lab not in ("N", "X")]
    evidence = {
        "bass_tonic": pitch.spell_pc(int(np.argmax(bass_chroma)), pitch.make_key(pc, mode))
        if np.any(np.asarray(bass_chroma) > 0) else None,
        "first_chord": pitch.spell_chord(chords[0], pitch.make_key(pc, mode)) if chords else None,
        "last_chord": pitch.spell_chord(chords[-1], pitch.make_key(pc, mode)) if chords else None,
        "tonic_chord_share": round(float(feats[best, 2]), 3),
        "other_tonic_chord_share": {k.name: round(float(feats[k.pc + 12 * key_mod.MODES.index(
            k.mode), 2]), 3) for k in (pitch.relative(pitch.make_key(pc, mode)),
                                       pitch.parallel(pitch.make_key(pc, mode)))},
        "cadences": int(round(feats[best, 5] * 4)),
    }
    return KeyReport(pc, mode, conf, shown_probabilities(p, conf),
                     mode_detail=mode_detail(c, pc, mode), evidence=evidence, scores=p)
