"""A small learned melody model: the next note's pitch given the previous note, the chord and the
metric position (a log-linear model, 42 weights, learned from POP909 and OpenEWLD melodies by
``musicapp train melody``; weights in ``resources/compose/melody_model.json``).

For each candidate pitch ``p`` within an octave of the previous note ``q``:

    score(p) = w_int[p - q] + (w_ct_strong if strong else w_ct_weak) * [p is a chord tone]
               + w_scale * [p in the key's scale] + w_root[(p - chord root) mod 12]
               + w_reg * |p - 70| / 12

and ``P(p) = softmax(score)`` over the 25 candidates. ``strong`` = the note starts a bar or the
bar's second half. The rhythm is not modelled: the arrangement's rhythm is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import numpy as np

from musicapp.errors import ModelError
from musicapp.paths import resource_path

SPAN = 12  # candidates: previous pitch +- one octave
N_CAND = 2 * SPAN + 1
LOW, HIGH = 55, 88
MODEL_PATH = resource_path("compose") / "melody_model.json"
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)


@dataclass
class MelodyModel:
    """The weights (see the module docstring)."""

    w_int: np.ndarray  # (25,)
    w_ct: np.ndarray  # (2,) strong, weak
    w_scale: float
    w_root: np.ndarray  # (12,)
    w_reg: float

    def to_json(self) -> dict:
        return {"w_int": self.w_int.tolist(), "w_ct": self.w_ct.tolist(),
                "w_scale": float(self.w_scale), "w_root": self.w_root.tolist(),
                "w_reg": float(self.w_reg)}

    @staticmethod
    def from_json(d: dict) -> MelodyModel:
        try:
            m = MelodyModel(np.asarray(d["w_int"], float), np.asarray(d["w_ct"], float),
                            float(d["w_scale"]), np.asarray(d["w_root"], float),
                            float(d["w_reg"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"melody model: malformed weights ({exc})") from None
        if m.w_int.shape != (N_CAND,) or m.w_ct.shape != (2,) or m.w_root.shape != (12,):
            raise ModelError("melody model: weights of the wrong shape")
        return m

    def scores(self, prev: np.ndarray, chord_mask: np.ndarray, root: np.ndarray,
               scale_mask: np.ndarray, strong: np.ndarray) -> np.ndarray:
        """(N, 25) scores; ``chord_mask``/``scale_mask`` (N, 12) bool, ``root`` (N,) pc."""
        return candidate_scores(self.to_vector(), prev, chord_mask, root, scale_mask, strong)

    def to_vector(self) -> np.ndarray:
        return np.concatenate([self.w_int, self.w_ct, [self.w_scale], self.w_root,
                               [self.w_reg]])


N_WEIGHTS = N_CAND + 2 + 1 + 12 + 1


def candidate_features(prev: np.ndarray, chord_mask: np.ndarray, root: np.ndarray,
                       scale_mask: np.ndarray, strong: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per example and candidate: chord tone, scale tone, root interval, register distance
    (each (N, 25)); and the candidate pitches."""
    d = np.arange(-SPAN, SPAN + 1)
    p = prev[:, None] + d[None, :]
    pc = p % 12
    rows = np.arange(len(prev))[:, None]
    ct = chord_mask[rows, pc]
    sc = scale_mask[rows, pc]
    rint = (pc - root[:, None]) % 12
    reg = np.abs(p - 70) / 12.0
    return ct, sc, rint, reg, p


def candidate_scores(w: np.ndarray, prev, chord_mask, root, scale_mask, strong) -> np.ndarray:
    """Scores of the 25 candidates for a weight vector ``w`` (layout of ``to_vector``)."""
    ct, sc, rint, reg, _ = candidate_features(prev, chord_mask, root, scale_mask, strong)
    w_int, w_ct = w[:N_CAND], w[N_CAND:N_CAND + 2]
    w_sc, w_root, w_reg = w[N_CAND + 2], w[N_CAND + 3:N_CAND + 15], w[N_CAND + 15]
    ctw = np.where(strong[:, None], w_ct[0], w_ct[1])
    return w_int[None, :] + ct * ctw + sc * w_sc + w_root[rint] + reg * w_reg


@cache
def load_melody_model() -> MelodyModel:
    """The shipped weights."""
    try:
        return MelodyModel.from_json(json.loads(MODEL_PATH.read_text()))
    except FileNotFoundError:
        raise ModelError(f"{MODEL_PATH}: melody model not found (run `musicapp train "
                         "melody`)") from None


def scale_mask_of(tonic_pc: int, mode: str) -> np.ndarray:
    """12 booleans: the key's scale (natural minor in minor)."""
    m = np.zeros(12, bool)
    for s in _MAJOR if mode == "major" else _MINOR:
        m[(tonic_pc + s) % 12] = True
    return m


def sample_pitches(model: MelodyModel, onsets: list[float], chords: list[list[int]],
                   strong: list[bool], tonic_pc: int, mode: str, rng: np.random.Generator,
                   start: int = 72, temperature: float = 1.0) -> list[int]:
    """Pitches for the given onsets (each with its chord's pitch classes, root first)."""
    out = []
    prev = start
    smask = scale_mask_of(tonic_pc, mode)[None, :]
    for _onset, ch, st in zip(onsets, chords, strong, strict=True):
        cm = np.zeros((1, 12), bool)
        cm[0, ch] = True
        s = model.scores(np.array([prev]), cm, np.array([ch[0]]), smask, np.array([st]))[0]
        cand = prev + np.arange(-SPAN, SPAN + 1)
        s = np.where((cand >= LOW) & (cand <= HIGH), s / max(temperature, 1e-3), -np.inf)
        p = np.exp(s - s.max())
        p /= p.sum()
        prev = int(cand[int(rng.choice(N_CAND, p=p))])
        out.append(prev)
    return out
