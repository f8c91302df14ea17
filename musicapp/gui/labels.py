"""Labels that never cut characters silently and never widen their panel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel


class _NarrowLabel(QLabel):
    """A label whose size hints never ask for more than 300 px (at least 60), so a long text
    cannot widen its panel: the subclasses elide or wrap it instead."""

    def minimumSizeHint(self):  # noqa: N802
        hint = super().minimumSizeHint()
        hint.setWidth(60)
        return hint

    def sizeHint(self):  # noqa: N802
        hint = super().sizeHint()
        hint.setWidth(min(hint.width(), 300))
        return hint


class ElideLabel(_NarrowLabel):
    """A one-line status label that never widens its panel: the text is elided ("…") to the
    width it gets, and the whole text is its tooltip whenever it is cut."""

    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.setMinimumWidth(60)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        """Show ``text`` (elided to the label's width when needed)."""
        self.full_text = str(text)
        self._elide()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._elide()

    def _elide(self) -> None:
        fm = QFontMetrics(self.font())
        width = max(self.contentsRect().width(), 20)
        shown = fm.elidedText(self.full_text, Qt.TextElideMode.ElideRight, width)
        self.setText(shown)
        self.setToolTip(self.full_text if shown != self.full_text else "")


class WrapLabel(_NarrowLabel):
    """A status label that shows its whole text, wrapped onto more lines where the width is
    short (a small window), and never widens its panel; ``tip`` (a longer form) is its tooltip.
    Paths break after each "/" so one long file name cannot push the panel wider."""

    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.setWordWrap(True)
        self.setMinimumWidth(60)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_full_text(text)

    def set_full_text(self, text: str, tip: str = "") -> None:
        """Show ``text`` whole (wrapped as needed); ``tip``: the tooltip (e.g. the long form)."""
        self.full_text = str(text)
        self.setText(self.full_text.replace("/", "/\u200b"))
        self.setToolTip(tip if tip and tip != self.full_text else "")

