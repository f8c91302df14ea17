"""About box: version, libraries, and the licence of every model (read from the model cards)."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

import musicapp


def resources_dir() -> Path:
    """The shipped ``resources/`` folder (see :mod:`musicapp.paths`)."""
    from musicapp.paths import resources_root

    return resources_root()


def model_cards(root: Path | None = None) -> list[Path]:
    """Every model card (markdown) under ``resources/models``."""
    root = root or resources_dir() / "models"
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.md") if p.is_file())


def licence_summary(card: Path, max_chars: int = 600) -> tuple[str, list[str]]:
    """(title, paragraphs) of one model card: its "Licence" section when it has one, else the
    lines that mention a licence."""
    text = card.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    title = next((ln.lstrip("#").strip() for ln in lines if ln.startswith("#")), card.stem)
    section: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("#") and re.search(r"\blicen[cs]es?\b", line, re.I):
            for body in lines[i + 1:]:
                if body.startswith("#"):
                    break
                if not body.startswith("```"):
                    section.append(body)
            break
    paragraphs = [p.strip().replace("\n", " ") for p in "\n".join(section).split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:  # whole sentences that mention a licence, never a cut line
        body = "\n".join(ln for ln in lines if not ln.startswith(("#", "```", "|")))
        sentences = []
        for para in re.split(r"\n\s*\n", body):
            flat = " ".join(x.strip().lstrip("-*").strip() for x in para.splitlines())
            sentences += [x.strip() for x in re.split(r"(?<=[.!?])\s+(?=[A-Z(])", flat)]
        paragraphs = [x for x in sentences
                      if re.search(r"\blicen[cs]e\b|copyright", x, re.I)][:4]
    out, used = [], 0
    for p in paragraphs:
        if used + len(p) > max_chars:
            if not out:
                out.append(p[:max_chars].rsplit(" ", 1)[0] + " …")
            break
        out.append(p)
        used += len(p)
    return title, out


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
        out.extend(f"{ln}\n" for ln in lines or ["(no licence statement found in the card)"])
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
