"""Entry point of the desktop application: ``musicapp`` or ``musicapp gui FILE...``.

Importing this module is cheap: it imports neither torch nor the models (they load inside
worker threads or a child process when first needed), so the window shows in well under 2 s.
"""

from __future__ import annotations

import os
import sys
import time

_T0 = time.perf_counter()


def create_app(argv: list[str] | None = None):
    """The QApplication (created once), with the saved theme applied."""
    from PySide6.QtWidgets import QApplication

    from musicapp.gui.settings import APP, ORG, Settings
    from musicapp.gui.theme import apply_theme

    app = QApplication.instance()
    if app is None:
        QApplication.setOrganizationName(ORG)
        QApplication.setApplicationName(APP)
        app = QApplication(list(argv or sys.argv[:1]))
    apply_theme(app, str(Settings().get("ui/theme", "dark")))
    return app


def create_window(files: list[str] | None = None, **kwargs):
    """Build the main window and open ``files`` (the first one; the rest go to recent files)."""
    from musicapp.gui.main_window import MainWindow

    window = MainWindow(**kwargs)
    for path in (files or [])[1:]:
        window.settings.add_recent(path)
    if files:
        window.open_file(files[0])
    return window


def main(files: list[str] | None = None) -> int:
    """Run the desktop app; returns the exit code."""
    app = create_app()
    window = create_window(files)
    window.show()
    if os.environ.get("MUSICAPP_GUI_REPORT_START"):
        from PySide6.QtCore import QTimer

        def report() -> None:
            print(f"window visible after {time.perf_counter() - _T0:.3f} s; "
                  f"torch imported: {'torch' in sys.modules}", flush=True)

        QTimer.singleShot(0, report)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
