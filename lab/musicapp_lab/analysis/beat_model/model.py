"""The BeatTCN in torch (training); the product runs the same network in numpy
(:class:`musicapp.analysis.beat_model.BeatNet`)."""

from __future__ import annotations

import torch
from torch import nn

from musicapp.analysis.beat_model import N_INPUT

DILATIONS = (1, 2, 4, 8, 16, 32, 64)
CHANNELS = 32


class Block(nn.Module):
    """Residual block: x + mix(relu(dilated 3-tap conv(x)))."""

    def __init__(self, channels: int, dilation: int, dropout: float = 0.1):
        super().__init__()
        self.dil = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, n) -> (B, C, n)."""
        return x + self.mix(self.drop(torch.relu(self.dil(x))))


class BeatTCN(nn.Module):
    """Input conv (128 -> C, 3 taps), residual dilated blocks, 1x1 output (beat, downbeat)."""

    def __init__(self, channels: int = CHANNELS, dilations: tuple[int, ...] = DILATIONS,
                 dropout: float = 0.1):
        super().__init__()
        self.dilations = list(dilations)
        self.inp = nn.Conv1d(N_INPUT, channels, 3, padding=1)
        self.blocks = nn.ModuleList(Block(channels, d, dropout) for d in dilations)
        self.out = nn.Conv1d(channels, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 2, n) for input (B, 128, n)."""
        h = torch.relu(self.inp(x))
        for b in self.blocks:
            h = b(h)
        return self.out(torch.relu(h))
