"""Dark studio theme (and a light one) for Qt widgets and pyqtgraph plots."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")

ACCENT = "#f0a030"  # amber: cursors, selected things
ACCENT2 = "#3cc8c8"  # teal: recording level, secondary curves
DANGER = "#e05050"

_DARK = {
    "window": "#1b1d21",
    "base": "#15171a",
    "alt": "#23262b",
    "panel": "#202328",
    "text": "#d8dadf",
    "dim": "#8a8f99",
    "button": "#2a2e35",
    "border": "#363b44",
    "plot_bg": "#111316",
    "plot_fg": "#a9aeb8",
    "link": "#6cb4ff",
}
_LIGHT = {
    "window": "#eceef1",
    "base": "#ffffff",
    "alt": "#f3f4f6",
    "panel": "#e4e6ea",
    "text": "#1d2025",
    "dim": "#5c6370",
    "button": "#dfe2e7",
    "border": "#b9bec8",
    "plot_bg": "#fbfbfc",
    "plot_fg": "#30343b",
    "link": "#1a5fb4",
}


def colors(theme: str = "dark") -> dict[str, str]:
    """The colour table of a theme."""
    return dict(_LIGHT if theme == "light" else _DARK)


def apply_theme(app: QApplication, theme: str = "dark") -> None:
    """Apply palette, style sheet and pyqtgraph defaults for ``theme`` ("dark" or "light")."""
    import pyqtgraph as pg

    c = colors(theme)
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(c["window"]))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Base, QColor(c["base"]))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(c["alt"]))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(c["panel"]))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Text, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Button, QColor(c["button"]))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#111111"))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(c["dim"]))
    pal.setColor(QPalette.ColorRole.Link, QColor(c["link"]))  # readable on the background
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(c["dim"]))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(c["dim"]))
    app.setPalette(pal)
    app.setStyleSheet(
        f"""
        QToolTip {{ color: {c['text']}; background: {c['panel']};
                   border: 1px solid {c['border']}; }}
        QGroupBox {{ border: 1px solid {c['border']}; border-radius: 4px; margin-top: 14px;
                    padding-top: 4px; }}
        QGroupBox::title {{ subcontrol-origin: margin; left: 8px; color: {c['dim']}; }}
        QToolBar {{ border: none; spacing: 4px; padding: 2px; background: {c['panel']}; }}
        QStatusBar {{ background: {c['panel']}; color: {c['dim']}; }}
        QTabBar::tab {{ padding: 5px 12px; background: {c['button']}; color: {c['dim']};
                       border: 1px solid {c['border']}; border-bottom: none; }}
        QTabBar::tab:selected {{ background: {c['window']}; color: {c['text']}; }}
        QDockWidget::title {{ background: {c['panel']}; padding: 4px; color: {c['dim']}; }}
        QPushButton {{ padding: 4px 10px; border: 1px solid {c['border']}; border-radius: 3px;
                      background: {c['button']}; }}
        QPushButton:hover {{ border-color: {ACCENT}; }}
        QPushButton:checked {{ background: {ACCENT}; color: #111111; }}
        QLabel#message {{ padding: 4px 8px; border-radius: 3px; }}
        QLabel#message[level="error"] {{ background: #5a1f22; color: #ffd6d6; }}
        QLabel#message[level="info"] {{ background: {c['alt']}; color: {c['text']}; }}
        """
    )
    pg.setConfigOptions(background=c["plot_bg"], foreground=c["plot_fg"], antialias=True)
