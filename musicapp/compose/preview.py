"""Audible preview of an arrangement: render with musicapp.synth and play."""

from __future__ import annotations

import numpy as np

from musicapp.compose.arrange import Arrangement
from musicapp.compose.midi_export import build_midi


def render_arrangement(arr: Arrangement, sample_rate: int = 44100, soundfont: str | None = None
                       ) -> np.ndarray:
    """Render to float32 stereo ``(2, n)`` with the GM soundfont (or the fallback synth)."""
    from musicapp.synth import render_midi

    return render_midi(build_midi(arr), sample_rate=sample_rate, soundfont=soundfont)


def play_arrangement(arr: Arrangement, sample_rate: int = 44100) -> None:
    """Render and play through the default output device (blocks until done)."""
    from musicapp.synth import play

    play(render_arrangement(arr, sample_rate), sample_rate)
