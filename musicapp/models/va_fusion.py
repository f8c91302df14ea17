"""Valence, arousal and energy from the tagger *and* the music analysis together (issue 16).

The tagger's own valence/arousal head hears timbre and texture, but not the things that carry
much of a piece's character for a musician: how fast it goes, how loud and dense it is, and
whether it is in major or minor. The music analysis (:mod:`musicapp.analysis`) computes those
anyway. This module combines both into one small, interpretable linear model per axis:

``z = bias + sum_k weight_k * (x_k - mean_k) / scale_k``

over the descriptors of :data:`FEATURES` (each documented in :func:`descriptors`), all read from
a :class:`~musicapp.track_analysis.TrackAnalysis` (the tagger part: its valence/arousal and the
raw scores of its mood tags; the music part: key candidates, chord qualities, tempo, chord rate;
and the track's level, which no shipped model weighs: see below). ``mean``/``scale``
standardise against the reference collection, the weights were fitted on weak title labels of
the allowed Debian soundtracks with a penalty that pulls them toward documented prior weights
(the lab's emotion-fusion trainer; the card is ``resources/models/VA_FUSION_MODEL_CARD.md``).

Output scale (as the tagger's, so the rest of the app is unchanged): a 3-s segment's value is
``2 P - 1``, ``P`` the fraction of the reference collection's segments with a lower ``z``; the
track's value is the duration-weighted mean of its segments' values; ``energy`` is ``1 + 9 P`` of
arousal (the track's rounded to an integer 1-10).

Curves: descriptors that exist per 3-s segment (the tagger's segment valence/arousal, the chord
qualities sounding in the segment) take their segment value; the others (key, tempo, level, mood
tags) are the track's and are the same for every segment. So a curve moves with the tagger and
the chords, and its level is set by the whole track; the track value is the mean of the curve.

Level invariance: the same music played quieter must get the same values. The tagger's input is
level-normalised (:mod:`musicapp.models.engine`, step 2), so its values and mood tags do not
follow the playback level, and no weight may fall on a descriptor that does
(:data:`GAIN_DEPENDENT`: ``level``, the loudest 3-s window in dBFS; still computed by
:func:`descriptors` for the lab's comparisons): :func:`load_model` refuses a model that weighs
it. The fusion's loudness cues are therefore the tagger's loud/soft tags, which hear how loud the
music is *played* (timbre, density), not how loud the file is.

Silence and too-short input have no tagger values and get none here. Non-finite or missing
descriptors count as the reference collection's mean (no evidence), so damaged input cannot
produce a confident value. The weights file is safetensors (checksum-verified, never unpickled);
its config is JSON in the safetensors metadata.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Descriptor names in the order of the weight columns.
FEATURES: tuple[str, ...] = (
    "tagger_valence", "tagger_arousal", "key_major", "chord_major", "tempo", "chord_rate",
    "level", "fast_slow", "loud_soft", "happy_sad",
)  # fmt: skip
#: Descriptors that follow the playback level: a shipped model gives them no weight.
GAIN_DEPENDENT: frozenset[str] = frozenset({"level"})
#: Descriptors with a value per 3-s segment (the rest are the track's).
LOCAL: frozenset[str] = frozenset({"tagger_valence", "tagger_arousal", "chord_major"})
#: Raw probability standing for a mood tag the tagger did not list (it lists tags whose raw
#: probability is at least 0.003: :data:`musicapp.models.engine.NEGLIGIBLE_MOOD`).
UNLISTED_MOOD = 0.0015
MAJOR_QUALITIES = frozenset({"maj", "7", "maj7"})
MINOR_QUALITIES = frozenset({"min", "min7", "dim", "hdim7", "dim7"})
WEIGHTS_NAME = "va_fusion.safetensors"
CURVE_STEP_S = 3.0
MODEL_NAME = "va_fusion"


@dataclass(frozen=True)
class FusionModel:
    """The fitted model: standardisation, weights per axis, the reference percentile table."""

    features: tuple[str, ...]
    mean: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)
    weight: np.ndarray  # (2, F): valence, arousal
    bias: np.ndarray  # (2,)
    quantiles: np.ndarray  # (2, 101) of segment z over the reference collection
    config: dict[str, Any]

    def z(self, x: np.ndarray) -> np.ndarray:
        """Raw scores (N, 2) of descriptor rows ``x`` (N, F); NaN descriptors count as the mean."""
        s = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        s = np.where(np.isfinite(s), s, 0.0)
        return s @ self.weight.T + self.bias

    def unit(self, x: np.ndarray) -> np.ndarray:
        """Fraction ``P`` in [0, 1] of the reference segments below each raw score (N, 2)."""
        from musicapp.models.calibration import to_percentile

        return to_percentile(self.z(x), self.quantiles).astype(np.float64) / 100.0


_model_lock = threading.Lock()
_models: dict[str, FusionModel] = {}


def default_path() -> Path:
    """The shipped weights file."""
    from musicapp.paths import resource_path

    return resource_path("models", WEIGHTS_NAME)


def load_model(path: str | Path | None = None) -> FusionModel:
    """Load (once per process and path) the checksum-verified safetensors weights.

    Raises:
        ModelError: the file is missing, modified or malformed.
    """
    from musicapp.errors import ModelError
    from musicapp.models.weights import load_metadata, load_state

    p = Path(path) if path is not None else default_path()
    key = str(p.resolve()) if p.exists() else str(p)
    with _model_lock:
        if key in _models:
            return _models[key]
        state = {k: v.double().numpy() for k, v in load_state(p).items()}
        try:
            config = json.loads(load_metadata(p).get("config", "{}"))
            features = tuple(config["features"])
            m = FusionModel(features, state["mean"], state["scale"], state["weight"],
                            state["bias"], state["quantiles"], config)
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelError(f"{p}: not a valence/arousal fusion model ({exc})") from exc
        if (m.weight.shape != (2, len(features)) or m.mean.shape != (len(features),)
                or m.scale.shape != (len(features),) or m.quantiles.shape[0] != 2
                or not set(features) <= set(FEATURES)
                or not all(np.isfinite(a).all() for a in (m.mean, m.scale, m.weight, m.bias))
                or (m.scale <= 0).any()):
            raise ModelError(f"{p}: malformed valence/arousal fusion model")
        if any(m.weight[:, i].any() for i, f in enumerate(features) if f in GAIN_DEPENDENT):
            raise ModelError(f"{p}: this valence/arousal model weighs the playback level "
                             f"({', '.join(sorted(GAIN_DEPENDENT & set(features)))}); moods "
                             "would follow the volume - reinstall musicapp")
        _models[key] = m
        return m


# --------------------------------------------------------------------------- descriptors


def _finite(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def mood_scores(moods: list[dict[str, Any]] | None) -> dict[str, float]:
    """Raw probability per mood tag from the tagger's listed moods (a tag that lost a
    contradictory pair is read from its winner's ``over_score``; unlisted: :data:`UNLISTED_MOOD`)."""
    out: dict[str, float] = {}
    for m in moods or []:
        if not isinstance(m, dict):
            continue
        tag, score = str(m.get("tag", "")).lower(), _finite(m.get("score"))
        if tag and math.isfinite(score):
            out[tag] = score
        if m.get("over") is not None and math.isfinite(_finite(m.get("over_score"))):
            out.setdefault(str(m["over"]).lower(), _finite(m.get("over_score")))
    return out


