"""The models' log-Mel front end in torch: the same spectrogram as :func:`musicapp.features.log_mel`,
computed on any torch device (the GPU when there is one).

Same parameters (:data:`musicapp.params.MEL`): periodic Hann window, ``n_fft`` 512, hop 256,
centred frames with zero padding, power 2, the Slaney Mel filter bank of
:func:`musicapp.features.mel.mel_basis` (librosa's ``filters.mel``, computed once per process, no
download), then ``log10(10000 * S + 1)`` in float32. Output is time-major ``(frames, n_mels)``, or
``(batch, frames, n_mels)`` for a batch of equally long signals. Tested equal to the numpy front
end within 1e-4 on the CPU through this same code path.

torch is imported when a :class:`TorchLogMel` is created, never at module import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from musicapp.features.mel import mel_basis
from musicapp.params import MEL, MelParams

#: Frames per STFT call: bounds the device memory of a long track (4096 frames = 65 s).
CHUNK_FRAMES = 4096


class TorchLogMel:
    """Log-Mel spectrogram of mono 16 kHz signals on a torch device.

    Args:
        device: a ``torch.device`` or its name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
        params: spectrogram parameters (default :data:`musicapp.params.MEL`).
    """

    def __init__(self, device: Any = "cpu", params: MelParams = MEL) -> None:
        import torch

        if params.power != 2.0 or not params.center or params.pad_mode != "constant":
            raise ValueError("TorchLogMel supports power 2 with centred, zero-padded frames only")
        self.params = params
        self.device = torch.device(device)
        self.window = torch.hann_window(params.n_fft, periodic=True, dtype=torch.float32,
                                        device=self.device)
        basis = np.ascontiguousarray(mel_basis(params).T)  # (n_bins, n_mels)
        self.basis_t = torch.from_numpy(basis).to(self.device)
        self.gain = float(params.log_gain)

    def _chunk(self, y: Any) -> Any:
        """``(B, n)`` samples already padded for frames ``[f0, f1)`` -> ``(B, f1 - f0, n_mels)``."""
        import torch

        p = self.params
        spec = torch.stft(y, n_fft=p.n_fft, hop_length=p.hop_length, window=self.window,
                          center=False, return_complex=True)  # (B, n_bins, frames)
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(power.transpose(1, 2), self.basis_t)  # (B, frames, n_mels)
        return torch.log10(mel * self.gain + 1.0)

    def __call__(self, samples: Any) -> Any:
        """Samples ``(n,)`` or ``(B, n)`` (numpy or torch, any device) -> a float32 tensor on
        :attr:`device` of shape ``(frames, n_mels)`` or ``(B, frames, n_mels)``, where
        ``frames = 1 + n // hop``."""
        import torch

        p = self.params
        y = torch.as_tensor(np.asarray(samples, dtype=np.float32) if isinstance(samples, np.ndarray)
                            else samples, dtype=torch.float32).to(self.device)
        single = y.dim() == 1
        if single:
            y = y.unsqueeze(0)
        if y.dim() != 2:
            raise ValueError(f"expected samples of shape (n,) or (batch, n), got {tuple(y.shape)}")
        n = y.shape[1]
        total = 1 + n // p.hop_length
        pad = p.n_fft // 2
        # Centred frames: frame f covers padded samples [f*hop, f*hop + n_fft).
        padded = torch.nn.functional.pad(y, (pad, pad + p.n_fft))  # extra zeros for short input
        out = torch.empty((y.shape[0], total, p.n_mels), dtype=torch.float32, device=self.device)
        for f0 in range(0, total, CHUNK_FRAMES):
            f1 = min(total, f0 + CHUNK_FRAMES)
            seg = padded[:, f0 * p.hop_length : (f1 - 1) * p.hop_length + p.n_fft]
            out[:, f0:f1] = self._chunk(seg)
        return out[0] if single else out
