"""A learned beat/downbeat activation (BeatTCN) as an alternative cue for the beat tracker.

The network (``resources/models/beatnet.safetensors``, card ``BEATNET_MODEL_CARD.md``) reads the
64-band log-Mel spectrum and its positive flux at the analysis frame rate (:data:`FPS`) and gives
two per-frame probabilities: a beat and a downbeat starts here. It is a small dilated temporal
convolution network (TCN): an input convolution, residual blocks of dilated 3-tap convolutions
(dilations 1..64, ~6 s of context) and a 1x1 output layer. Inference is plain numpy (no torch).

The activation replaces the onset envelope as the input of the *same* tempo estimate and Ellis
DP beat tracker (:mod:`musicapp.analysis.tempo`), and adds the downbeat activation to the meter
cues (:mod:`musicapp.analysis.meter`), so the two cues are compared tracker for tracker.
``cue="onset"`` is the hand-made envelope, ``cue="learned"`` the network; when the weights are
missing or fail their checksum, the learned cue falls back to the onset cue with a warning.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicapp.analysis import features as F
from musicapp.analysis import tempo as tempo_mod
from musicapp.errors import ModelError, MusicappError
from musicapp.paths import resource_path

log = logging.getLogger(__name__)

CUES = ("onset", "learned")
#: The cue used when none is asked for. The learned cue was better on the realistic dev split
#: (Acc1, beat F) but clearly worse on the old dev split (it counts music >= 120 BPM at half
#: tempo): see resources/models/BEATNET_MODEL_CARD.md.
DEFAULT_CUE = "onset"
N_MELS = 64
N_INPUT = 2 * N_MELS
#: log-Mel range below the loudest bin (as the onset envelope's)
DB_RANGE = 80.0


def weights_path() -> Path:
    """The shipped weights file."""
    return resource_path("models", "beatnet.safetensors")


def input_features(y: np.ndarray) -> np.ndarray:
    """Network input (128, n): 64 log-Mel bands scaled to [0, 1] (0 = 80 dB below the track's
    loudest bin) and their positive frame-to-frame difference (in units of 10 dB), at the
    analysis frames (frame i centred on sample ``i * HOP``, the onset envelope's frames)."""
    y = np.asarray(y, dtype=np.float32)
    if y.size < 4096:
        y = np.pad(y, (0, 4096 - y.size))
    mel, _ = F._mel_and_rms(y, 2048, F.HOP)
    ref = max(float(mel.max()), 1e-10)
    logmel = 10.0 * np.log10(np.maximum(mel, ref * 1e-8) / ref)
    flux = np.maximum(0.0, np.diff(logmel, axis=1, prepend=logmel[:, :1])) / 10.0
    return np.concatenate([logmel / DB_RANGE + 1.0, flux]).astype(np.float32)


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int = 1) -> np.ndarray:
    """'Same' 1-D convolution (cross-correlation, zero padding) of x (Cin, n) with w (Cout,
    Cin, k), k odd, as torch.nn.Conv1d(padding=dilation * (k - 1) // 2, dilation=dilation)."""
    k = w.shape[2]
    n = x.shape[1]
    if k == 1:
        return w[:, :, 0] @ x + b[:, None]
    pad = dilation * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, pad)))
    out = w[:, :, 0] @ xp[:, :n]
    for j in range(1, k):
        out += w[:, :, j] @ xp[:, j * dilation:j * dilation + n]
    return out + b[:, None]


