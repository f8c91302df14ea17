"""Beat-synchronous chord recognition: chord templates + bass-root evidence, Viterbi smoothing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicapp.analysis.labels import (
    N_CHORDS,
    QUALITY_NAMES,
    chord_label,
    chord_pitch_classes,
)


@dataclass
class ChordParams:
    """Tunable weights (chosen on the development split only)."""

    bass_weight: float = 0.0  # bass-root bonus; 0 measured best on the development split
    sharpness: float = 12.0
    change_penalty: float = 1.5
    no_chord_score: float = 0.35
    # per quality in QUALITY_NAMES order (maj, min, 7, maj7, min7, dim, sus4, sus2): richer
    # chords must beat the triad by a margin
    quality_bias: tuple[float, ...] = (0.0, 0.0, -0.08, -0.08, -0.08, -0.12, -0.16, -0.2)
    seventh_weight: float = 0.7


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
                  params: ChordParams | None = None) -> list[str]:
    """Harte labels per segment; ``silent`` (m,) bool forces N."""
    params = params or ChordParams()
    s = chord_scores(treble, bass, params)
    s[:N_CHORDS, silent] = -10.0
    s[N_CHORDS, silent] = 1.0
    path = viterbi(s, params.sharpness, params.change_penalty)
    return [chord_label(int(i)) for i in path]
