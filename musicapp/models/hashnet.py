"""CNN-LSTM hashing model: musicnn's conv feature maps read as a sequence by a recurrent network.

Architecture
------------
1. **Frozen front end.** The pretrained, ported ``MSD_musicnn`` (:mod:`musicapp.models.musicnn`)
   turns a log-Mel patch (187 frames x 96 bands, 3 s) into conv feature maps. Its weights are never
   trained here; they come from ``resources/models/`` and the port's checksums.
2. **A sequence of conv feature maps.** Eight conv layers feed the sequence (:data:`CONV_LAYERS`):

   * the two *timbral* convolutions (7x38 and 7x67 Mel-band filters, 204 channels each, max-pooled
     over frequency): spectral envelope and instrumentation, the cue for valence and genre;
   * the three *temporal* convolutions (128, 64 and 32-frame filters over the band-averaged
     spectrogram, 51 channels each): rhythm and tempo at three scales, the cue for arousal
     ("fast", "slow", "party");
   * the three *mid-end* 1-D convolutions (64 channels, kernel 7, residual): the musicnn layers that
     combine timbre and rhythm over time and feed the tagger's pooling, i.e. the most tag-like
     maps.

   The input batch norm is not a conv layer and the dense back end is what we distil from, so
   neither is used. Two ways of making a sequence of those maps are built:

   * ``variant="layers"`` (the seed design): one step per conv layer, shallow to deep. Each layer's
     map (channels x time) is resized to a common ``grid`` (64 x 32) by bilinear interpolation
     (antialiased, so downsampling averages instead of dropping rows) and flattened; a shared
     linear projection plus a learned per-layer embedding gives the step vector.
   * ``variant="time"``: the eight maps are concatenated along channels (753) and average-pooled
     over time to ``time_steps`` (32 steps of ~94 ms); one step per time slice. This is the
     shipped variant: it won the ablation (``musicapp evaluate tagger-ablation``) on validation
     ROC-AUC, since the layer-step resize averages unrelated neighbouring filters together.

   The mapping from maps to sequence has no parameters, so training can cache it per patch
   (:func:`build_sequence`) and the cached tensors are exactly what the model computes at run time.
3. **Reader.** A 2-layer LSTM (GRU and simple RNN for the ablation) reads the sequence; its last
   output and its mean output form the summary ``h``.
4. **Hash layer.** ``code = tanh(W h)`` (64 bits by default): relaxed in training with a
   quantisation loss (pushes ``|code|`` to 1) and a bit-balance loss (each bit's mean over a batch to
   0, i.e. on for half the segments); at inference the binary code is ``sign(code)``. 64 bits: one
   machine word per segment (XOR + popcount), ample for the 44 distilled tags (a 64-bit code
   separates far more profiles than a music library holds). In the ablation 128 bits gave the
   same tag agreement and somewhat better code retrieval (genre mAP@10 +0.02); ``bits`` is a
   config field for whoever prefers that trade.
5. **Heads** read ``h``: mood/emotion tags (15 multi-label, :data:`MOOD_TAGS`), genre (29
   multi-label, :data:`GENRE_TAGS`), valence/arousal (tanh, in [-1, 1]), and an embedding
   (128-d, L2-normalised) for cosine re-ranking after the Hamming search. Tag heads predict the
   teacher's logits (standardised per tag in training), so ``sigmoid(mood_logits)`` estimates the
   teacher's probability. Two auxiliary decoders are used in training only: one predicts the tags
   from the code (so the bits carry tag semantics) and one predicts all 100 teacher logits from the
   embedding (so cosine similarity reflects the teacher's whole tag profile).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from musicapp.errors import ModelError
from musicapp.hashcode import bits_to_hex
from musicapp.models.circumplex import MOOD_TAGS, TAG_SOURCES
from musicapp.paths import resource_path

#: Conv layers feeding the sequence: (name, key of the musicnn output dict, first channel, end).
CONV_LAYERS: tuple[tuple[str, str, int, int], ...] = (
    ("timbral_7x38", "frontend", 0, 204),
    ("timbral_7x67", "frontend", 204, 408),
    ("temporal_128", "frontend", 408, 459),
    ("temporal_64", "frontend", 459, 510),
    ("temporal_32", "frontend", 510, 561),
    ("mid1", "mid1", 0, 64),
    ("mid2", "mid2", 0, 64),
    ("mid3", "mid3", 0, 64),
)
LAYER_NAMES: tuple[str, ...] = tuple(n for n, *_ in CONV_LAYERS)
LAYER_CHANNELS: dict[str, int] = {n: e - s for n, _, s, e in CONV_LAYERS}

#: Genre tags distilled from the teachers: (source, tag as the teacher spells it).
GENRE_SOURCES: tuple[tuple[str, str], ...] = (
    *(
        ("MSD", t)
        for t in (
            "rock", "pop", "alternative", "indie", "electronic", "dance", "jazz", "metal",
            "soul", "folk", "punk", "blues", "hard rock", "experimental", "Hip-Hop", "country",
            "funk", "electro", "heavy metal", "Progressive rock", "rnb", "House", "electronica",
            "chillout",
        )
    ),
    *(("MTT", t) for t in ("classical", "techno", "new age", "opera", "indian")),
)
GENRE_TAGS: tuple[str, ...] = tuple(t.lower() for _, t in GENRE_SOURCES)
MOOD_SOURCES: tuple[tuple[str, str], ...] = TAG_SOURCES

WEIGHTS_PATH = resource_path("models", "hashnet.safetensors")


@dataclass
class HashNetConfig:
    """Everything that defines a hashnet's shape (stored as JSON with the weights)."""

    variant: str = "layers"  # "layers" (steps = conv layers) or "time" (steps = time slices)
    cell: str = "lstm"  # "lstm", "gru" or "rnn"
    layers: list[str] = field(default_factory=lambda: list(LAYER_NAMES))
    grid: list[int] = field(default_factory=lambda: [64, 32])  # (channels, frames) per layer step
    time_steps: int = 32
    d_model: int = 256
    hidden: int = 256
    num_layers: int = 2
    bits: int = 64
    emb_dim: int = 128
    dropout: float = 0.1
    frontend: str = "MSD_musicnn"
    mood_tags: list[str] = field(default_factory=lambda: list(MOOD_TAGS))
    genre_tags: list[str] = field(default_factory=lambda: list(GENRE_TAGS))
    n_teacher: int = 100  # MSD (50) + MTT (50) logits decoded from the embedding

    def __post_init__(self) -> None:
        if self.variant not in ("layers", "time"):
            raise ValueError(f"variant must be 'layers' or 'time', not {self.variant!r}")
        if self.cell not in ("lstm", "gru", "rnn"):
            raise ValueError(f"cell must be 'lstm', 'gru' or 'rnn', not {self.cell!r}")
        unknown = [n for n in self.layers if n not in LAYER_CHANNELS]
        if unknown or not self.layers:
            raise ValueError(f"unknown or empty conv layer list: {unknown or self.layers}")
        if self.bits < 8:
            raise ValueError("bits must be >= 8")

    @property
    def step_dim(self) -> int:
        """Size of one raw sequence step (before the learned projection)."""
        if self.variant == "layers":
            return self.grid[0] * self.grid[1]
        return sum(LAYER_CHANNELS[n] for n in self.layers)

    @property
    def seq_len(self) -> int:
        """Number of steps of the sequence."""
        return len(self.layers) if self.variant == "layers" else self.time_steps

    def to_json(self) -> str:
        """Serialise to JSON."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HashNetConfig:
        """Parse from JSON, ignoring unknown keys."""
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def layer_maps(features: dict[str, torch.Tensor], layers: Sequence[str]) -> list[torch.Tensor]:
    """Cut the named conv layers' maps (B, C, T) out of a musicnn output dict."""
    spec = {n: (key, s, e) for n, key, s, e in CONV_LAYERS}
    maps = []
    for name in layers:
        key, s, e = spec[name]
        maps.append(features[key][:, s:e, :])
    return maps


