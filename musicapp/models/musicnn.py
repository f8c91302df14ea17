"""PyTorch port of the pretrained musicnn taggers (Pons & Serra, musicnn 0.1.0, ISC licence,
(c) Music Technology Group, Universitat Pompeu Fabra).

Two architectures, four checkpoints:

* ``MSD_musicnn`` / ``MTT_musicnn`` (:class:`Musicnn`): a musically motivated front end
  (timbral convolutions 7x38 and 7x67 over the input spectrogram with 204 filters each, temporal
  convolutions 128x1, 64x1 and 32x1 with 51 filters each, every branch max-pooled over frequency),
  a mid-end of three 1-D convolutions (kernel 7, 64 channels, ReLU then batch norm, residual
  connections from the second), and a back-end of interleaved max/mean pooling over time, dense 200
  and dense 50.
* ``MSD_vgg`` / ``MTT_vgg`` (:class:`MusicnnVGG`): five 3x3 conv layers with 128 filters.

Input: ``(batch, 187, 96)`` log-Mel patches (time-major), already ``log10(10000 * S + 1)``.
Numerical details that matter for parity with the TensorFlow graph: batch-norm epsilon 1e-3;
TensorFlow "SAME" padding of an even kernel ``k`` puts ``(k - 1) // 2`` zeros before and ``k // 2``
after; the pooled features are flattened in TensorFlow's order ``[max0, mean0, max1, mean1, ...]``;
padding is applied to the *normalised* input.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from musicapp.errors import ModelError

# Tag vocabularies in output order (musicnn/configuration.py of musicnn 0.1.0).
MTT_TAGS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip
MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy",
)  # fmt: skip

MODEL_NAMES: tuple[str, ...] = ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg")
WEIGHT_FILES: dict[str, str] = {
    "MSD_musicnn": "musicnn_msd.safetensors",
    "MTT_musicnn": "musicnn_mtt.safetensors",
    "MSD_vgg": "musicnn_vgg_msd.safetensors",
    "MTT_vgg": "musicnn_vgg_mtt.safetensors",
}
BN_EPS = 1e-3
N_MELS = 96
PATCH_FRAMES = 187


def tags_for(name: str) -> tuple[str, ...]:
    """The 50 tag names of model ``name`` (``MSD_*`` or ``MTT_*``)."""
    if name.startswith("MSD"):
        return MSD_TAGS
    if name.startswith("MTT"):
        return MTT_TAGS
    raise ModelError(f"unknown musicnn model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def models_dir() -> Path:
    """Folder of the shipped weights (``resources/models``, see :mod:`musicapp.paths`)."""
    from musicapp.paths import resource_path

    return resource_path("models")


def _same_pad(kernel: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding (stride 1) for a kernel of ``kernel`` taps: (before, after)."""
    return (kernel - 1) // 2, kernel // 2


