"""ChordGRU: a conditioned GRU language model over key-relative chord tokens.

Training uses torch (:func:`build_torch_model`, imported lazily); inference runs in numpy
(:class:`ChordModel`) so that generating a loop needs neither torch nor a GPU and takes
milliseconds. Weights are stored as safetensors (tensors + JSON metadata with the vocabulary and
configuration); loading verifies a sha256 checksum first and never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicapp.errors import ModelError
from musicapp.paths import resource_path

MODELS_DIR = resource_path("models")
DEFAULT_WEIGHTS = MODELS_DIR / "chordgru.safetensors"
DEFAULT_SHA = MODELS_DIR / "chordgru.safetensors.sha256"


@dataclass(frozen=True)
class GRUConfig:
    """Sizes of the network."""

    vocab_size: int
    cond_dim: int
    emb_dim: int = 48
    hidden: int = 160
    n_dur: int = 3
    dur_dim: int = 8


def build_torch_model(cfg: GRUConfig, dropout: float = 0.25):
    """Create the torch module (training only)."""
    import torch
    from torch import nn

    class ChordGRU(nn.Module):
        """Embedding + condition -> GRU -> next-token and duration heads; h0 = tanh(W c + b)."""

        def __init__(self) -> None:
            super().__init__()
            self.cfg = cfg
            self.emb = nn.Embedding(cfg.vocab_size, cfg.emb_dim)
            self.dur_emb = nn.Embedding(cfg.n_dur + 1, cfg.dur_dim)  # last index: none (BOS)
            self.cond_h = nn.Linear(cfg.cond_dim, cfg.hidden)
            self.gru = nn.GRU(cfg.emb_dim + cfg.dur_dim + cfg.cond_dim, cfg.hidden,
                              batch_first=True)
            self.drop = nn.Dropout(dropout)
            self.out = nn.Linear(cfg.hidden, cfg.vocab_size)
            self.dur = nn.Linear(cfg.hidden, cfg.n_dur)

        def forward(self, tokens: torch.Tensor, durs: torch.Tensor, cond: torch.Tensor):
            x = self.drop(self.emb(tokens))
            dx = self.dur_emb(durs)
            c = cond.unsqueeze(1).expand(-1, tokens.shape[1], -1)
            h0 = torch.tanh(self.cond_h(cond)).unsqueeze(0)
            y, _ = self.gru(torch.cat([x, dx, c], dim=-1), h0)
            y = self.drop(y)
            return self.out(y), self.dur(y)

    return ChordGRU()


def torch_state_to_numpy(model) -> dict[str, np.ndarray]:
    """Flatten the torch module's parameters into the safetensors layout."""
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return {
        "emb": sd["emb.weight"], "dur_emb": sd["dur_emb.weight"],
        "cond_h.w": sd["cond_h.weight"], "cond_h.b": sd["cond_h.bias"],
        "gru.w_ih": sd["gru.weight_ih_l0"], "gru.w_hh": sd["gru.weight_hh_l0"],
        "gru.b_ih": sd["gru.bias_ih_l0"], "gru.b_hh": sd["gru.bias_hh_l0"],
        "out.w": sd["out.weight"], "out.b": sd["out.bias"],
        "dur.w": sd["dur.weight"], "dur.b": sd["dur.bias"],
    }


def save_weights(tensors: dict[str, np.ndarray], meta: dict, path: Path) -> str:
    """Write safetensors (with JSON metadata) atomically and a ``.sha256`` file; return the hash."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    arrays = {k: np.ascontiguousarray(v if np.asarray(v).dtype == np.int64
                                      else np.asarray(v, dtype=np.float32))
              for k, v in tensors.items()}
    save_file(arrays, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})
    tmp.replace(path)
    path.chmod(0o644)
    from musicapp.models.weights import register_checksum

    return register_checksum(path)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Numerically stable log-softmax over the last axis."""
    m = x.max(axis=-1, keepdims=True)
    y = x - m
    return y - np.log(np.exp(y).sum(axis=-1, keepdims=True))


