"""Valence/arousal from mood tags: an explicit placement of the teacher's tags on the circumplex.

Russell's circumplex model of affect (Russell, 1980, *J. Pers. Soc. Psychol.* 39:1161-1178) places
every affective state on two axes: **valence** (unpleasant - pleasant) and **arousal** (calm -
excited). The musicnn teachers have no valence/arousal output, but fifteen of their tags name moods
or the energy of the music. We place each of those tags on the two axes with published affective
word norms and read a segment's valence/arousal as the centroid of the tags that are *active* for
it.

Tag coordinates
---------------
The coordinates come from Warriner, Kuperman & Brysbaert (2013), "Norms of valence, arousal, and
dominance for 13,915 English lemmas", *Behavior Research Methods* 45:1191-1207: the mean rating of
the lemma over all raters (``V.Mean.Sum``, ``A.Mean.Sum``, scale 1-9). Where the tag itself is not a
lemma of the norms, or the lemma's everyday sense is not the musical one, a proxy lemma is used and
named in :data:`TAG_NORMS` (``chill`` -> ``relaxed``: the norms' "chill" is the cold sense;
``easy listening`` -> ``easygoing``; ``fast`` -> mean of ``quick``/``rapid``/``speedy``;
``loud`` -> ``noisy``). The 1-9 ratings are centred on the mean of the whole lexicon
(valence 5.064, arousal 4.211) and divided by three standard deviations of the lexicon
(1.275 and 0.896), then clipped to [-1, 1], so that both axes have the same spread and "average
word" sits at the origin. (Only these fifteen pairs of numbers are quoted, as a citation; the norms
themselves are not shipped.)

From calibrated scores to a point
---------------------------------
Raw teacher probabilities are not comparable across tags (MSD's "sad" rarely exceeds 0.02), so the
mapping takes **calibrated** scores: the percentile ``p_k`` in [0, 1] of each tag's score against a
reference distribution (:mod:`musicapp.models.calibration`). A tag is active in proportion to how far
it is above its median, ``w_k = max(0, p_k - 0.5)``. The point is the weighted centroid of the active
tags' coordinates, shrunk toward the neutral origin by a prior weight ``w0``::

    (valence, arousal) = sum_k w_k * c_k / (w0 + sum_k w_k)

It is a convex combination of points in [-1, 1]^2 and the origin, so it stays inside [-1, 1]^2;
music for which no mood tag stands out lands near (0, 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Lexicon statistics of Warriner et al. (2013), all 13,915 lemmas, "Sum" columns.
LEXICON_VALENCE_MEAN = 5.064
LEXICON_VALENCE_SD = 1.275
LEXICON_AROUSAL_MEAN = 4.211
LEXICON_AROUSAL_SD = 0.896
SCALE_SDS = 3.0
PRIOR_WEIGHT = 0.25


@dataclass(frozen=True)
class TagNorm:
    """One mood tag of a teacher with the affective norm it is placed by."""

    source: str  # "MSD" or "MTT": which musicnn teacher emits the tag
    tag: str  # the tag exactly as the teacher spells it
    lemma: str  # the lemma of Warriner et al. (2013) used (the tag itself or a proxy)
    valence_1_9: float  # V.Mean.Sum
    arousal_1_9: float  # A.Mean.Sum


#: The fifteen mood-bearing tags of the two teachers, in the order the student's mood head uses.
TAG_NORMS: tuple[TagNorm, ...] = (
    TagNorm("MSD", "happy", "happy", 8.47, 6.05),
    TagNorm("MSD", "sad", "sad", 2.10, 3.49),
    TagNorm("MSD", "Mellow", "mellow", 6.68, 2.81),
    TagNorm("MSD", "chill", "relaxed", 7.25, 2.49),
    TagNorm("MSD", "beautiful", "beautiful", 7.61, 5.71),
    TagNorm("MSD", "party", "party", 7.18, 6.08),
    TagNorm("MSD", "sexy", "sexy", 7.42, 6.80),
    TagNorm("MSD", "catchy", "catchy", 5.22, 4.00),
    TagNorm("MSD", "easy listening", "easygoing", 7.03, 3.20),
    TagNorm("MTT", "fast", "quick/rapid/speedy", (6.08 + 4.57 + 5.90) / 3, (5.16 + 6.45 + 5.10) / 3),
    TagNorm("MTT", "slow", "slow", 4.00, 2.89),
    TagNorm("MTT", "loud", "noisy", 3.21, 5.15),
    TagNorm("MTT", "quiet", "quiet", 6.47, 1.95),
    TagNorm("MTT", "soft", "soft", 7.13, 3.04),
    TagNorm("MTT", "ambient", "ambient", 6.33, 3.20),
)

#: Display names of the mood tags ("Mellow" is written lower-case for display).
MOOD_TAGS: tuple[str, ...] = tuple(t.tag.lower() for t in TAG_NORMS)


def tag_coordinates() -> np.ndarray:
    """Return the (15, 2) array of (valence, arousal) coordinates in [-1, 1] of :data:`TAG_NORMS`."""
    v = np.array([t.valence_1_9 for t in TAG_NORMS], dtype=np.float64)
    a = np.array([t.arousal_1_9 for t in TAG_NORMS], dtype=np.float64)
    cv = (v - LEXICON_VALENCE_MEAN) / (SCALE_SDS * LEXICON_VALENCE_SD)
    ca = (a - LEXICON_AROUSAL_MEAN) / (SCALE_SDS * LEXICON_AROUSAL_SD)
    return np.clip(np.stack([cv, ca], axis=1), -1.0, 1.0)


def valence_arousal(
    percentiles: np.ndarray,
    coords: np.ndarray | None = None,
    prior_weight: float = PRIOR_WEIGHT,
) -> np.ndarray:
    """Map calibrated mood-tag scores to (valence, arousal).

    Args:
        percentiles: (..., 15) percentiles in [0, 1] of the tags of :data:`TAG_NORMS`, in that order
            (values outside [0, 1] are clipped).
        coords: (15, 2) tag coordinates; defaults to :func:`tag_coordinates`.
        prior_weight: weight of the neutral origin in the centroid (> 0).

    Returns:
        (..., 2) float32 array of (valence, arousal) in [-1, 1].
    """
    p = np.clip(np.asarray(percentiles, dtype=np.float64), 0.0, 1.0)
    c = tag_coordinates() if coords is None else np.asarray(coords, dtype=np.float64)
    if p.shape[-1] != c.shape[0]:
        raise ValueError(f"expected {c.shape[0]} tag percentiles, got {p.shape[-1]}")
    if prior_weight <= 0:
        raise ValueError("prior_weight must be positive")
    w = np.maximum(p - 0.5, 0.0)
    num = w @ c
    den = prior_weight + w.sum(axis=-1, keepdims=True)
    return np.clip(num / den, -1.0, 1.0).astype(np.float32)


def quadrant_name(valence: float, arousal: float) -> str:
    """Name the circumplex quadrant of a point (for display): e.g. ``"happy/excited"``."""
    if valence >= 0:
        return "happy/excited" if arousal >= 0 else "calm/content"
    return "tense/angry" if arousal >= 0 else "sad/depressed"
