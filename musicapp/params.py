"""The single source of truth for audio and feature parameters.

Every module that resamples audio, computes a spectrogram or cuts model patches reads its numbers
from here. The values are those the pretrained musicnn front end was trained with (16 kHz mono,
512-point FFT, hop 256, 96 Slaney Mel bands, ``log10(10000 * S + 1)``, 187-frame patches = 3 s).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MelParams:
    """Parameters of the log-Mel spectrogram that the models consume."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 96
    fmin: float = 0.0
    fmax: float | None = None  # None means sample_rate / 2
    power: float = 2.0
    mel_norm: str = "slaney"
    htk: bool = False
    center: bool = True
    pad_mode: str = "constant"
    log_gain: float = 10000.0  # log10(log_gain * S + 1), computed in float32
    patch_frames: int = 187  # 187 frames * 256 / 16000 = 2.99 s

    @property
    def frame_seconds(self) -> float:
        """Seconds between two spectrogram frames."""
        return self.hop_length / self.sample_rate

    @property
    def patch_seconds(self) -> float:
        """Duration of one model patch in seconds."""
        return self.patch_frames * self.frame_seconds


@dataclass(frozen=True)
class RecordingParams:
    """Defaults for microphone capture."""

    sample_rate: int = 48000
    channels: int = 1
    block_frames: int = 1024
    ring_seconds: float = 30.0
    flush_interval_s: float = 0.25  # the WAV on disk lags the device by at most this much


@dataclass(frozen=True)
class AnalysisParams:
    """Rate and hop of the musical analysis (key, tempo, beats, chords) and of whole-track decoding.

    Whole tracks are decoded once at this rate; the tagger resamples its copy to ``MEL.sample_rate``.
    """

    sample_rate: int = 22050
    hop_length: int = 512

    @property
    def frames_per_second(self) -> float:
        """Analysis frames per second."""
        return self.sample_rate / self.hop_length


MEL = MelParams()
ANALYSIS = AnalysisParams()
RECORDING = RecordingParams()


@dataclass(frozen=True)
class SilenceParams:
    """When a track counts as silence: no moods, key, tempo or chords are reported for it.

    A track is silent when the RMS level of its loudest ``window_s`` window stays below
    ``threshold_dbfs`` (dB relative to full scale). -60 dBFS is below the noise floor of any
    mastered recording (a quiet room recorded through a microphone sits around -60 to -50 dBFS)
    and above digital near-silence such as dither (around -90 dBFS).
    """

    threshold_dbfs: float = -60.0
    window_s: float = 3.0
    min_duration_s: float = 0.5  # shorter clips are "too short" for any analysis


SILENCE = SilenceParams()


@dataclass(frozen=True)
class DamageParams:
    """When a decoded track counts as damaged: no moods, key, tempo or chords are reported for it.

    Samples that are not audio (NaN, inf, or beyond 16 = 24 dB over full scale, e.g. 1e30) are
    replaced by silence while decoding (:mod:`musicapp.audio.decode`) and never reach the
    analysis. Up to ``max_share`` of the samples (1 %: scattered dropouts, 0.6 s in a minute)
    the analysis runs on the repaired audio and a warning gives the share. Above it the holes
    are many or long enough to bend what is measured (a float WAV with 22 % NaN samples was given
    a confident key), so the status is "damaged" and, as for silence, no part runs.
    """

    max_share: float = 0.01


DAMAGE = DamageParams()
