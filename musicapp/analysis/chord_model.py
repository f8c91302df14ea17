"""The learned chord emission model (ChordCNN): numpy inference, safetensors weights only.

A small CNN over the beat-synchronous 84-semitone spectrum (the CQT the analysis already
computes, folded to semitones, C1-B7) gives per-segment log posteriors over the decoder's
vocabulary (12 roots x 10 qualities + N, :mod:`musicapp.analysis.labels`). They replace the
template scores as the emission model of the same Viterbi decoder
(:func:`musicapp.analysis.chords.decode_chords` with ``ChordParams(emission="learned")``).

Layers (weights ``resources/models/chordcnn.safetensors``, card ``CHORDCNN_MODEL_CARD.md``):
two 2-D convolutions over (semitone, segment) with ReLU, then two 1-D convolutions over segments
(the semitone axis flattened into channels) with ReLU and a 1x1 output layer. The training code
(torch) is in the lab package's ``analysis/chord_model/`` (not shipped); here it is plain numpy
(no torch import, nothing unpickled), verified against its sha256 sidecar before parsing.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from musicapp.errors import ModelError

WEIGHTS_NAME = "chordcnn.safetensors"
TENSORS = ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
           "conv3.bias", "conv4.weight", "conv4.bias", "out.weight", "out.bias")
#: input compression: log(1 + GAIN * x / segment max) / log(1 + GAIN)
INPUT_GAIN = 20.0
#: segments per forward pass, and the context added on each side of a chunk (the receptive field
#: is 4 segments each way: four layers with 3-segment kernels)
CHUNK = 1024
HALO = 8


def default_weights() -> Path:
    """Path of the shipped weights."""
    from musicapp.paths import resource_path

    return resource_path("models", WEIGHTS_NAME)


def model_input(notes: np.ndarray) -> np.ndarray:
    """Network input (84, m) float32 from a beat-synchronous semitone spectrum (84, m): each
    segment scaled by its loudest semitone, then log-compressed into [0, 1]."""
    x = np.asarray(notes, dtype=np.float32)
    peak = np.maximum(x.max(axis=0, keepdims=True), 1e-8)
    x = np.maximum(x, 0.0) / peak
    return (np.log1p(INPUT_GAIN * x) / np.log1p(INPUT_GAIN)).astype(np.float32)


def _conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'Same' 2-D convolution (cross-correlation, as torch) of x (C, H, T) with w (O, C, kh, kw)."""
    from numpy.lib.stride_tricks import sliding_window_view

    o, c, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))  # (C, H, T, kh, kw)
    h, t = win.shape[1], win.shape[2]
    cols = win.transpose(1, 2, 0, 3, 4).reshape(h * t, c * kh * kw)
    out = cols @ w.reshape(o, -1).T + b.reshape(1, o)  # (H*T, O)
    return out.T.reshape(o, h, t)


