"""Offline MIDI rendering and preview playback.

* :func:`find_soundfont` locates a General MIDI soundfont (setting/env override, Debian packages).
* :func:`render_midi` renders a :class:`mido.MidiFile` (or a path) to float32 audio with
  tinysoundfont, or with a small additive synth when no soundfont exists, so preview always works.
* :func:`play` plays samples through the default output device.
"""

from __future__ import annotations

from musicapp.synth.playback import play
from musicapp.synth.render import render_midi
from musicapp.synth.soundfont import SOUNDFONT_ENV, find_soundfont

__all__ = ["SOUNDFONT_ENV", "find_soundfont", "play", "render_midi"]
