"""Which optional parts of musicapp are installed right now.

The window is built against the core APIs of every part, and each panel lights up when its part
is importable. Checks use :func:`importlib.util.find_spec` so that nothing heavy (torch) is
imported just to find out.
"""

from __future__ import annotations

import importlib
import importlib.util

#: part name -> module that must exist for the part to be usable
PART_MODULES: dict[str, str] = {
    "audio": "musicapp.audio",
    "features": "musicapp.features",
    "recorder": "musicapp.audio.recorder",
    "player": "musicapp.audio.player",
    "tagger": "musicapp.models.engine",
    "musicnn": "musicapp.models.musicnn",
    "analysis": "musicapp.analysis",
    "pipeline": "musicapp.pipeline",
    "compose": "musicapp.compose",
    "synth": "musicapp.synth",
    "library": "musicapp.library",
}


def module_exists(name: str) -> bool:
    """True when ``name`` can be imported (without importing it, parents aside)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def has(part: str) -> bool:
    """True when the named part (a key of :data:`PART_MODULES`) is installed."""
    return module_exists(PART_MODULES[part])


def available() -> dict[str, bool]:
    """Availability of every known part."""
    return {part: has(part) for part in PART_MODULES}


def try_import(name: str):
    """Import and return module ``name``, or None when it (or one of its imports) is missing."""
    if not module_exists(name):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
