"""musicapp: analyse tracks, get chord ideas that fit a mood, export MIDI to a DAW.

The package is split into a Qt-free core (``audio``, ``features``, ``models``, ``analysis``,
``compose``, ``library``) and a thin GUI (``gui``). Heavy imports (torch) happen inside the
functions that need them, never at package import time.
"""

__version__ = "0.1.0"
