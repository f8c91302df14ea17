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
#: below this calibrated confidence the app says "no clear key" (with the best guess) instead of
#: naming a key: the shown best key is then less likely than 3 in 10 to be right, and capped
#: runners-up tie with it (Taiko_1.ogg: Ab major 0.10, Ab minor 0.10; temple.ogg: G major 0.26,
#: G# minor 0.26, C minor 0.21 - unrelated keys a musician would not call "ambiguous between").
#: Raised from 0.15 after the second musician's look; Ambience.ogg (F major 0.34 = F minor 0.34)
#: stays "ambiguous between F major and F minor".
NO_CLEAR_KEY = 0.30


def is_clear(confidence: float | None) -> bool:
    """Whether a key with this calibrated ``confidence`` is named as the key (see
    :data:`NO_CLEAR_KEY`)."""
    return confidence is not None and float(confidence) >= NO_CLEAR_KEY


def key_headline(key: dict) -> str:
    """How the CLI and the GUI name the key of the analysis JSON's ``key`` field: "A minor" or,
    below :data:`NO_CLEAR_KEY`, "no clear key (best guess A minor)"."""
    name = f"{key.get('tonic', '?')} {key.get('mode', '')}".strip()
    return name if is_clear(key.get("confidence")) else f"no clear key (best guess {name})"


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
    """The probabilities the app shows: the best key (the scorer's argmax) gets the calibrated
    ``confidence``; the other keys share the rest by water-filling on the key scorer's softmax
    ``p``: key i gets ``min(confidence, lam * p_i)`` with ``lam`` chosen so that all sum to 1.

    So no other key is ever shown above the best one (a capped key ties with it), and the
    uncapped keys keep the scorer's ratios. Splitting the rest in proportion to ``p`` alone (as
    before) let a runner-up the scorer rated just below the best climb above the calibrated
    confidence (F major 0.34 beside F minor 0.56). With ``confidence`` < 1/24 no split keeps the
    best on top; the others are then capped at 1/24 and the best key gets what is left."""
    p = np.asarray(p, dtype=np.float64)
    n = p.size
    best = int(np.argmax(p))
    conf = float(np.clip(confidence, 0.0, 1.0))
    cap = max(conf, 1.0 / n)
    rest = np.clip(p.copy(), 0.0, None)
    rest[best] = 0.0
    if rest.sum() <= 0:
        rest = np.ones_like(p)
        rest[best] = 0.0
    target = 1.0 - conf
    out = np.zeros_like(p)
    free = rest > 0
    remaining = target
    # water-filling: cap the largest keys at ``cap`` until the proportional share of the rest
    # fits under it (at most n rounds)
    for _ in range(n):
        lam = remaining / float(rest[free].sum()) if free.any() else 0.0
        share = lam * rest
        over = free & (share > cap)
        if not over.any():
            out[free] = share[free]
            break
        out[over] = cap
        free &= ~over
        remaining = target - float(out[~free].sum())
        if remaining <= 0 or not free.any():
            break
    out[best] = 1.0 - float(out.sum() - out[best]) if conf * n < 1.0 else conf
    return out


def other_keys(probabilities: np.ndarray, scores: np.ndarray | None, best: int) -> list[int]:
    """Indices of the keys other than ``best``, most likely first: by shown probability, ties
    (keys capped at the best key's probability) broken by the key scorer's ``scores``."""
    p = np.asarray(probabilities, dtype=np.float64)
    s = np.zeros_like(p) if scores is None else np.asarray(scores, dtype=np.float64)
    order = sorted((i for i in range(p.size) if i != best),
                   key=lambda i: (-round(float(p[i]), 9), -float(s[i])))
    return order


