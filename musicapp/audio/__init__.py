"""Audio input and output: decoding files, resampling, writing WAV, recording and playback.

``musicapp.audio.recorder`` and ``musicapp.audio.player`` import sounddevice (and so PortAudio);
import them explicitly where a device is needed.
"""

from musicapp.audio.decode import iter_blocks, load_audio, probe
from musicapp.audio.info import Audio, AudioInfo
from musicapp.audio.resample import StreamResampler, resample
from musicapp.audio.wav import write_wav

__all__ = [
    "Audio",
    "AudioInfo",
    "StreamResampler",
    "iter_blocks",
    "load_audio",
    "probe",
    "resample",
    "write_wav",
]
