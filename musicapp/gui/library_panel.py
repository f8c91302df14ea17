"""Library panel (placeholder until musicapp.library lands)."""

from __future__ import annotations

from PySide6.QtCore import Signal

from musicapp.gui.unavailable import Unavailable


class LibraryPanel(Unavailable):
    """Music library."""

    message = Signal(str)
    open_requested = Signal(str)

    def __init__(self, runner, settings=None, current_file=None, parent=None) -> None:
        super().__init__("The music library", "musicapp.library", parent)