def build_sequence(features: dict[str, torch.Tensor], cfg: HashNetConfig) -> torch.Tensor:
    """Turn musicnn feature maps into the reader's input sequence (B, seq_len, step_dim).

    Parameter-free and deterministic, so it can be cached per patch for training.
    """
    maps = layer_maps(features, cfg.layers)
    if cfg.variant == "layers":
        h, w = cfg.grid
        steps = [
            F.interpolate(
                m.unsqueeze(1).float(), size=(h, w), mode="bilinear", align_corners=False,
                antialias=True,
            ).flatten(1)
            for m in maps
        ]
        return torch.stack(steps, dim=1)
    cat = torch.cat([m.float() for m in maps], dim=1)
    return F.adaptive_avg_pool1d(cat, cfg.time_steps).transpose(1, 2).contiguous()


class HashNetHead(nn.Module):
    """The trainable part: projection, recurrent reader, hash layer and heads."""

    def __init__(self, cfg: HashNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        m, g = len(cfg.mood_tags), len(cfg.genre_tags)
        self.in_norm = nn.LayerNorm(cfg.step_dim)
        self.proj = nn.Linear(cfg.step_dim, cfg.d_model)
        self.step_emb = nn.Parameter(torch.zeros(cfg.seq_len, cfg.d_model))
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cfg.cell]
        self.reader = rnn_cls(
            cfg.d_model, cfg.hidden, num_layers=cfg.num_layers, batch_first=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.summary = nn.Sequential(
            nn.LayerNorm(2 * cfg.hidden), nn.Linear(2 * cfg.hidden, 256), nn.GELU(),
            nn.Dropout(cfg.dropout),
        )
        self.mood = nn.Linear(256, m)
        self.genre = nn.Linear(256, g)
        self.va = nn.Linear(256, 2)
        self.hash = nn.Linear(256, cfg.bits)
        self.emb = nn.Linear(256, cfg.emb_dim)
        self.code_decoder = nn.Linear(cfg.bits, m + g)  # training aid: tags from the code
        self.emb_decoder = nn.Linear(cfg.emb_dim, cfg.n_teacher)  # training aid: teacher profile
        # Teacher logit statistics: heads predict standardised logits; outputs are de-standardised.
        self.register_buffer("mood_mean", torch.zeros(m))
        self.register_buffer("mood_std", torch.ones(m))
        self.register_buffer("genre_mean", torch.zeros(g))
        self.register_buffer("genre_std", torch.ones(g))
        nn.init.normal_(self.step_emb, std=0.02)

    def forward(self, seq: torch.Tensor) -> dict[str, torch.Tensor]:
        """Read a (B, seq_len, step_dim) sequence; return the heads' outputs (see module doc)."""
        cfg = self.cfg
        if seq.ndim != 3 or seq.shape[1] != cfg.seq_len or seq.shape[2] != cfg.step_dim:
            raise ValueError(
                f"expected sequence (B, {cfg.seq_len}, {cfg.step_dim}), got {tuple(seq.shape)}"
            )
        x = self.proj(self.in_norm(seq.to(self.proj.weight.dtype))) + self.step_emb
        out, _ = self.reader(x)
        h = self.summary(torch.cat([out[:, -1], out.mean(dim=1)], dim=1))
        mood_z = self.mood(h)
        genre_z = self.genre(h)
        code = torch.tanh(self.hash(h))
        e = self.emb(h)
        return {
            "mood_z": mood_z,
            "genre_z": genre_z,
            "mood_logits": mood_z * self.mood_std + self.mood_mean,
            "genre_logits": genre_z * self.genre_std + self.genre_mean,
            "valence_arousal": torch.tanh(self.va(h)),
            "code": code,
            "embedding": F.normalize(e, dim=1),
            "code_tags_z": self.code_decoder(code),
            "teacher_z": self.emb_decoder(e),
            "summary": h,
        }


class CnnLstmHashNet(nn.Module):
    """Frozen musicnn front end + :class:`HashNetHead`. Input: log-Mel patches (B, 187, 96)."""

    def __init__(self, cfg: HashNetConfig, frontend: nn.Module | None) -> None:
        super().__init__()
        self.cfg = cfg
        self.frontend = frontend
        if frontend is not None:
            frontend.eval()
            for p in frontend.parameters():
                p.requires_grad_(False)
        self.head = HashNetHead(cfg)

    def train(self, mode: bool = True) -> CnnLstmHashNet:
        """Switch the head's mode; the frozen front end always stays in eval mode."""
        super().train(mode)
        if self.frontend is not None:
            self.frontend.eval()
        return self

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the frozen front end on log-Mel patches (B, 187, 96)."""
        if self.frontend is None:
            raise ModelError("hashnet: this instance has no front end (built for cached features)")
        with torch.no_grad():
            return self.frontend(x)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> dict[str, torch.Tensor]:
        """Tag, score, hash and embed log-Mel patches (B, 187, 96).

        Returns ``mood_logits`` (B, M), ``genre_logits`` (B, G), ``valence_arousal`` (B, 2) in
        [-1, 1], ``code`` (B, bits; tanh-relaxed, take ``sign`` for the binary code),
        ``embedding`` (B, D; unit norm), ``msd_logits`` (B, 50: the frozen front end's own
        MSD_musicnn tag logits, free because the front end runs anyway) and, with
        ``return_features``, ``feature_maps``: a dict of the eight conv layers' maps (B, C, T)
        plus ``sequence`` (the reader's input).
        """
        feats = self.features(x)
        seq = build_sequence(feats, self.cfg)
        out = self.head(seq)
        out["msd_logits"] = feats["logits"]  # the frozen MSD teacher's own 50 tag logits
        if return_features:
            maps = dict(zip(LAYER_NAMES, layer_maps(feats, LAYER_NAMES), strict=True))
            out["feature_maps"] = maps  # type: ignore[assignment]
            out["sequence"] = seq
        return out


def binary_code(code: torch.Tensor) -> torch.Tensor:
    """Binarise relaxed codes: ``sign`` with 0 mapped to +1; returns a bool tensor (True = +1)."""
    return code >= 0


def code_to_hex(bits: torch.Tensor) -> str:
    """Pack one bool code (bits,) into a hex string, most significant bit first."""
    return bits_to_hex(bits.detach().cpu().numpy().astype(bool))


def hamming_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise Hamming distances between bool codes a (N, bits) and b (M, bits) -> (N, M)."""
    a_f, b_f = a.float(), b.float()
    return a_f @ (1 - b_f).T + (1 - a_f) @ b_f.T


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------


def quantization_loss(code: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of relaxed codes from the binary corners: mean((|c| - 1)^2)."""
    return ((code.abs() - 1.0) ** 2).mean()


def bit_balance_loss(code: torch.Tensor) -> torch.Tensor:
    """Mean over bits of the squared batch mean of each bit (0 when every bit is on half the time)."""
    return (code.mean(dim=0) ** 2).mean()


@dataclass
class LossWeights:
    """Weights of the training objective's terms."""

    mood: float = 1.0
    genre: float = 1.0
    va: float = 1.0
    code_tags: float = 0.5
    teacher: float = 0.5
    quant: float = 0.1
    balance: float = 0.1


def hashnet_loss(
    out: dict[str, torch.Tensor],
    target: dict[str, torch.Tensor],
    w: LossWeights | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Distillation + hashing objective.

    ``target`` holds standardised teacher logits ``mood_z`` (B, M), ``genre_z`` (B, G),
    ``teacher_z`` (B, 100) and the circumplex ``valence_arousal`` (B, 2). Tag terms are mean
    squared errors on standardised logits (regressing the teacher's logits keeps its ranking of
    segments, which is what calibrated percentiles and ROC-AUC measure).
    """
    w = w or LossWeights()
    tags_z = torch.cat([target["mood_z"], target["genre_z"]], dim=1)
    terms = {
        "mood": F.mse_loss(out["mood_z"], target["mood_z"]),
        "genre": F.mse_loss(out["genre_z"], target["genre_z"]),
        "va": F.mse_loss(out["valence_arousal"], target["valence_arousal"]),
        "code_tags": F.mse_loss(out["code_tags_z"], tags_z),
        "teacher": F.mse_loss(out["teacher_z"], target["teacher_z"]),
        "quant": quantization_loss(out["code"]),
        "balance": bit_balance_loss(out["code"]),
    }
    total = sum(getattr(w, k) * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}


# ---------------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------------

META_KEYS = ("mood_quantiles", "genre_quantiles", "va_quantiles")
FORMAT = "musicapp-hashnet-1"


def save_hashnet(
    path: str | Path,
    head: HashNetHead,
    calibration: dict[str, torch.Tensor],
    extra_meta: dict[str, str] | None = None,
) -> str:
    """Write the trainable part and calibration tables to safetensors; return the file's sha256.

    The front end is not saved (it is the shipped musicnn). The config JSON goes into the
    safetensors metadata under ``"config"``; the checksum goes into ``PATH.sha256``
    (:func:`musicapp.models.weights.save_state`).
    """
    from musicapp.models.weights import save_state

    tensors = {f"head.{k}": v for k, v in head.state_dict().items()}
    for k in META_KEYS:
        if k in calibration:
            tensors[f"calib.{k}"] = calibration[k].float()
    metadata = {"config": head.cfg.to_json(), "format": FORMAT}
    metadata.update(extra_meta or {})
    return save_state(path, tensors, metadata=metadata)


def head_from_tensors(
    tensors: dict[str, torch.Tensor], meta: dict[str, str], path: str | Path
) -> HashNetHead:
    """Build a :class:`HashNetHead` from saved tensors, refusing incompatible files."""
    if meta.get("format") != FORMAT or "config" not in meta:
        raise ModelError(f"{path}: not a musicapp hashnet weights file (metadata missing)")
    try:
        cfg = HashNetConfig.from_json(meta["config"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelError(f"{path}: bad hashnet config ({exc})") from exc
    head = HashNetHead(cfg)
    state = {k[5:]: v for k, v in tensors.items() if k.startswith("head.")}
    try:
        head.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{path}: weights do not fit the hashnet config ({exc})") from exc
    head.eval()
    return head


def load_hashnet(
    device: str | torch.device = "cpu",
    path: str | Path | None = None,
    sha256: str | None = None,
    frontend: nn.Module | None = None,
) -> tuple[CnnLstmHashNet, dict[str, Any]]:
    """Load the shipped (or given) hashnet with its frozen musicnn front end.

    Args:
        device: torch device for the model.
        path: weights file; defaults to ``resources/models/hashnet.safetensors``. Its sha256 is
            checked against ``sha256`` when given, else against the sidecar ``PATH.sha256``.
        sha256: expected checksum of ``path``.
        frontend: an already loaded musicnn to share (else ``load_musicnn`` is called).

    Returns:
        ``(model, meta)``; ``meta`` has ``mood_tags``, ``genre_tags``, ``bits``, ``variant``,
        ``cell``, ``config`` and the calibration quantile tensors ``mood_quantiles`` (M, 101),
        ``genre_quantiles`` (G, 101) and ``va_quantiles`` (2, 101).

    Raises:
        ModelError: missing, tampered, truncated or incompatible weights.
    """
    from musicapp.models.weights import load_metadata, load_state

    path = Path(path) if path is not None else WEIGHTS_PATH
    tensors = load_state(path, sha256=sha256)  # verifies size and checksum before parsing
    file_meta = load_metadata(path)
    head = head_from_tensors(tensors, file_meta, path)
    cfg = head.cfg
    if frontend is None:
        from musicapp.models.musicnn import load_musicnn

        frontend = load_musicnn(cfg.frontend, device=device)
    model = CnnLstmHashNet(cfg, frontend)
    model.head = head
    model.to(device).eval()
    meta: dict[str, Any] = {
        "mood_tags": list(cfg.mood_tags),
        "genre_tags": list(cfg.genre_tags),
        "bits": cfg.bits,
        "variant": cfg.variant,
        "cell": cfg.cell,
        "config": cfg,
        "path": str(path),
    }
    for k in META_KEYS:
        if f"calib.{k}" in tensors:
            meta[k] = tensors[f"calib.{k}"]
    for k, v in file_meta.items():
        if k not in ("config", "format"):
            meta.setdefault(k, v)
    return model, meta
