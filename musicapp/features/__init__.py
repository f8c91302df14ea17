"""Features: the models' log-Mel spectrogram (offline and streaming), MFCC and chroma."""

from musicapp.features.mel import log_mel, mel_basis, mel_patches, mel_power, n_frames
from musicapp.features.pipeline import load_log_mel
from musicapp.features.spectral import chroma, mfcc
from musicapp.features.streaming import StreamingLogMel

__all__ = [
    "StreamingLogMel",
    "chroma",
    "load_log_mel",
    "log_mel",
    "mel_basis",
    "mel_patches",
    "mel_power",
    "mfcc",
    "n_frames",
]