def _conv1d(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'Same' 1-D convolution of x (C, T) with w (O, C, k)."""
    o, _, k = w.shape
    if k == 1:
        return w[:, :, 0] @ x + b[:, None]
    t = x.shape[1]
    xp = np.pad(x, ((0, 0), (k // 2, k // 2)))
    out = np.zeros((o, t), dtype=np.result_type(x, w))
    for j in range(k):
        out += w[:, :, j] @ xp[:, j:j + t]
    return out + b[:, None]


def log_softmax(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Numerically stable log-softmax along ``axis``."""
    m = x.max(axis=axis, keepdims=True)
    y = x - m
    return y - np.log(np.exp(y).sum(axis=axis, keepdims=True))


class ChordCNN:
    """Numpy forward pass of the trained network."""

    def __init__(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        missing = [k for k in TENSORS if k not in tensors]
        if missing:
            raise KeyError(f"missing tensors {missing}")
        self.t = {k: np.asarray(tensors[k], dtype=np.float32) for k in TENSORS}
        self._check_shapes()
        self.meta = meta
        self.n_semitones = int(self.t["conv3.weight"].shape[1] // self.t["conv2.weight"].shape[0])
        self.n_classes = int(self.t["out.weight"].shape[0])

    def _check_shapes(self) -> None:
        """The architecture's shape rules (ValueError otherwise): 4-D then 3-D convolutions with
        odd ("same") kernels, a bias per output channel, each layer reading the previous one's
        channels (conv3 reads conv2's channels times the semitones). A tensor cut along its
        kernel axis still runs, as a different network: this refuses it."""
        t = self.t
        dims = {"conv1.weight": 4, "conv2.weight": 4, "conv3.weight": 3, "conv4.weight": 3,
                "out.weight": 3}
        for name, nd in dims.items():
            w, b = t[name], t[name.replace("weight", "bias")]
            if w.ndim != nd or 0 in w.shape or any(k % 2 == 0 for k in w.shape[2:]):
                raise ValueError(f"{name} has shape {w.shape}")
            if b.shape != (w.shape[0],):
                raise ValueError(f"{name.replace('weight', 'bias')} has shape {b.shape}")
        if t["conv1.weight"].shape[1] != 1 or t["conv2.weight"].shape[1] != t["conv1.weight"].shape[0]:
            raise ValueError("conv1/conv2 channels do not chain")
        in3, o2 = t["conv3.weight"].shape[1], t["conv2.weight"].shape[0]
        if in3 % o2 or in3 // o2 != 84:
            raise ValueError(f"conv3 reads {in3} inputs, not {o2} channels x 84 semitones")
        if (t["conv4.weight"].shape[1] != t["conv3.weight"].shape[0]
                or t["out.weight"].shape[1] != t["conv4.weight"].shape[0]):
            raise ValueError("conv3/conv4/out channels do not chain")

    def logits(self, notes: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """Class logits (n_classes, m) for a beat-synchronous semitone spectrum (84, m).

        Long inputs run ``chunk`` segments at a time with :data:`HALO` segments of context on
        each side (more than the network's receptive field), so the result equals one pass while
        the temporaries stay small."""
        x = model_input(notes)
        if x.shape[0] != self.n_semitones:
            raise ValueError(f"expected {self.n_semitones} semitones, got {x.shape[0]}")
        m = x.shape[1]
        if m <= chunk:
            return self._forward(x)
        out = np.empty((self.n_classes, m), dtype=np.float32)
        for a in range(0, m, chunk):
            b = min(m, a + chunk)
            lo, hi = max(0, a - HALO), min(m, b + HALO)
            out[:, a:b] = self._forward(x[:, lo:hi])[:, a - lo:b - lo]
        return out

    def _forward(self, x: np.ndarray) -> np.ndarray:
        t = self.t
        m = x.shape[1]
        if m == 0:
            return np.zeros((self.n_classes, 0), dtype=np.float32)
        h = np.maximum(_conv2d(x[None], t["conv1.weight"], t["conv1.bias"]), 0)
        h = np.maximum(_conv2d(h, t["conv2.weight"], t["conv2.bias"]), 0)
        h = h.reshape(-1, m)
        h = np.maximum(_conv1d(h, t["conv3.weight"], t["conv3.bias"]), 0)
        h = np.maximum(_conv1d(h, t["conv4.weight"], t["conv4.bias"]), 0)
        return _conv1d(h, t["out.weight"], t["out.bias"])

    def log_posteriors(self, notes: np.ndarray) -> np.ndarray:
        """log P(class | segment) (n_classes, m)."""
        return log_softmax(self.logits(notes).astype(np.float64), axis=0)


#: what a missing weights file is told as
MISSING = ("chord recogniser weights not found (reinstall musicapp; how they are trained: "
           "resources/models/CHORDCNN_MODEL_CARD.md)")


def load_chord_model(path: str | Path | None = None) -> ChordCNN:
    """Load and verify the weights; ModelError (naming the file) on any problem."""
    from musicapp.models.weights import read_verified_numpy

    p = Path(path) if path is not None else default_weights()
    tensors, meta = read_verified_numpy(p, missing=MISSING)
    bad = [name for name, t in tensors.items()
           if np.issubdtype(t.dtype, np.floating) and not np.all(np.isfinite(t))]
    if bad:
        raise ModelError(f"{p}: chord recogniser weights hold NaN or infinite values ({bad[0]})")
    from musicapp.analysis.labels import N_CHORDS

    try:
        model = ChordCNN(tensors, meta)
        # a trial forward pass: tensors of the wrong shape fail here, not in the middle of a
        # track's analysis (where they took key, tempo and chords down with them)
        trial = model.log_posteriors(np.zeros((84, 4)))
    except Exception as exc:
        raise ModelError(f"{p}: not a chord recogniser weights file "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from None
    if model.n_classes != N_CHORDS + 1 or meta.get("vocabulary") != "root x quality + N":
        raise ModelError(f"{p}: chord recogniser vocabulary differs from the decoder's")
    if trial.shape != (N_CHORDS + 1, 4) or not np.all(np.isfinite(trial)):
        raise ModelError(f"{p}: chord recogniser gives no usable output on a test input")
    return model


@functools.lru_cache(maxsize=1)
def shipped_model() -> ChordCNN:
    """The shipped model, loaded once per process (ModelError when it cannot be used)."""
    return load_chord_model()
