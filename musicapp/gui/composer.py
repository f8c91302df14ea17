"""Composer panel (placeholder until musicapp.compose lands)."""

from __future__ import annotations

from PySide6.QtCore import Signal

from musicapp.gui.unavailable import Unavailable


class ComposerPanel(Unavailable):
    """Chord composer."""

    message = Signal(str)

    def __init__(self, runner, context=None, settings=None, parent=None) -> None:
        super().__init__("The chord composer", "musicapp.compose", parent)
