"""Locate a General MIDI soundfont on this machine."""

from __future__ import annotations

import os
from pathlib import Path

from musicapp.errors import MusicappError

#: Environment variable naming a soundfont file (.sf2/.sf3) that overrides the search.
SOUNDFONT_ENV = "MUSICAPP_SOUNDFONT"

#: Searched in order. FluidR3_GM (Debian fluid-soundfont-gm, MIT) first, then MuseScore General
#: (Debian musescore-general-soundfont[-small], MIT), then whatever the system default points to.
CANDIDATES: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/sounds/sf2/MuseScore_General.sf2",
    "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)


def _user_dir() -> Path:
    """Per-user soundfont folder (``~/.local/share/musicapp/soundfonts`` on Linux)."""
    from musicapp.paths import user_data_dir

    return user_data_dir() / "soundfonts"


def find_soundfont(override: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the path of a usable soundfont, or ``None`` when none is installed.

    Order: ``override`` (a setting or CLI option), the ``MUSICAPP_SOUNDFONT`` environment
    variable, the per-user folder, then the system locations in :data:`CANDIDATES`.
    An explicit override or environment value that does not exist raises
    :class:`~musicapp.errors.MusicappError` rather than silently falling back.
    """
    for explicit, origin in ((override, "--soundfont or the soundfont setting"),
                             (os.environ.get(SOUNDFONT_ENV), SOUNDFONT_ENV)):
        if explicit:
            path = Path(explicit).expanduser()
            if not path.exists():
                raise MusicappError(f"{path}: soundfont from {origin} does not exist")
            if not path.is_file():  # a folder, /dev/zero, a FIFO: never handed to the renderer
                kind = "a folder" if path.is_dir() else "not a regular file"
                raise MusicappError(f"{path}: soundfont from {origin} is {kind}, not a .sf2/.sf3 "
                                    "file")
            return path
    user = _user_dir()
    if user.is_dir():
        for found in sorted(user.glob("*.sf[23]")):
            return found
    for candidate in CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path.resolve()
    return None