@dataclass
class KeyReport:
    """Global key (None with ``reason`` when there is no tonal centre) and its alternatives.

    ``probabilities`` are the shown ones (:func:`shown_probabilities`: the best key's equals
    ``confidence`` and no other key's is higher); ``scores`` the key scorer's softmax they were
    derived from."""

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

    @property
    def index(self) -> int | None:
        """Index of the best key in :attr:`probabilities` (pc + 12 * mode index), or None."""
        if self.pc is None or self.mode is None:
            return None
        return int(self.pc) % 12 + 12 * key_mod.MODES.index(self.mode)

    def _others(self) -> list[int]:
        assert self.probabilities is not None and self.index is not None
        return other_keys(self.probabilities, self.scores, self.index)

    def candidates(self, top: int = 3) -> list[dict]:
        """The best key first, then the ``top - 1`` most likely other keys (shown probability,
        ties broken by the scorer) plus the relative and parallel of the best when their
        probability is at least :data:`MIN_CANDIDATE_P`; each spelled beside the best key."""
        if self.probabilities is None or self.index is None:
            return []
        p = self.probabilities
        others = self._others()
        chosen = others[:max(0, top - 1)]
        best = pitch.make_key(self.pc, self.mode)
        for other in (pitch.relative(best), pitch.parallel(best)):
            i = other.pc + 12 * key_mod.MODES.index(other.mode)
            if i not in chosen and p[i] >= MIN_CANDIDATE_P:
                chosen.append(i)
        rank = {i: r for r, i in enumerate(others)}
        out = []
        for i in [self.index, *sorted(chosen, key=lambda i: rank[i])]:
            k = pitch.make_key(int(i) % 12, key_mod.MODES[int(i) // 12], near=best)
            e = key_entry(int(i) % 12, key_mod.MODES[int(i) // 12], float(p[i]), near=best)
            rel = _relation(best, k)
            if rel:
                e["relation"] = rel
            out.append(e)
        return out

    def ambiguity(self) -> str | None:
        """What the key line adds about doubt, decided on the shown probabilities; the other key
        named is always the most likely key other than the best (:func:`other_keys`):

        * ``"no clear key: A minor or C major"`` when the confidence is below
          :data:`NO_CLEAR_KEY`;
        * ``"ambiguous between A minor and C major"`` when the runner-up's probability is at least
          :data:`AMBIGUOUS_RATIO` of the best's, or the best's is below
          :data:`AMBIGUOUS_CONFIDENCE` and the runner-up's at least :data:`AMBIGUOUS_RUNNER_UP`;
        * ``"ambiguous between C minor and C major (the chords centre on C major)"`` when the
          relative or parallel key's tonic chord fills more of the chord time than the best
          key's (by :data:`CONTRADICTION_SHARE`) and that key has a shown probability of at
          least :data:`CONTRADICTION_P`;
        * else None."""
        if self.probabilities is None or self.index is None:
            return None
        p = self.probabilities
        best = pitch.make_key(self.pc, self.mode)
        second = self._others()[0]
        other = pitch.make_key(second % 12, key_mod.MODES[second // 12], near=best)
        a, b = float(p[self.index]), float(p[second])
        if not is_clear(self.confidence):
            return f"no clear key: {best.name} or {other.name}"
        if b >= AMBIGUOUS_RATIO * a or (a < AMBIGUOUS_CONFIDENCE and b >= AMBIGUOUS_RUNNER_UP):
            return f"ambiguous between {best.name} and {other.name}"
        shares = self.evidence.get("other_tonic_chord_share") or {}
        own = float(self.evidence.get("tonic_chord_share") or 0.0)
        for rel in (pitch.relative(best), pitch.parallel(best)):
            i = rel.pc + 12 * key_mod.MODES.index(rel.mode)
            name = pitch.make_key(rel.pc, rel.mode, near=best).name
            if (float(shares.get(rel.name, 0.0)) >= own + CONTRADICTION_SHARE
                    and p[i] >= CONTRADICTION_P):
                return (f"ambiguous between {best.name} and {name} (the chords centre on "
                        f"{name})")
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
    """How key ``b`` relates to ``a`` (by pitch class and mode: spellings may differ)."""
    def same(x: pitch.KeyName, y: pitch.KeyName) -> bool:
        return x.pc == y.pc and x.mode == y.mode

    if same(a, b):
        return "best"
    if same(pitch.relative(a), b):
        return "relative"
    if same(pitch.parallel(a), b):
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


def _score_keys(c: np.ndarray, bass_chroma: np.ndarray, labels: list[str],
                durations: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(key features, key-scorer softmax, calibrated confidence of its best key) of a stretch
    of music with a tonal chroma ``c`` (:func:`no_key_reason` is None): the margin and the
    amount of evidence through the calibrated map (capped for short stretches), times how tonal
    (far from noise) the chroma is."""
    tonal = float(c.std() / c.mean())
    feats = key_mod.key_features(c, bass_chroma, labels, durations)
    p = key_mod.key_probabilities(feats)
    x = key_mod.confidence_features(feats, p, list(labels), np.asarray(durations))
    conf = key_mod.calibrated_confidence(x) * float(
        np.clip((tonal - NOISE_TONALITY) / 0.3, 0.0, 1.0))
    return feats, p, conf


def analyse_key(key_chroma: np.ndarray, bass_chroma: np.ndarray, labels: list[str],
                durations: np.ndarray) -> KeyReport:
    """The key report of a track from its summed key and bass chroma and decoded chords."""
    c = np.asarray(key_chroma, dtype=np.float64)
    reason = no_key_reason(c)
    if reason is not None:
        return KeyReport(None, None, 0.0, reason=reason)
    # P(right) from the margin and the amount of evidence (calibrated on training songs, capped
    # for short clips); a barely tonal chroma (close to noise) cannot be confident either
    feats, p, conf = _score_keys(c, bass_chroma, labels, durations)
    best = int(np.argmax(p))
    pc, mode = best % 12, key_mod.MODES[best // 12]
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


# ---- the local-key timeline ---------------------------------------------------------------------
#: A section shows a key other than the global one only when that key is confidently its own
#: (a real modulation): calibrated P(right) from the section's own evidence of at least this ...
LOCAL_KEY_CONFIDENCE = 0.6
#: ... and the global key far behind in the section's own key scores (its softmax below this
#: fraction of the section's best key's). Otherwise the section shows the global key.
LOCAL_GLOBAL_RATIO = 0.1


def section_key(key_chroma: np.ndarray, bass_chroma: np.ndarray, labels: list[str],
                durations: np.ndarray, report: KeyReport) -> tuple[int, float]:
    """(key index, confidence) a section of a track shows, from its summed key and bass chroma
    and its chords: its own best key (the global key's scorer and calibrated confidence map, on
    the section's evidence) when that differs from the global key ``report`` confidently (at
    least :data:`LOCAL_KEY_CONFIDENCE`, the global key below :data:`LOCAL_GLOBAL_RATIO` of it in
    the section's scores); else the global key with its confidence."""
    glob = report.index
    assert glob is not None, "a track without a key has no local keys"
    c = np.asarray(key_chroma, dtype=np.float64)
    if no_key_reason(c) is None:
        _, p, conf = _score_keys(c, np.asarray(bass_chroma, dtype=np.float64), list(labels),
                                 np.asarray(durations, dtype=np.float64))
        best = int(np.argmax(p))
        if best != glob and conf >= LOCAL_KEY_CONFIDENCE and p[glob] < LOCAL_GLOBAL_RATIO * p[best]:
            return best, float(conf)
    return glob, float(report.confidence)


def key_timeline(key_chroma: np.ndarray, bass_chroma: np.ndarray, labels: list[str],
                 durations: np.ndarray, bounds_s: np.ndarray, report: KeyReport,
                 duration: float) -> list[key_mod.KeySegment]:
    """The local keys of a track, agreeing with its global key ``report``.

    ``key_chroma``/``bass_chroma``: duration-weighted chroma per chord segment (12, m);
    ``labels``/``durations``: each segment's chord label and seconds; ``bounds_s`` its bounds
    (m+1,). The sections of :func:`musicapp.analysis.key.local_key_runs` are scored with the same
    key scorer and calibrated confidence map as the global key, on the section's own evidence
    (margin, chord seconds, chord count). A section shows its own best key only when that key
    differs from the global one confidently (:data:`LOCAL_KEY_CONFIDENCE`, global key below
    :data:`LOCAL_GLOBAL_RATIO` of it in the section's scores); else the global key, with the
    global key's confidence. Neighbouring sections with the same key are joined; a track
    without a modulation has one entry, the global key from 0 to ``duration``. No key: []."""
    if report.pc is None or report.mode is None:
        return []
    glob = report.index
    chroma = np.asarray(key_chroma, dtype=np.float64)
    bass = np.asarray(bass_chroma, dtype=np.float64)
    durations = np.asarray(durations, dtype=np.float64)
    shown: list[list] = []  # [key index, first segment, end segment, confidence]
    for _, a, b in key_mod.local_key_runs(chroma, bounds_s):
        key, conf = section_key(chroma[:, a:b].sum(axis=1), bass[:, a:b].sum(axis=1),
                                list(labels[a:b]), durations[a:b], report)
        if shown and shown[-1][0] == key:
            shown[-1][2] = b
            if key != glob:  # a joined section: the less certain part bounds the whole
                shown[-1][3] = min(shown[-1][3], conf)
        else:
            shown.append([key, a, b, conf])
    if len(shown) <= 1:
        return [key_mod.KeySegment(0.0, float(duration), key_mod.KeyEstimate(
            int(report.pc), report.mode, float(report.confidence)))]
    out = []
    for i, (key, a, b, conf) in enumerate(shown):
        start = 0.0 if i == 0 else float(bounds_s[a])
        end = float(duration) if i == len(shown) - 1 else float(bounds_s[b])
        out.append(key_mod.KeySegment(start, end, key_mod.KeyEstimate(
            key % 12, key_mod.MODES[key // 12], float(conf))))
    return out


def timeline_entries(timeline: list[key_mod.KeySegment], report: KeyReport) -> list[dict]:
    """JSON form of the key timeline (``key_timeline``): each section's key spelled after the
    global key (:func:`musicapp.pitch.key_after`), with its start, end and confidence."""
    out = []
    for s in timeline:
        entry = key_entry(s.key.tonic, s.key.mode)
        k = pitch.key_after(s.key.tonic, s.key.mode, report.key)
        entry.update(tonic=k.tonic, name=k.name)
        out.append({"start": round(s.start, 3), "end": round(s.end, 3), **entry,
                    "confidence": round(float(s.key.confidence), 3)})
    return out


def key_at(timeline: list[key_mod.KeySegment], time: float,
           default: pitch.KeyName | None) -> pitch.KeyName | None:
    """The key a chord starting at ``time`` seconds is spelled in: its timeline section's key
    (:func:`musicapp.pitch.key_after` the global key ``default``), or ``default`` outside every
    section."""
    for s in timeline:
        if s.start <= time < s.end:
            if default is not None and (s.key.tonic, s.key.mode) == (default.pc, default.mode):
                return default
            return pitch.key_after(s.key.tonic, s.key.mode, default)
    return default