class BeatNet:
    """Numpy inference for the trained BeatTCN (weights verified by checksum on load)."""

    def __init__(self, tensors: dict[str, np.ndarray], dilations: list[int]):
        self.t = {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}
        self.dilations = list(dilations)
        need = {"inp.weight", "inp.bias", "out.weight", "out.bias"}
        for i in range(len(self.dilations)):
            need |= {f"blocks.{i}.dil.weight", f"blocks.{i}.dil.bias",
                     f"blocks.{i}.mix.weight", f"blocks.{i}.mix.bias"}
        missing = sorted(need - set(self.t))
        if missing:
            raise ModelError(f"beat model weights lack {', '.join(missing[:3])}")
        if self.t["inp.weight"].shape[1] != N_INPUT or self.t["out.weight"].shape[0] != 2:
            raise ModelError("beat model weights have the wrong input or output size")

    @classmethod
    def load(cls, path: str | Path | None = None) -> BeatNet:
        """Load and verify weights (sha256 sidecar, safetensors header); ModelError otherwise."""
        import json

        from safetensors import SafetensorError
        from safetensors.numpy import load

        from musicapp.models import weights as W

        p = Path(path) if path is not None else weights_path()
        data = W._read(p)
        W._check(p, data, None)
        header, _ = W.parse_header(p, data)
        try:
            tensors = load(data)
            config = json.loads((header.get("__metadata__") or {}).get("config", "{}"))
            dilations = [int(d) for d in config["dilations"]]
        except (SafetensorError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{p}: unreadable beat model ({exc})") from exc
        return cls(tensors, dilations)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (2, n) of beat and downbeat for input features x (128, n)."""
        t = self.t
        h = np.maximum(0.0, _conv(x, t["inp.weight"], t["inp.bias"]))
        for i, d in enumerate(self.dilations):
            z = np.maximum(0.0, _conv(h, t[f"blocks.{i}.dil.weight"], t[f"blocks.{i}.dil.bias"], d))
            h = h + _conv(z, t[f"blocks.{i}.mix.weight"], t[f"blocks.{i}.mix.bias"])
        return _conv(np.maximum(0.0, h), t["out.weight"], t["out.bias"])

    def activations(self, y: np.ndarray) -> BeatActivations:
        """Beat and downbeat probabilities per analysis frame of mono audio at the analysis
        rate."""
        z = self.logits(input_features(y))
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        return BeatActivations(beat=p[0].astype(np.float32), downbeat=p[1].astype(np.float32))


@dataclass
class BeatActivations:
    """Per-frame probabilities (frame rate :data:`musicapp.analysis.features.FPS`)."""

    beat: np.ndarray
    downbeat: np.ndarray


@functools.lru_cache(maxsize=1)
def default_model() -> BeatNet:
    """The shipped model, loaded once per process (ModelError when missing or tampered)."""
    return BeatNet.load()


def resolve_cue(cue: str | None) -> str:
    """``cue`` checked against :data:`CUES` (None: :data:`DEFAULT_CUE`)."""
    c = DEFAULT_CUE if cue is None else cue
    if c not in CUES:
        raise MusicappError(f"{cue!r}: beat cue must be one of {', '.join(CUES)}")
    return c


def learned_activations(y: np.ndarray, cue: str | None = None,
                        path: str | Path | None = None) -> BeatActivations | None:
    """The network's activations when the (resolved) cue is "learned", else None. ``path``:
    other weights than the shipped ones. A model that cannot be loaded (missing or tampered
    weights) gives None with a warning: the caller then uses the onset cue."""
    if resolve_cue(cue) != "learned":
        return None
    try:
        net = default_model() if path is None else BeatNet.load(path)
    except ModelError as exc:
        log.warning("learned beat cue unavailable, using the onset envelope instead: %s", exc)
        return None
    return net.activations(y)


def track(fr: F.Frames, act: BeatActivations | None) -> tuple[tempo_mod.TempoEstimate, np.ndarray]:
    """Tempo estimate and beat frames from the onset envelope (``act`` None) or from the learned
    beat activation, through the same tempo estimate and DP tracker."""
    if act is None:
        est = tempo_mod.estimate_tempo(fr.onset, fr.low_onset)
        beat_frames = np.zeros(0, dtype=int)
        if est.confidence > 0:
            curve = tempo_mod.local_tempo_track(fr.onset, est.bpm, low_onset=fr.low_onset)
            beat_frames = tempo_mod.fix_offbeat(
                tempo_mod.track_beats(fr.onset, est.bpm if curve is None else curve),
                fr.low_onset)
        return est, beat_frames
    cue = act.beat[:fr.n_frames].astype(np.float64)
    est = tempo_mod.estimate_tempo(cue)
    beat_frames = np.zeros(0, dtype=int)
    if est.confidence > 0:
        curve = tempo_mod.local_tempo_track(cue, est.bpm)
        beat_frames = tempo_mod.track_beats(cue, est.bpm if curve is None else curve)
    return est, beat_frames
