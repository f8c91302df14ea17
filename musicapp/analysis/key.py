"""Key and mode: profile correlation for the global key, an HMM over 24 keys for modulations."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from musicapp.analysis.labels import MODES

# Temperley (2001), derived from the Kostka-Payne corpus.
TEMPERLEY_MAJOR = np.array([0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366,
                            0.057, 0.400])
TEMPERLEY_MINOR = np.array([0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067,
                            0.133, 0.330])
# Albrecht & Shanahan (2013).
AS_MAJOR = np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008,
                     0.081])
AS_MINOR = np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061,
                     0.052])


@dataclass
class KeyEstimate:
    """A key: tonic pitch class 0-11, mode "major"/"minor", confidence in [0, 1]."""

    tonic: int
    mode: str
    confidence: float


@dataclass
class KeySegment:
    """A local key between ``start`` and ``end`` seconds."""

    start: float
    end: float
    key: KeyEstimate


def key_profiles(kind: str = "albrecht-shanahan") -> np.ndarray:
    """(24, 12) z-normalised profiles; row ``m * 12 + tonic`` (m 0 = major, 1 = minor)."""
    maj, mnr = (TEMPERLEY_MAJOR, TEMPERLEY_MINOR) if kind == "temperley" else (AS_MAJOR, AS_MINOR)
    rows = [np.roll(p, t) for p in (maj, mnr) for t in range(12)]
    P = np.array(rows, dtype=np.float64)
    P -= P.mean(axis=1, keepdims=True)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    return P


_PROFILES = key_profiles()


def key_correlations(chroma: np.ndarray) -> np.ndarray:
    """Pearson correlation of chroma (12,) or (12, m) with the 24 key profiles -> (24,) / (24, m)."""
    c = np.asarray(chroma, dtype=np.float64)
    squeeze = c.ndim == 1
    if squeeze:
        c = c[:, None]
    c = c - c.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(c, axis=0, keepdims=True)
    c = np.where(norm > 1e-12, c / np.maximum(norm, 1e-12), 0.0)
    r = _PROFILES @ c
    return r[:, 0] if squeeze else r


def local_key_runs(beat_chroma: np.ndarray, bounds_s: np.ndarray, window: int = 16,
                   switch_penalty: float = 3.0, min_seconds: float = 6.0,
                   ) -> list[tuple[int, int, int]]:
    """Sections of one local key from per-beat key chroma (12, m) and beat-segment bounds in
    seconds (m+1,): ``(key index, first segment, end segment)`` runs covering all m segments.

    Chroma is summed over a +-``window`` beat neighbourhood, correlated with the 24 profiles and
    decoded with Viterbi (``switch_penalty`` in correlation*10 units per change); runs
    shorter than ``min_seconds`` are merged into their longer neighbour. Which key each section
    shows, and with what confidence, is decided from the section's own evidence with the
    calibrated key scorer (:func:`musicapp.analysis.key_report.key_timeline`).
    """
    m = beat_chroma.shape[1]
    if m == 0:
        return []
    cs = np.concatenate([np.zeros((12, 1)), np.cumsum(beat_chroma, axis=1)], axis=1)
    idx = np.arange(m)
    lo = np.clip(idx - window, 0, m)
    hi = np.clip(idx + window + 1, 0, m)
    smooth = cs[:, hi] - cs[:, lo]
    r = key_correlations(smooth)  # (24, m)
    energy = beat_chroma.sum(axis=0)
    silent = energy <= 1e-9 * max(1e-12, float(energy.max()))
    obs = 10.0 * r
    obs[:, silent] = 0.0
    # Viterbi with a uniform switch penalty.
    score = obs[:, 0].copy()
    back = np.zeros((24, m), dtype=int)
    for t in range(1, m):
        best_prev = int(np.argmax(score))
        stay = score
        switch = score[best_prev] - switch_penalty
        take_switch = switch > stay
        back[:, t] = np.where(take_switch, best_prev, np.arange(24))
        score = np.where(take_switch, switch, stay) + obs[:, t]
    path = np.zeros(m, dtype=int)
    path[-1] = int(np.argmax(score))
    for t in range(m - 1, 0, -1):
        path[t - 1] = back[path[t], t]
    # Merge runs shorter than min_seconds into their longer neighbour, shortest first.
    runs: list[list[int]] = []
    for t, k in enumerate(path):
        if runs and runs[-1][0] == k:
            runs[-1][2] = t + 1
        else:
            runs.append([int(k), t, t + 1])
    while len(runs) > 1:
        lengths = [float(bounds_s[b] - bounds_s[a]) for _, a, b in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_seconds:
            break
        if i == 0:
            j = 1
        elif i == len(runs) - 1:
            j = i - 1
        else:
            j = i - 1 if lengths[i - 1] >= lengths[i + 1] else i + 1
        runs[j][1] = min(runs[j][1], runs[i][1])
        runs[j][2] = max(runs[j][2], runs[i][2])
        runs.pop(i)
        runs = merge_runs(runs)
    return [(k, a, b) for k, a, b in runs]


def merge_runs(runs: list[list[int]]) -> list[list[int]]:
    """Adjacent ``[key, start, end]`` runs of the same key joined into one."""
    out: list[list[int]] = []
    for run in runs:
        if out and out[-1][0] == run[0]:
            out[-1][2] = run[2]
        else:
            out.append(list(run))
    return out


# ---- ranked keys with tonic evidence -----------------------------------------------------------
#: Feature order of :func:`key_features`.
KEY_FEATURES = ("profile", "bass_tonic", "tonic_chord_time", "first_chord", "last_chord",
                "cadence", "scale_fit")
#: Weights of the key score (chosen on the development split) and the softmax temperature.
KEY_WEIGHTS = (10.0, 2.0, 1.5, 2.0, 0.0, 0.0, 10.0)
KEY_TEMPERATURE = 0.8
MIN_PITCH_CLASSES = 3.0  # effective number of pitch classes below which no key is given
_MAJOR_Q = frozenset({"maj", "7", "maj7", "maj6", "9", "sus4", "sus2"})
_MINOR_Q = frozenset({"min", "min7", "min6", "minmaj7"})


def _chord_root_quality(label: str) -> tuple[int, str] | None:
    from musicapp.pitch import PitchError, note_pc

    if not label or label in ("N", "X"):
        return None
    root, _, rest = label.partition(":")
    try:
        return note_pc(root), (rest.split("/")[0] or "maj")
    except PitchError:
        return None


def _is_tonic_chord(rq: tuple[int, str] | None, tonic: int, mode: str) -> bool:
    if rq is None or rq[0] != tonic:
        return False
    return rq[1] in (_MAJOR_Q if mode == "major" else _MINOR_Q)


def key_features(key_chroma: np.ndarray, bass_chroma: np.ndarray, labels: list[str],
                 durations: np.ndarray) -> np.ndarray:
    """(24, len(KEY_FEATURES)) evidence for every key (row ``m * 12 + tonic``).

    ``key_chroma``/``bass_chroma`` are duration-weighted sums (12,); ``labels`` the decoded chord
    label of each segment and ``durations`` its length in seconds.
    """
    feats = np.zeros((24, len(KEY_FEATURES)))
    feats[:, 0] = key_correlations(key_chroma)
    b = np.asarray(bass_chroma, dtype=np.float64)
    b = b / b.sum() if b.sum() > 0 else np.zeros(12)
    c = np.asarray(key_chroma, dtype=np.float64)
    c = c / c.sum() if c.sum() > 0 else np.zeros(12)
    # collapse repeated labels into chord events
    events: list[tuple[tuple[int, str] | None, float]] = []
    for lab, d in zip(labels, durations, strict=False):
        rq = _chord_root_quality(lab)
        if events and events[-1][0] == rq:
            events[-1] = (rq, events[-1][1] + float(d))
        else:
            events.append((rq, float(d)))
    chords = [(rq, d) for rq, d in events if rq is not None]
    total = sum(d for _, d in chords) or 1.0
    first = chords[0][0] if chords else None
    last = chords[-1][0] if chords else None
    for k in range(24):
        tonic, mode = k % 12, MODES[k // 12]
        feats[k, 1] = b[tonic] - 1.0 / 12
        feats[k, 2] = sum(d for rq, d in chords if _is_tonic_chord(rq, tonic, mode)) / total
        feats[k, 3] = float(_is_tonic_chord(first, tonic, mode))
        feats[k, 4] = float(_is_tonic_chord(last, tonic, mode))
        cad = 0
        for (a, _), (bb, _) in itertools.pairwise(chords):
            if (a is not None and a[0] == (tonic + 7) % 12 and a[1] in ("maj", "7")
                    and _is_tonic_chord(bb, tonic, mode)):
                cad += 1
        feats[k, 5] = min(cad, 4) / 4.0
        scale = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 10, 11)
        feats[k, 6] = float(sum(c[(tonic + s) % 12] for s in scale))
    return feats


def key_probabilities(feats: np.ndarray, weights: tuple[float, ...] = KEY_WEIGHTS,
                      temperature: float = KEY_TEMPERATURE) -> np.ndarray:
    """Softmax over the 24 keys of the weighted evidence (calibrated by ``temperature``)."""
    s = feats @ np.asarray(weights, dtype=np.float64) / max(temperature, 1e-6)
    s = s - s.max()
    p = np.exp(s)
    return p / p.sum()


def effective_pitch_classes(chroma: np.ndarray) -> float:
    """exp(entropy) of a chroma vector: ~1 for one note, 3-7 for tonal music, 12 for noise."""
    c = np.asarray(chroma, dtype=np.float64)
    if c.sum() <= 0:
        return 0.0
    p = c / c.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


# ---- calibrated confidence ---------------------------------------------------------------------
#: Inputs of the confidence map, in order (:func:`confidence_features`).
CONFIDENCE_FEATURES = ("margin", "log_seconds", "log_chords", "tonic_share", "tonic_lead",
                       "first_last", "cadence", "bass_tonic")
#: Logistic map from :data:`CONFIDENCE_FEATURES` to P(key exactly right): intercept, then one
#: weight per feature. Fitted on the beat model's POP909 training excerpts and generated pieces
#: (``data/tactus`` train-real/train-gen, whole and cut to 10 s and 20 s) by the lab's
#: ``analysis.key_model.calibration`` module (lab/, not shipped); see its README. The
#: feature set (margin + amount of evidence) had the lowest song-grouped CV ECE; the agreement
#: features (tonic-chord share and lead, first/last chord, cadences, bass) lowered the NLL but
#: not the ECE, so they weigh 0.
CONFIDENCE_COEF = (0.1097, 0.4851, -0.5338, 1.1617, 0.0, 0.0, 0.0, 0.0, 0.0)
MARGIN_CAP = 12.0  # logit margins above this carry no more information


def chord_events(labels: list[str], durations: np.ndarray) -> list[tuple[str, float]]:
    """Decoded segments merged into chord events (label, seconds), "N"/"X" left out."""
    events: list[tuple[str, float]] = []
    for lab, d in zip(labels, durations, strict=False):
        if events and events[-1][0] == lab:
            events[-1] = (lab, events[-1][1] + float(d))
        else:
            events.append((lab, float(d)))
    return [(lab, d) for lab, d in events if lab not in ("N", "X", "")]


def confidence_features(feats: np.ndarray, p: np.ndarray, labels: list[str],
                        durations: np.ndarray) -> np.ndarray:
    """How much evidence the best key rests on and whether it agrees (:data:`CONFIDENCE_FEATURES`).

    ``feats``/``p``: :func:`key_features` and :func:`key_probabilities` of the track. margin:
    log-odds of the best key over the runner-up (capped); log_seconds / log_chords: how much
    chord time and how many chord changes were analysed (0 at 30 s / 16 chords); tonic_share:
    time on the best key's tonic chord; tonic_lead: that minus the same share of the relative
    key or of the runner-up, whichever is larger (negative when the app's own chords centre on
    another key); first_last: the first and the last chord are the tonic chord (0, 0.5, 1);
    cadence: V-I cadences into the tonic (0-1); bass_tonic: bass share of the tonic above 1/12.
    """
    order = np.argsort(-p)
    best, second = int(order[0]), int(order[1])
    margin = min(float(np.log(max(p[best], 1e-300)) - np.log(max(p[second], 1e-300))),
                 MARGIN_CAP)
    rel = (best % 12 + 9) % 12 + 12 if best < 12 else (best % 12 + 3) % 12
    events = chord_events(labels, durations)
    seconds = sum(d for _, d in events)
    return np.array([
        margin,
        float(np.log(max(seconds, 1.0) / 30.0)),
        float(np.log((1.0 + len(events)) / 16.0)),
        float(feats[best, 2]),
        float(feats[best, 2] - max(feats[rel, 2], feats[second, 2])),
        float(feats[best, 3] + feats[best, 4]) / 2.0,
        float(feats[best, 5]),
        float(feats[best, 1]),
    ])


#: Most confidence a key can have, and with little evidence (chord time under
#: :data:`FULL_EVIDENCE_SECONDS` or fewer chord changes than :data:`FULL_EVIDENCE_CHORDS`) the
#: cap falls linearly towards :data:`MIN_EVIDENCE_CAP`: a 20-s clip of 10 chords gets at most
#: 0.90, a 10-s one 0.83, never 0.99.
MAX_CONFIDENCE = 0.98
MIN_EVIDENCE_CAP = 0.75
FULL_EVIDENCE_SECONDS = 30.0
FULL_EVIDENCE_CHORDS = 15.0
#: Below the shortest clips the calibration was fitted on (10-s cuts, of which at least about
#: :data:`SHORT_CLIP_SECONDS` hold chords), the map has never seen a right or a wrong key: the cap
#: falls further, linearly from its value at :data:`SHORT_CLIP_SECONDS` of chords to
#: :data:`SHORT_CLIP_FLOOR` at 1 s, so a 1-s dyad or a 3-s triad is a guess, not 0.76.
SHORT_CLIP_SECONDS = 8.0
SHORT_CLIP_FLOOR = 0.4


def evidence_cap(x: np.ndarray) -> float:
    """The highest confidence the amount of evidence in :func:`confidence_features` allows."""
    seconds = FULL_EVIDENCE_SECONDS * float(np.exp(x[1]))
    chords = 16.0 * float(np.exp(x[2])) - 1.0
    evidence = min(seconds / FULL_EVIDENCE_SECONDS, chords / FULL_EVIDENCE_CHORDS, 1.0)
    cap = MIN_EVIDENCE_CAP + (MAX_CONFIDENCE - MIN_EVIDENCE_CAP) * max(evidence, 0.0)
    short = float(np.clip((seconds - 1.0) / (SHORT_CLIP_SECONDS - 1.0), 0.0, 1.0))
    return SHORT_CLIP_FLOOR + (cap - SHORT_CLIP_FLOOR) * short


def calibrated_confidence(x: np.ndarray, coef: tuple[float, ...] = CONFIDENCE_COEF) -> float:
    """P(the best key is exactly right) from :func:`confidence_features`: the logistic map,
    at most :func:`evidence_cap`."""
    c = np.asarray(coef, dtype=np.float64)
    z = float(c[0] + np.asarray(x, dtype=np.float64) @ c[1:])
    return min(float(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))), evidence_cap(x))