class _ConvBNPool(nn.Module):
    """Conv2d -> ReLU -> BatchNorm -> max over the whole frequency axis."""

    def __init__(self, out_ch: int, kernel: tuple[int, int], time_pad: tuple[int, int]) -> None:
        super().__init__()
        self.time_pad = time_pad
        self.conv = nn.Conv2d(1, out_ch, kernel)
        self.bn = nn.BatchNorm2d(out_ch, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, T, F) normalised input -> (B, C, T)."""
        x = F.pad(x, (0, 0, self.time_pad[0], self.time_pad[1]))
        if self.training:
            return self.bn(F.relu(self.conv(x))).amax(dim=3)
        # Inference: pool first. ReLU and the bias are monotone and batch norm is a per-channel
        # affine map a*x + b, so max_f BN(ReLU(c_f + bias)) = a*ReLU(max_f c_f + bias) + b for
        # a >= 0 and a*ReLU(min_f c_f + bias) + b for a < 0; and min_f c_f = -max_f(-c_f), so
        # the filters of channels with a < 0 are negated and one max over frequency serves all.
        # Same result, without the passes of ReLU, BN and a min over the large (B, C, T, F) map.
        scale = self.bn.weight * torch.rsqrt(self.bn.running_var + self.bn.eps)
        shift = self.bn.bias - self.bn.running_mean * scale
        sign = torch.where(scale >= 0, 1.0, -1.0).to(scale.dtype)
        pooled = F.conv2d(x, self.conv.weight * sign[:, None, None, None]).amax(dim=3)
        pooled = pooled * sign[:, None] + self.conv.bias[:, None]
        return F.relu(pooled) * scale[:, None] + shift[:, None]


class _MidConv(nn.Module):
    """Conv1d (kernel 7, padding 3) -> ReLU -> BatchNorm1d."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, 7, padding=3)
        self.bn = nn.BatchNorm1d(out_ch, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C_in, T) -> (B, C_out, T)."""
        return self.bn(F.relu(self.conv(x)))


class Musicnn(nn.Module):
    """The musicnn tagger (MSD_musicnn / MTT_musicnn architecture).

    ``forward(x)`` with ``x`` of shape (B, T, 96) (T = 187 for the trained patch length; other
    lengths work as in the original) returns a dict of tensors:

    * ``timbral`` (B, 408, T), ``temporal`` (B, 153, T): the front-end branch maps;
    * ``frontend`` (B, 561, T): both concatenated;
    * ``mid1``, ``mid2``, ``mid3`` (B, 64, T): the mid-end layers (musicnn's cnn1..cnn3);
    * ``max_pool``, ``mean_pool`` (B, 753); ``pooled`` (B, 1506) interleaved;
    * ``penultimate`` (B, 200); ``logits`` (B, 50); ``prob`` (B, 50) = sigmoid(logits).
    """

    def __init__(self, num_classes: int = 50, midend_filters: int = 64, backend_units: int = 200):
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        timbral_filters = int(1.6 * 128)  # 204
        temporal_filters = int(1.6 * 32)  # 51
        self.timbral = nn.ModuleList(
            _ConvBNPool(timbral_filters, (7, int(frac * N_MELS)), (3, 3)) for frac in (0.4, 0.7)
        )
        self.temporal = nn.ModuleList(
            _ConvBNPool(temporal_filters, (k, 1), _same_pad(k)) for k in (128, 64, 32)
        )
        frontend_ch = 2 * timbral_filters + 3 * temporal_filters  # 561
        self.mid = nn.ModuleList(
            [
                _MidConv(frontend_ch, midend_filters),
                _MidConv(midend_filters, midend_filters),
                _MidConv(midend_filters, midend_filters),
            ]
        )
        pooled_ch = frontend_ch + 3 * midend_filters  # 753
        self.pool_bn = nn.BatchNorm1d(2 * pooled_ch, eps=BN_EPS)
        self.dense = nn.Linear(2 * pooled_ch, backend_units)
        self.dense_bn = nn.BatchNorm1d(backend_units, eps=BN_EPS)
        self.out = nn.Linear(backend_units, num_classes)
        self.frontend_channels = frontend_ch
        self.midend_filters = midend_filters

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the tagger on log-Mel patches ``x`` (B, T, 96); see the class docstring."""
        if x.dim() != 3 or x.shape[-1] != N_MELS:
            raise ModelError(
                f"musicnn expects input (batch, frames, {N_MELS}), got {tuple(x.shape)}"
            )
        z = self.input_bn(x.unsqueeze(1))  # (B, 1, T, 96)
        timbral = torch.cat([block(z) for block in self.timbral], dim=1)
        temporal = torch.cat([block(z) for block in self.temporal], dim=1)
        frontend = torch.cat([timbral, temporal], dim=1)
        mid1 = self.mid[0](frontend)
        mid2 = self.mid[1](mid1) + mid1
        mid3 = self.mid[2](mid2) + mid2
        features = torch.cat([frontend, mid1, mid2, mid3], dim=1)  # (B, 753, T)
        max_pool = features.amax(dim=2)
        mean_pool = features.mean(dim=2)
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # TF flatten order
        hidden = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        logits = self.out(hidden)
        return {
            "timbral": timbral,
            "temporal": temporal,
            "frontend": frontend,
            "mid1": mid1,
            "mid2": mid2,
            "mid3": mid3,
            "max_pool": max_pool,
            "mean_pool": mean_pool,
            "pooled": pooled,
            "penultimate": hidden,
            "logits": logits,
            "prob": torch.sigmoid(logits),
        }


class MusicnnVGG(nn.Module):
    """The VGG-like baseline tagger of musicnn (MSD_vgg / MTT_vgg), 187-frame patches only.

    ``forward(x)`` returns ``pool1`` .. ``pool5`` (B, 128, T', F'), ``logits`` and ``prob`` (B, 50).
    """

    # (pool size, stride) after each conv, as (time, frequency)
    POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
             ((4, 4), (4, 4)))  # fmt: skip

    def __init__(self, num_classes: int = 50, filters: int = 128) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        self.convs = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5)
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(filters, eps=BN_EPS) for _ in range(5))
        self.out = nn.Linear(2 * 1 * filters, num_classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the VGG tagger on log-Mel patches ``x`` (B, 187, 96)."""
        if x.dim() != 3 or tuple(x.shape[1:]) != (PATCH_FRAMES, N_MELS):
            raise ModelError(
                f"musicnn VGG expects input (batch, {PATCH_FRAMES}, {N_MELS}), got {tuple(x.shape)}"
            )
        z = self.input_bn(x.unsqueeze(1))
        result: dict[str, torch.Tensor] = {}
        layers = zip(self.convs, self.bns, self.POOLS, strict=True)
        for i, (conv, bn, (size, stride)) in enumerate(layers):
            z = F.max_pool2d(bn(F.relu(conv(z))), size, stride)
            result[f"pool{i + 1}"] = z
        flat = z.permute(0, 2, 3, 1).flatten(1)  # TF's NHWC flatten order: time, freq, channel
        logits = self.out(flat)
        result["logits"] = logits
        result["prob"] = torch.sigmoid(logits)
        return result


def build_model(name: str) -> nn.Module:
    """An untrained module of the right architecture for checkpoint ``name``."""
    if name not in MODEL_NAMES:
        raise ModelError(f"unknown musicnn model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return MusicnnVGG() if name.endswith("vgg") else Musicnn()


def weights_path(name: str) -> Path:
    """Path of the shipped safetensors file of model ``name``."""
    if name not in WEIGHT_FILES:
        raise ModelError(f"unknown musicnn model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return models_dir() / WEIGHT_FILES[name]


def load_state_into(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``module`` strictly (batch-norm counters excepted)."""
    expected = {k for k in module.state_dict() if not k.endswith("num_batches_tracked")}
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise ModelError(
            f"{source}: weights do not fit the model (missing {missing[:5]}, "
            f"unexpected {unexpected[:5]})"
        )
    own = module.state_dict()
    for key, value in state.items():
        if tuple(own[key].shape) != tuple(value.shape):
            raise ModelError(
                f"{source}: tensor {key} has shape {tuple(value.shape)}, "
                f"the model needs {tuple(own[key].shape)}"
            )
    module.load_state_dict(state, strict=False)


def load_musicnn(name: str = "MSD_musicnn", device: str | torch.device = "cpu") -> nn.Module:
    """Load a ported musicnn model (eval mode) from ``resources/models`` (checksum-verified).

    ``name`` is one of ``MSD_musicnn``, ``MTT_musicnn`` (returning :class:`Musicnn`) or
    ``MSD_vgg``, ``MTT_vgg`` (returning :class:`MusicnnVGG`).
    """
    from musicapp.models.weights import load_state

    path = weights_path(name)
    model = build_model(name)
    load_state_into(model, load_state(path), str(path))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device)
