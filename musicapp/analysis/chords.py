"""Beat-synchronous chord recognition: an emission model (chord templates, or the learned
ChordCNN of :mod:`musicapp.analysis.chord_model`) + Viterbi smoothing + bass inversions."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from musicapp.analysis.labels import (
    INTERVAL_DEGREES,
    N_CHORDS,
    QUALITIES,
    QUALITY_NAMES,
    chord_label,
    chord_pitch_classes,
)

log = logging.getLogger(__name__)


@dataclass
class ChordParams:
    """Tunable weights (chosen on the development split only)."""

    bass_weight: float = 0.0  # bass-root bonus; 0 measured best on the development split
    sharpness: float = 12.0
    change_penalty: float = 1.5
    no_chord_score: float = 0.35
    # per quality in QUALITY_NAMES order (maj, min, 7, maj7, min7, dim, sus4, sus2, hdim7,
    # dim7): richer chords must beat the triad by a margin
    quality_bias: tuple[float, ...] = (0.0, 0.0, -0.04, -0.04, -0.04, -0.12, -0.16, -0.2,
                                       -0.06, -0.14)
    seventh_weight: float = 0.7
    inversion_ratio: float = 4.0  # a chord tone this much above the root in the bass: inversion
    prior_weight: float = 0.0  # weight of the Billboard/POP909 transition prior (0 = flat)
    # emission model: "templates" (cosine to chord templates) or "learned" (ChordCNN log
    # posteriors, resources/models/chordcnn.safetensors; falls back to templates with a warning
    # when its weights cannot be used)
    emission: str = "learned"
    learned_weight: float = 1.0  # scale of the learned log posteriors
    learned_change_penalty: float = 1.0  # change penalty in log-posterior units (chosen on
    # the training songs held out for validation, never on dev or eval)
    learned_prior_correction: float = 0.0  # subtract this x log training class frequency
    model_path: str | None = None  # None: the shipped weights
    # learned emission + this x sharpness x template scores (a product of the two experts);
    # 1.0 chosen on both development splits (0, 0.25, 0.5, 0.75, 1.0 tried)
    template_mix: float = 1.0


def chord_templates(seventh_weight: float = 0.7) -> np.ndarray:
    """(N_CHORDS, 12) unit-norm templates; chord sevenths weighted by ``seventh_weight``."""
    T = np.zeros((N_CHORDS, 12), dtype=np.float64)
    for root in range(12):
        for qi, q in enumerate(QUALITY_NAMES):
            pcs = chord_pitch_classes(root, q)
            for j, pc in enumerate(pcs):
                T[root * len(QUALITY_NAMES) + qi, pc] = seventh_weight if j == 3 else 1.0
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    return T


def chord_scores(treble: np.ndarray, bass: np.ndarray, params: ChordParams) -> np.ndarray:
    """Per-segment scores (N_CHORDS + 1, m) of every chord and N for chroma (12, m) inputs."""
    T = chord_templates(params.seventh_weight)
    t = np.asarray(treble, dtype=np.float64)
    tn = np.linalg.norm(t, axis=0, keepdims=True)
    t = np.where(tn > 1e-12, t / np.maximum(tn, 1e-12), 0.0)
    cos = T @ t  # (N_CHORDS, m)
    b = np.asarray(bass, dtype=np.float64)
    bmax = b.max(axis=0, keepdims=True)
    b = np.where(bmax > 1e-12, b / np.maximum(bmax, 1e-12), 0.0)
    roots = np.repeat(np.arange(12), len(QUALITY_NAMES))
    bias = np.tile(np.asarray(params.quality_bias), 12)[:, None]
    s = cos + params.bass_weight * (b[roots] - 0.5) + bias
    n_row = np.full((1, s.shape[1]), params.no_chord_score)
    return np.vstack([s, n_row])


def viterbi(scores: np.ndarray, sharpness: float, change_penalty: float) -> np.ndarray:
    """Best state path for log-likelihoods ``sharpness * scores`` with a flat change penalty."""
    k, m = scores.shape
    if m == 0:
        return np.zeros(0, dtype=int)
    obs = sharpness * scores
    acc = obs[:, 0].copy()
    back = np.zeros((k, m), dtype=np.int32)
    idx = np.arange(k)
    for t in range(1, m):
        best = int(np.argmax(acc))
        switch = acc[best] - change_penalty
        take = switch > acc
        back[:, t] = np.where(take, best, idx)
        acc = np.where(take, switch, acc) + obs[:, t]
    path = np.zeros(m, dtype=int)
    path[-1] = int(np.argmax(acc))
    for t in range(m - 1, 0, -1):
        path[t - 1] = back[path[t], t]
    return path


def decode_chords(treble: np.ndarray, bass: np.ndarray, silent: np.ndarray,
                  params: ChordParams | None = None,
                  notes: np.ndarray | None = None) -> list[str]:
    """Harte labels per segment (with the bass degree of inversions, ``C:maj/3``); ``silent``
    (m,) bool forces N. ``notes`` (84, m), the beat-synchronous semitone spectrum, is what the
    learned emission model (``params.emission == "learned"``) reads."""
    params = params or ChordParams()
    s = learned_scores(notes, params) if params.emission == "learned" else None
    if s is None:
        s = chord_scores(treble, bass, params)
        s[:N_CHORDS, silent] = -10.0
        s[N_CHORDS, silent] = 1.0
        sharpness, change_penalty = params.sharpness, params.change_penalty
    else:
        if params.template_mix:
            s = s + params.template_mix * params.sharpness * chord_scores(treble, bass, params)
        s[:N_CHORDS, silent] = -30.0
        s[N_CHORDS, silent] = 0.0
        sharpness, change_penalty = params.learned_weight, params.learned_change_penalty
    trans = transition_costs(change_penalty, params.prior_weight)
    if trans is None:
        path = viterbi(s, sharpness, change_penalty)
    else:
        path = viterbi_matrix(sharpness * s, trans)
    labels = [chord_label(int(i)) for i in path]
    return add_inversions(labels, path, bass, params.inversion_ratio)


def learned_scores(notes: np.ndarray | None, params: ChordParams) -> np.ndarray | None:
    """Log posteriors (N_CHORDS + 1, m) of the learned model, less
    ``params.learned_prior_correction`` x the log class frequency of its training data; None
    (with a logged warning) when the model cannot be used, so the caller uses the templates."""
    from musicapp.analysis.notices import notice

    if notes is None:
        notice("chords from the templates: the learned chord recogniser needs the semitone "
               "spectrum")
        return None
    model, problem = _learned_model(params.model_path)
    if model is None:
        notice(f"chords from the templates: the learned chord recogniser cannot be used "
               f"({problem})")
        return None
    try:
        lp = model.log_posteriors(notes)
    except Exception as exc:  # a model that loaded but fails on this input: never lose the track
        notice(f"chords from the templates: the learned chord recogniser failed on this track "
               f"({type(exc).__name__}: {exc})")
        return None
    if not np.all(np.isfinite(lp)):
        notice("chords from the templates: the learned chord recogniser gave non-finite scores")
        return None
    prior = model.meta.get("class_log_prior")
    if params.learned_prior_correction and prior is not None:
        lp = lp - params.learned_prior_correction * np.asarray(prior, dtype=np.float64)[:, None]
    return lp


def _learned_model(path: str | None) -> tuple[Any, str | None]:
    """``(model, None)`` for the learned model at ``path`` (None: shipped), loaded once per file
    version; ``(None, why)`` when it is missing, modified or unreadable."""
    from pathlib import Path

    from musicapp.analysis.chord_model import default_weights

    p = Path(path) if path else default_weights()
    try:
        st = p.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, -1)
    return _load_learned(str(p), stamp)


@functools.lru_cache(maxsize=4)
def _load_learned(path: str, stamp: tuple[int, int]):
    from musicapp.analysis.chord_model import load_chord_model
    from musicapp.errors import ModelError

    try:
        return load_chord_model(path), None
    except ModelError as exc:
        return None, str(exc)


def add_inversions(labels: list[str], path: np.ndarray, bass: np.ndarray,
                   ratio: float = 1.6) -> list[str]:
    """Append the Harte bass degree where a chord's bass (summed over each run of the same
    chord) is clearly a chord tone other than the root."""
    out = list(labels)
    m = len(labels)
    i = 0
    while i < m:
        j = i
        while j + 1 < m and path[j + 1] == path[i]:
            j += 1
        k = int(path[i])
        if k < N_CHORDS:
            root, qi = divmod(k, len(QUALITY_NAMES))
            b = np.asarray(bass[:, i:j + 1], dtype=np.float64).sum(axis=1)
            low = int(np.argmax(b))
            interval = (low - root) % 12
            tones = QUALITIES[QUALITY_NAMES[qi]]
            if (interval != 0 and interval in tones and interval in INTERVAL_DEGREES
                    and b[low] > ratio * b[root]):
                for t in range(i, j + 1):
                    out[t] = f"{labels[t]}/{INTERVAL_DEGREES[interval]}"
        i = j + 1
    return out


@functools.lru_cache(maxsize=1)
def load_prior() -> np.ndarray | None:
    """log P(next quality, root interval | quality) from resources/analysis/chord_prior.json
    (None, logged, when the file is missing or does not match the vocabulary)."""
    from musicapp.paths import resource_path

    try:
        data = json.loads(resource_path("analysis", "chord_prior.json").read_text())
        table = np.asarray(data["log_p_next"], dtype=np.float64)
        if tuple(data["qualities"]) != QUALITY_NAMES or table.shape != (
                len(QUALITY_NAMES), 12, len(QUALITY_NAMES)):
            raise ValueError("vocabulary differs from the decoder's")
        return table
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("chord prior not used: %s", exc)
        return None


@functools.lru_cache(maxsize=8)
def transition_costs(change_penalty: float, prior_weight: float) -> np.ndarray | None:
    """(K, K) log transition scores (K = chords + N): 0 to stay, ``-change_penalty`` to change,
    shifted by ``prior_weight`` x (log prior - its mean) between chords. None when flat."""
    if prior_weight <= 0:
        return None
    table = load_prior()
    if table is None:
        return None
    nq = len(QUALITY_NAMES)
    k = N_CHORDS + 1
    roots = np.repeat(np.arange(12), nq)
    quals = np.tile(np.arange(nq), 12)
    interval = (roots[None, :] - roots[:, None]) % 12
    logp = table[quals[:, None], interval, quals[None, :]]  # (N_CHORDS, N_CHORDS)
    off = ~np.eye(N_CHORDS, dtype=bool)
    logp = logp - logp[off].mean()
    T = np.full((k, k), -change_penalty)
    # a likely change costs less than the flat penalty, but never less than half of it
    T[:N_CHORDS, :N_CHORDS] = np.minimum(-0.5 * change_penalty,
                                         -change_penalty + prior_weight * logp)
    np.fill_diagonal(T, 0.0)
    return T


def viterbi_matrix(obs: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Best state path for log-likelihoods ``obs`` (K, m) and log transitions ``trans`` (K, K)."""
    k, m = obs.shape
    if m == 0:
        return np.zeros(0, dtype=int)
    acc = obs[:, 0].copy()
    back = np.zeros((k, m), dtype=np.int32)
    for t in range(1, m):
        cand = acc[:, None] + trans  # from i (rows) to j (columns)
        best = np.argmax(cand, axis=0)
        back[:, t] = best
        acc = cand[best, np.arange(k)] + obs[:, t]
    path = np.zeros(m, dtype=int)
    path[-1] = int(np.argmax(acc))
    for t in range(m - 1, 0, -1):
        path[t - 1] = back[path[t], t]
    return path
