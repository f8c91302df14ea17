"""Valence/arousal from mood tags: the tagger's tags placed on Russell's circumplex.

Russell's circumplex model of affect (Russell, 1980, *J. Pers. Soc. Psychol.* 39:1161-1178) places
every affective state on two axes: **valence** (unpleasant - pleasant) and **arousal** (calm -
excited). The musicnn teachers have no valence/arousal output, but fifteen of their tags name moods
or the energy of the music. Each of those tags is a word of the app's one mood vocabulary
(:mod:`musicapp.moods`), which gives its point on the plane; the points are our own documented
placements (angles on Russell's circle, see that module), not ratings from a word-norm data set.
A segment's valence/arousal is the centroid of the tags that are *active* for it.

From calibrated scores to a point
---------------------------------
Raw teacher probabilities are not comparable across tags (MSD's "sad" rarely exceeds 0.02), so the
mapping takes **calibrated** scores: the percentile ``p_k`` in [0, 1] of each tag's score against a
reference distribution (:mod:`musicapp.models.calibration`). A tag is active in proportion to how far
it is above its median, ``w_k = max(0, p_k - 0.5)``. The point is the weighted centroid of the active
tags' coordinates, shrunk toward the neutral origin by a prior weight ``w0``::

    (valence, arousal) = sum_k w_k * c_k / (w0 + sum_k w_k)

It is a convex combination of points in [-1, 1]^2 and the origin, so it stays inside [-1, 1]^2;
music for which no mood tag stands out lands near (0, 0). These are the distillation targets of
the student's valence/arousal head (before its weak-label fine-tuning) and the teacher fallback's
valence/arousal.
"""

from __future__ import annotations

import numpy as np

from musicapp import moods

PRIOR_WEIGHT = 0.25

#: The fifteen mood-bearing tags of the two teachers, in the order the student's mood head uses:
#: (teacher, tag exactly as the teacher spells it).
TAG_SOURCES: tuple[tuple[str, str], ...] = (
    ("MSD", "happy"), ("MSD", "sad"), ("MSD", "Mellow"), ("MSD", "chill"), ("MSD", "beautiful"),
    ("MSD", "party"), ("MSD", "sexy"), ("MSD", "catchy"), ("MSD", "easy listening"),
    ("MTT", "fast"), ("MTT", "slow"), ("MTT", "loud"), ("MTT", "quiet"), ("MTT", "soft"),
    ("MTT", "ambient"),
)  # fmt: skip

#: Display names of the mood tags ("Mellow" is written lower-case for display).
MOOD_TAGS: tuple[str, ...] = tuple(t.lower() for _, t in TAG_SOURCES)


def tag_coordinates() -> np.ndarray:
    """The (15, 2) (valence, arousal) points of :data:`MOOD_TAGS` from :mod:`musicapp.moods`."""
    return np.array([moods.tag_point(t) for t in MOOD_TAGS], dtype=np.float64)


def valence_arousal(
    percentiles: np.ndarray,
    coords: np.ndarray | None = None,
    prior_weight: float = PRIOR_WEIGHT,
) -> np.ndarray:
    """Map calibrated mood-tag scores to (valence, arousal).

    Args:
        percentiles: (..., 15) percentiles in [0, 1] of :data:`MOOD_TAGS`, in that order
            (values outside [0, 1] are clipped; NaN counts as the neutral 0.5).
        coords: (15, 2) tag coordinates; defaults to :func:`tag_coordinates`.
        prior_weight: weight of the neutral origin in the centroid (> 0).

    Returns:
        (..., 2) float32 array of (valence, arousal) in [-1, 1].
    """
    p = np.clip(np.nan_to_num(np.asarray(percentiles, dtype=np.float64), nan=0.5), 0.0, 1.0)
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