class ChordModel:
    """Numpy inference for a trained ChordGRU (weights + vocabulary + metadata)."""

    def __init__(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        self.t = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()
                  if not k.startswith("novelty.")}
        #: sorted hashes of every training 8-gram (for the "no verbatim copies" reranking)
        self.train_ngram8 = np.asarray(tensors.get("novelty.ngram8", np.zeros(0, np.int64)))
        self.meta = meta
        self.itos: list[str] = list(meta["vocab"])
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.cfg = GRUConfig(**meta["config"])
        self.hidden = self.cfg.hidden
        t = self.t
        # precompute the embedding's input projection: one lookup per step instead of a matmul
        E, Dd = self.cfg.emb_dim, self.cfg.dur_dim
        self._emb_proj = t["emb"] @ t["gru.w_ih"][:, :E].T + t["gru.b_ih"]
        self._dur_proj = t["dur_emb"] @ t["gru.w_ih"][:, E:E + Dd].T
        self._w_ic = t["gru.w_ih"][:, E + Dd:]
        self.dur_none = self.cfg.n_dur

    @staticmethod
    def load(path: str | Path | None = None) -> ChordModel:
        """Load weights after verifying their sha256 (recorded in ``PATH.sha256``); raises
        :class:`ModelError` on any problem, naming the file."""
        from musicapp.models.weights import read_verified_numpy

        path = Path(path) if path else DEFAULT_WEIGHTS
        tensors, meta = read_verified_numpy(
            path, missing="chord model weights not found (run `musicapp train chords`)")
        if "vocab" not in meta or "config" not in meta:
            raise ModelError(f"{path}: metadata lacks vocab/config")
        try:
            return ChordModel(tensors, meta)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ModelError(f"{path}: not a chord model weights file ({str(exc)[:200]})") from None

    # ---- conditioning and durations (format of the weights file) ----------------------------
    @property
    def bar_durations(self) -> bool:
        """True when the duration head predicts bar-relative classes (part of a bar, one bar,
        longer); older weights predict 1, 2 or 4 beats."""
        return self.meta.get("dur_unit") == "bar"

    def condition(self, valence: float, arousal: float, mode: str, style: str | None = None,
                  meter_family: str = "duple") -> np.ndarray:
        """The condition vector this model was trained with (see ``compose.conditioning``)."""
        if self.meta.get("cond_version") == 2:
            from musicapp.compose.conditioning import condition_vector

            return condition_vector(valence, arousal, mode, style, meter_family)
        from musicapp.compose.labels import condition_vector as legacy

        return legacy(valence, arousal, mode)

    def dur_class_of(self, beats: float, bar_beats: float) -> int:
        """Duration class of a chord of ``beats`` quarter notes in bars of ``bar_beats``."""
        if self.bar_durations:
            return 0 if beats < bar_beats - 1e-9 else (1 if beats < bar_beats + 1e-9 else 2)
        from musicapp.compose.vocab import dur_class

        return dur_class(beats)

    def whole_bar_mask(self, bar_beats: float) -> np.ndarray:
        """Boolean mask over duration classes meaning "at least a whole bar"."""
        if self.bar_durations:
            return np.array([False, True, True])
        from musicapp.compose.vocab import DUR_BEATS

        return np.array([b >= 0.75 * bar_beats for b in DUR_BEATS])

    def copies_training(self, tokens: list[str], n: int = 8) -> bool:
        """True when any ``n``-gram of ``tokens`` occurs verbatim in the training sequences."""
        from musicapp.compose.vocab import ngram_hash

        if len(self.train_ngram8) == 0 or n != 8:
            return False
        for i in range(len(tokens) - n + 1):
            h = ngram_hash(tokens[i:i + n])
            j = int(np.searchsorted(self.train_ngram8, h))
            if j < len(self.train_ngram8) and self.train_ngram8[j] == h:
                return True
        return False

    # ---- inference ---------------------------------------------------------------------------
    def init_state(self, cond: np.ndarray) -> np.ndarray:
        """Initial hidden state (B, H) from conditions (B, C)."""
        return np.tanh(cond @ self.t["cond_h.w"].T + self.t["cond_h.b"])

    def cond_proj(self, cond: np.ndarray) -> np.ndarray:
        """The condition's (constant) contribution to the GRU input gates, (B, 3H)."""
        return cond @ self._w_ic.T

    def step(self, tok: np.ndarray, dur: np.ndarray, cproj: np.ndarray, h: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One GRU step on the previous chord ``tok`` and its duration class ``dur``
        (``dur_none`` after BOS): returns (token log-probs (B,V), duration log-probs of the next
        chord (B,3), new h)."""
        H = self.hidden
        gi = self._emb_proj[tok] + self._dur_proj[dur] + cproj
        gh = h @ self.t["gru.w_hh"].T + self.t["gru.b_hh"]
        r = _sigmoid(gi[:, :H] + gh[:, :H])
        z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1.0 - z) * n + z * h
        logits = h @ self.t["out.w"].T + self.t["out.b"]
        dlog = h @ self.t["dur.w"].T + self.t["dur.b"]
        return log_softmax(logits), log_softmax(dlog), h

    def sequence_logprobs(self, ids: list[int], durs: list[int], cond: np.ndarray, bos: int = 1
                          ) -> np.ndarray:
        """Log-probabilities of each next token of ``ids`` (ids exclude BOS, may end with EOS;
        ``durs`` are the duration classes of the chords in ``ids``)."""
        c = cond[None, :]
        h = self.init_state(c)
        cp = self.cond_proj(c)
        prev, pdur = np.array([bos]), np.array([self.dur_none])
        out = []
        for k, i in enumerate(ids):
            lp, _, h = self.step(prev, pdur, cp, h)
            out.append(lp[0, i])
            prev = np.array([i])
            pdur = np.array([durs[k] if k < len(durs) else self.dur_none])
        return np.asarray(out)
