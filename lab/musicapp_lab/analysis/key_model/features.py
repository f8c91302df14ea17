"""Features and numpy scoring of the learned key scorer (lab only: it did not beat the rule).

A transposition-equivariant linear model over the 24 keys.

Every key (tonic ``t``, mode ``m``) is scored by the same features read relative to its tonic
(:func:`key_inputs`): the treble and bass chroma rotated to ``t``, the share of chord time per
(root relative to ``t``, major/minor/other quality), the first and the last chord (root relative
to ``t``, major/minor), and the hand-made evidence of :func:`musicapp.analysis.key.key_features`
for that key (profile correlation, bass on the tonic, tonic-chord time, cadences, scale fit).
The score is ``features @ weights[m] + bias[m]``; a softmax over the 24 scores, divided by a
temperature fitted on held-out training songs, gives the probabilities. Because the weights are
shared by the 12 tonics, transposing a piece moves its probabilities with it.

Trained by :mod:`musicapp_lab.analysis.key_model.train` on POP909 training songs; weights are
written as safetensors with a sha256 sidecar (``data/keymodel/keylinear.safetensors``, not
shipped: see this package's README for the comparison with the product's rule).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from musicapp.analysis import key as key_mod
from musicapp.errors import ModelError

#: chord quality classes of the chord-time histogram
_QCLASS = {**{q: 0 for q in key_mod._MAJOR_Q}, **{q: 1 for q in key_mod._MINOR_Q}}
#: feature blocks, in order: name and width
BLOCKS = (("treble", 12), ("bass", 12), ("chord_time", 36), ("first_chord", 24),
          ("last_chord", 24), ("rule", len(key_mod.KEY_FEATURES)))
N_FEATURES = sum(w for _, w in BLOCKS)


def _events(labels: list[str], durations: np.ndarray) -> list[tuple[tuple[int, str], float]]:
    """Chord events (root, quality) with their durations; repeated labels merged, N/X dropped."""
    events: list[tuple[tuple[int, str] | None, float]] = []
    for lab, d in zip(labels, durations, strict=False):
        rq = key_mod._chord_root_quality(lab)
        if events and events[-1][0] == rq:
            events[-1] = (rq, events[-1][1] + float(d))
        else:
            events.append((rq, float(d)))
    return [(rq, d) for rq, d in events if rq is not None]


def key_inputs(key_chroma: np.ndarray, bass_chroma: np.ndarray, labels: list[str],
               durations: np.ndarray, rule: np.ndarray | None = None) -> np.ndarray:
    """(24, :data:`N_FEATURES`) features of every key (row ``m * 12 + tonic``), from the
    duration-weighted treble and bass chroma sums (12,), the decoded chord label of each segment
    and the segment lengths in seconds (``rule``: :func:`musicapp.analysis.key.key_features` of
    the same input, when already computed)."""
    c = np.asarray(key_chroma, dtype=np.float64)
    b = np.asarray(bass_chroma, dtype=np.float64)
    c = 12.0 * c / c.sum() if c.sum() > 0 else np.zeros(12)
    b = 12.0 * b / b.sum() if b.sum() > 0 else np.zeros(12)
    chords = _events(labels, durations)
    total = sum(d for _, d in chords) or 1.0
    hist = np.zeros((12, 3))
    for (root, q), d in chords:
        hist[root, _QCLASS.get(q, 2)] += d / total
    edge = np.zeros((2, 12, 2))  # first / last chord: root x (major, minor)
    for j, (rq, _) in enumerate((chords[0], chords[-1]) if chords else ()):
        qc = _QCLASS.get(rq[1], 2)
        if qc < 2:
            edge[j, rq[0], qc] = 1.0
    if rule is None:
        rule = key_mod.key_features(key_chroma, bass_chroma, labels, durations)
    out = np.zeros((24, N_FEATURES))
    idx = (np.arange(12)[None, :] + np.arange(12)[:, None]) % 12  # [t, i] = (t + i) % 12
    generic = np.concatenate([c[idx], b[idx], hist[idx].reshape(12, 36),
                              edge[0][idx].reshape(12, 24), edge[1][idx].reshape(12, 24)], axis=1)
    out[:12, :-rule.shape[1]] = generic
    out[12:, :-rule.shape[1]] = generic
    out[:, -rule.shape[1]:] = rule
    return out


def key_scores(inputs: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(24,) scores: row ``m * 12 + t`` of ``inputs`` times ``weights[m]`` plus ``bias[m]``."""
    w = np.repeat(np.asarray(weights, dtype=np.float64), 12, axis=0)
    return np.einsum("kd,kd->k", inputs, w) + np.repeat(np.asarray(bias, dtype=np.float64), 12)


def softmax(s: np.ndarray) -> np.ndarray:
    """Softmax of a score vector."""
    s = s - s.max()
    p = np.exp(s)
    return p / p.sum()


class KeyModel:
    """Weights (2, N_FEATURES), bias (2,) and temperature of the learned key scorer."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, temperature: float,
                 meta: dict | None = None) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        self.temperature = float(temperature)
        self.meta = meta or {}
        if self.weights.shape != (2, N_FEATURES) or self.bias.shape != (2,):
            raise ValueError(f"weights {self.weights.shape} / bias {self.bias.shape}, expected "
                             f"(2, {N_FEATURES}) / (2,)")
        if not (np.all(np.isfinite(self.weights)) and np.all(np.isfinite(self.bias))
                and np.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError("non-finite weights or a non-positive temperature")

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(24,) key probabilities for :func:`key_inputs` output."""
        return softmax(key_scores(inputs, self.weights, self.bias) / self.temperature)


def load_key_model(path: str | Path) -> KeyModel:
    """Load and verify weights written by :func:`save_key_model` (sha256 sidecar, safetensors
    only, nothing unpickled); ModelError naming the file on any problem."""
    from musicapp.models.weights import read_verified_numpy

    p = Path(path)
    tensors, meta = read_verified_numpy(p, missing="key model weights not found (train them: "
                                        "python -m musicapp_lab.analysis.key_model.train)")
    try:
        temperature = np.asarray(tensors["temperature"], dtype=np.float64).reshape(-1)
        if temperature.shape != (1,):
            raise ValueError(f"temperature has shape {temperature.shape}")
        model = KeyModel(tensors["weights"], tensors["bias"], float(temperature[0]), meta)
    except (KeyError, ValueError) as exc:
        raise ModelError(f"{p}: not a key model weights file ({type(exc).__name__}: "
                         f"{str(exc)[:200]})") from None
    if meta.get("features") != [name for name, _ in BLOCKS]:
        raise ModelError(f"{p}: key model features differ from this version's")
    return model


def save_key_model(path: str | Path, model: KeyModel) -> str:
    """Write ``model`` as safetensors with its sha256 sidecar; the digest."""
    from safetensors.numpy import save as save_np

    from musicapp.models.weights import register_checksum

    meta = {**model.meta, "features": [name for name, _ in BLOCKS]}
    data = save_np({"weights": model.weights, "bias": model.bias,
                    "temperature": np.array([model.temperature], dtype=np.float64)},
                   metadata={k: json.dumps(v) for k, v in meta.items()})
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return register_checksum(p)