def _log_ratio(scores: dict[str, float], a: tuple[str, ...], b: tuple[str, ...]) -> float:
    def lg(tags: tuple[str, ...]) -> float:
        return math.log(max(max(scores.get(t, UNLISTED_MOOD) for t in tags), 1e-6))

    return lg(a) - lg(b)


def _quality(label: Any) -> str:
    """Chord quality of a Harte label (``"B:min/5"`` -> ``"min"``; ``"N"`` -> ``""``)."""
    text = str(label or "")
    if ":" not in text:
        return ""
    return text.split(":", 1)[1].split("/", 1)[0].split("(", 1)[0]


def _chord_arrays(chords: list[dict[str, Any]] | None) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """(start, end, sign) of the chords with finite times, sorted by start; sign +1 for a
    major-type, -1 for a minor-type quality, 0 otherwise."""
    rows = []
    for c in chords or []:
        if not isinstance(c, dict):
            continue
        a, b = _finite(c.get("start")), _finite(c.get("end"))
        if math.isfinite(a) and math.isfinite(b) and b > a:
            q = _quality(c.get("label"))
            rows.append((a, b, 1.0 if q in MAJOR_QUALITIES else -1.0 if q in MINOR_QUALITIES
                         else 0.0))
    arr = np.array(sorted(rows), dtype=np.float64).reshape(-1, 3)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def _chord_major(arrays: tuple[np.ndarray, np.ndarray, np.ndarray], start: float,
                 end: float) -> float:
    st, en, sg = arrays
    # chords are consecutive (non-overlapping), so the ones overlapping [start, end) are a run
    lo = int(np.searchsorted(en, start, side="right")) if st.size else 0
    hi = int(np.searchsorted(st, end, side="left")) if st.size else 0
    if hi <= lo:
        return math.nan
    d = np.minimum(en[lo:hi], end) - np.maximum(st[lo:hi], start)
    d = np.where(d > 0, d, 0.0)
    maj, mnr = float(d[sg[lo:hi] > 0].sum()), float(d[sg[lo:hi] < 0].sum())
    return (maj - mnr) / (maj + mnr) if maj + mnr > 0 else math.nan


