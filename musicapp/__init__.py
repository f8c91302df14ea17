"""musicapp: analyse tracks, get chord ideas that fit a mood, export MIDI to a DAW.

The package is split into a Qt-free core (``audio``, ``features``, ``models``, ``analysis``,
``compose``, ``library``) and a thin GUI (``gui``). Heavy imports (torch) happen inside the
functions that need them, never at package import time.
"""

__version__ = "0.1.0"

from musicapp import jitcache as _jitcache

_jitcache.configure()  # numba's cache folder, set before anything imports numba (issue 14, C10)
