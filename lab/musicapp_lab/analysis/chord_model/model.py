"""The torch form of ChordCNN (training only; the product runs the numpy forward pass in
:mod:`musicapp.analysis.chord_model`)."""

from __future__ import annotations

import torch
from torch import nn

from musicapp.analysis.labels import N_CHORDS

N_SEMITONES = 84


class ChordCNN(nn.Module):
    """(B, 84, T) model input -> (B, N_CHORDS + 1, T) logits; T = beat segments."""

    def __init__(self, channels: int = 8, hidden: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        self.config = {"channels": channels, "hidden": hidden}
        self.conv1 = nn.Conv2d(1, channels, (5, 3), padding=(2, 1))
        self.conv2 = nn.Conv2d(channels, channels, (5, 3), padding=(2, 1))
        self.conv3 = nn.Conv1d(channels * N_SEMITONES, hidden, 3, padding=1)
        self.conv4 = nn.Conv1d(hidden, hidden, 3, padding=1)
        self.out = nn.Conv1d(hidden, N_CHORDS + 1, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of model inputs."""
        b, _, t = x.shape
        h = torch.relu(self.conv1(x[:, None]))
        h = torch.relu(self.conv2(h))
        h = self.drop(h.reshape(b, -1, t))
        h = self.drop(torch.relu(self.conv3(h)))
        h = self.drop(torch.relu(self.conv4(h)))
        return self.out(h)
