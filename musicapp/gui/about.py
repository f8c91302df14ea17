"""About box: version, libraries, and the licence of every model (read from the model cards)."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

import musicapp


def resources_dir() -> Path:
    """The repository's ``resources/`` folder (next to the package)."""
    return Path(musicapp.__file__).resolve().parent.parent / "resources"


def model_cards(root: Path | None = None) -> list[Path]:
    """Every model card (markdown) under ``resources/models``."""
    root = root or resources_dir() / "models"
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.md") if p.is_file())


def licence_summary(card: Path) -> tuple[str, list[str]]:
    """(title, lines that mention the licence) of one model card."""
    text = card.read_text(encoding="utf-8", errors="replace")
    title = card.stem
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            break
    lines = []
    for line in text.splitlines():
        if re.search(r"licen[cs]e|copyright|\(c\)|CC BY|MIT|ISC|Apache|BSD", line, re.I):
            clean = line.strip().lstrip("-*# ").strip()
            if clean and clean not in lines:
                lines.append(clean)
    return title, lines[:6]


def about_markdown() -> str:
    """The text of the About box (markdown)."""
    import numpy
    import pyqtgraph
    import PySide6

    out = [f"# musicapp {musicapp.__version__}",
           "Analyse tracks, get chord ideas that fit a mood, and drag the MIDI into your DAW.",
           "",
           f"Qt for Python (PySide6) {PySide6.__version__}, pyqtgraph {pyqtgraph.__version__}, "
           f"numpy {numpy.__version__}.",
           "",
           "## Models and their licences"]
    cards = model_cards()
    if not cards:
        out.append("No model cards found (resources/models is not installed).")
    for card in cards:
        title, lines = licence_summary(card)
        out.append(f"### {title}")
        out.append(f"Model card: `{card.name}`")
        out.append("")
        out.extend(f"- {ln}" for ln in lines or ["(no licence line found in the card)"])
        out.append("")
    return "\n".join(out)


class AboutDialog(QDialog):
    """Shows :func:`about_markdown`."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About musicapp")
        self.resize(640, 520)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setMarkdown(about_markdown())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
