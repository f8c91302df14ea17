"""A placeholder shown in a tab whose part of musicapp is not installed yet."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class Unavailable(QWidget):
    """Explains which module is missing."""

    def __init__(self, what: str, module: str, parent=None) -> None:
        super().__init__(parent)
        label = QLabel(f"{what} is not available in this build.\n"
                       f"(The module {module} is not installed.)")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setEnabled(False)
        QVBoxLayout(self).addWidget(label)