def chord_major(chords: list[dict[str, Any]] | None, start: float = 0.0,
                end: float = math.inf) -> float:
    """Duration-weighted (major-type - minor-type) / (major-type + minor-type) of the chords
    sounding in ``[start, end)``, in [-1, 1]; NaN when none has a major or minor quality.
    Major type: maj, 7, maj7; minor type: min, min7, dim, hdim7, dim7 (sus chords: neither)."""
    return _chord_major(_chord_arrays(chords), start, end)


def descriptors(tags: dict[str, Any] | None, music: dict[str, Any] | None,
                level_dbfs: float | None, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(track row (F,), segment rows (S, F)) of :data:`FEATURES`; NaN where unknown.

    * ``tagger_valence``/``tagger_arousal``: the tagger's calibrated values (segment: its own);
    * ``key_major``: sum of the key candidates' probabilities in major minus in minor;
    * ``chord_major``: :func:`chord_major` (segment: the chords sounding in it);
    * ``tempo``: log2 of the tempo in bpm / 100; ``chord_rate``: log2 of 1 + chord changes per
      second; ``level``: the loudest 3-s window in dBFS (clipped to [-60, 0]; never weighed:
      :data:`GAIN_DEPENDENT`);
    * ``fast_slow``, ``loud_soft``, ``happy_sad``: log ratio of the tagger's raw probabilities
      (fast vs slow; loud vs the stronger of quiet and soft; happy vs sad).
    """
    tags, music = tags or {}, music or {}
    segs = [s for s in (tags.get("segments") or []) if isinstance(s, dict)]
    row = dict.fromkeys(FEATURES, math.nan)

    def tagger_va(s: dict[str, Any], axis: str) -> float:
        return _finite(s.get(f"tagger_{axis}", s.get(axis)))

    if segs:
        w = np.array([max(_finite(s.get("end")) - _finite(s.get("start")), 0.0) for s in segs])
        w = np.where(np.isfinite(w), w, 0.0)
        for axis in ("valence", "arousal"):
            v = np.array([tagger_va(s, axis) for s in segs])
            ok = np.isfinite(v) & (w > 0)
            if ok.any():
                row[f"tagger_{axis}"] = float(np.sum(v[ok] * w[ok]) / np.sum(w[ok]))
    cands = music.get("key_candidates") or []
    if cands:
        p = [(_finite(c.get("probability")), c.get("mode")) for c in cands if isinstance(c, dict)]
        maj = sum(x for x, m in p if m == "major" and math.isfinite(x))
        mnr = sum(x for x, m in p if m == "minor" and math.isfinite(x))
        if maj + mnr > 0:
            row["key_major"] = (maj - mnr) / (maj + mnr)
    chords = [c for c in (music.get("chords") or []) if isinstance(c, dict)]
    arrays = _chord_arrays(chords)
    row["chord_major"] = _chord_major(arrays, -math.inf, math.inf)
    bpm = _finite(music.get("tempo_bpm"))
    if math.isfinite(bpm) and bpm > 0:
        row["tempo"] = math.log2(bpm / 100.0)
    dur = _finite(duration_s)
    voiced = [c for c in chords if str(c.get("label", "N")) != "N"]
    if math.isfinite(dur) and dur > 0 and chords:
        row["chord_rate"] = math.log2(1.0 + max(len(voiced) - 1, 0) / dur)
    lv = _finite(level_dbfs)
    if math.isfinite(lv):
        row["level"] = float(np.clip(lv, -60.0, 0.0))
    if tags.get("moods") is not None:
        sc = mood_scores(tags.get("moods"))
        row["fast_slow"] = _log_ratio(sc, ("fast",), ("slow",))
        row["loud_soft"] = _log_ratio(sc, ("loud",), ("quiet", "soft"))
        row["happy_sad"] = _log_ratio(sc, ("happy",), ("sad",))
    track = np.array([row[f] for f in FEATURES], dtype=np.float64)
    seg_rows = np.tile(track, (len(segs), 1))
    for i, s in enumerate(segs):
        seg_rows[i, FEATURES.index("tagger_valence")] = tagger_va(s, "valence")
        seg_rows[i, FEATURES.index("tagger_arousal")] = tagger_va(s, "arousal")
        a, b = _finite(s.get("start")), _finite(s.get("end"))
        if math.isfinite(a) and math.isfinite(b):
            seg_rows[i, FEATURES.index("chord_major")] = _chord_major(arrays, a, b)
    return track, seg_rows


def _select(model: FusionModel, x: np.ndarray) -> np.ndarray:
    return x[:, [FEATURES.index(f) for f in model.features]]


# --------------------------------------------------------------------------- fusion


def fuse(tags: dict[str, Any] | None, music: dict[str, Any] | None, level_dbfs: float | None,
         duration_s: float, model: FusionModel | None = None) -> dict[str, Any] | None:
    """The fused fields for a tagger part ``tags`` and a music part ``music`` (flat-JSON dicts of
    a :class:`~musicapp.track_analysis.TrackAnalysis`): ``valence``, ``arousal``, ``energy``,
    ``curves`` and ``segments`` (each segment with fused values and the tagger's own as
    ``tagger_valence``/``tagger_arousal``). None when the tagger gave no valence/arousal
    (silence, too short, failure). Fusing an already fused part gives the same result."""
    if not tags or tags.get("valence") is None or not tags.get("segments"):
        return None
    m = model or load_model()
    _, seg_x = descriptors(tags, music, level_dbfs, duration_s)
    segs = [dict(s) for s in tags["segments"] if isinstance(s, dict)]
    if len(segs) != seg_x.shape[0] or not segs:
        return None
    unit = m.unit(_select(m, seg_x))  # (S, 2)
    unit = np.where(np.isfinite(unit), unit, 0.5)
    va = 2.0 * unit - 1.0
    w = np.array([max(_finite(s.get("end")) - _finite(s.get("start")), 0.0) for s in segs])
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    w = w / w.sum() if w.sum() > 0 else np.full(len(segs), 1.0 / len(segs))
    for i, s in enumerate(segs):
        for axis in ("valence", "arousal"):
            s.setdefault(f"tagger_{axis}", s.get(axis))
        s["valence"] = round(float(va[i, 0]), 4)
        s["arousal"] = round(float(va[i, 1]), 4)
        s["energy"] = round(float(1.0 + 9.0 * unit[i, 1]), 1)
    curves = {
        "step_s": CURVE_STEP_S,
        "start": [s.get("start") for s in segs],
        "valence": [s["valence"] for s in segs],
        "arousal": [s["arousal"] for s in segs],
        "energy": [s["energy"] for s in segs],
    }
    track = w @ va
    return {
        "valence": round(float(track[0]), 4),
        "arousal": round(float(track[1]), 4),
        "energy": int(np.clip(round(1.0 + 9.0 * float(w @ unit[:, 1])), 1, 10)),
        "curves": curves,
        "segments": segs,
    }


def apply_fusion(analysis: Any, model: FusionModel | None = None) -> bool:
    """Replace the tagger's valence/arousal/energy/curves of ``analysis`` (a
    :class:`~musicapp.track_analysis.TrackAnalysis`) by the fused ones, in place. Never raises:
    a failure is logged and recorded in ``analysis.errors["valence_arousal"]``, and the tagger's
    values stay. Returns True when fused values were written."""
    if analysis.status != "ok" or not analysis.tags:
        return False
    try:
        fused = fuse(analysis.tags, analysis.music, analysis.level_dbfs, analysis.duration_s,
                     model)
    except Exception as exc:  # the tagger's values are still valid: keep them, report why
        log.exception("valence/arousal fusion failed")
        analysis.errors["valence_arousal"] = f"fusion not applied ({type(exc).__name__}: {exc})"
        return False
    if fused is None:
        return False
    analysis.tags.update(fused)
    model_name = str(analysis.tags.get("model") or "")
    if MODEL_NAME not in model_name:
        analysis.tags["model"] = f"{model_name} + {MODEL_NAME}".strip(" +")
    return True
