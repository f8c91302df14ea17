"""Track analysis for musicians: key and mode, tempo/beats/downbeats/meter, chords.

Pure signal processing (librosa CQT + NNLS chroma, template/HMM decoding); no Qt, no torch.
The public entry point is :func:`analyze_music`.
"""

from musicapp.analysis.api import MusicAnalysis, analyze_music

__all__ = ["MusicAnalysis", "analyze_music"]
