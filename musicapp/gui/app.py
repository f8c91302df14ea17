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
    """Run the desktop app; returns the exit code.

    ``MUSICAPP_GUI_SMOKE=1`` (used by the bundle's smoke test) opens the given file, analyses it,
    prints one line with the result and quits: exit 0 on success, 3 when the analysis failed or
    did not finish within ``MUSICAPP_GUI_SMOKE_TIMEOUT`` seconds (default 300).
    """
    from musicapp.gui import crash
    from musicapp.logs import setup_logging

    if files is None:  # ``musicapp-gui FILE``: this function is the entry point
        files = [a for a in sys.argv[1:] if not a.startswith("-")]
    setup_logging()
    app = create_app()
    crash.install()
    smoke = bool(os.environ.get("MUSICAPP_GUI_SMOKE"))
    window = create_window(files, **({"auto_analyze": True} if smoke else {}))
    window.show()
    interrupted = _close_on_interrupt(app, window)
    if smoke:
        _arm_smoke_test(app, window)
    if os.environ.get("MUSICAPP_GUI_REPORT_START"):
        from PySide6.QtCore import QTimer

        def report() -> None:
            print(f"window visible after {time.perf_counter() - _T0:.3f} s; "
                  f"torch imported: {'torch' in sys.modules}", flush=True)

        QTimer.singleShot(0, report)
    code = int(app.exec())
    return 128 + interrupted[0] if interrupted else code


def _close_on_interrupt(app, window) -> list[int]:
    """Ctrl+C (SIGINT) in the terminal, ``kill`` (SIGTERM) and a closed terminal (SIGHUP) close
    the window as its close button does (the window's ``closeEvent`` saves the settings and
    stops a recording, keeping the take), then quit; a second such signal ends the process at
    once. Returns a list that receives the signal number when that happened (the exit code is
    then 128 + it, like a shell's). A signal ignored when the app started (``nohup``, a
    background job's Ctrl+C) stays ignored.

    Qt's event loop runs in C++: Python's handler only runs when the interpreter gets control,
    so a timer wakes it a few times a second. Ctrl+C was ignored before.
    """
    import signal

    from PySide6.QtCore import QTimer

    received: list[int] = []

    def close() -> None:
        if window.close():  # a window that refuses to close keeps the app running
            app.quit()  # also ends a modal dialog's event loop

    def handler(signum: int, _frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)  # the second Ctrl+C is not caught
        if not received:
            received.append(signum)
            QTimer.singleShot(0, close)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None or signal.getsignal(sig) is signal.SIG_IGN:
            continue
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread: leave the defaults
            return received
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)  # lets the interpreter run the Python signal handler
    wake.start(200)
    return received


def _arm_smoke_test(app, window) -> None:
    """Quit after the first analysis (see :func:`main`)."""
    from PySide6.QtCore import QTimer

    def finished(result: dict) -> None:
        key, tempo = result.get("key") or {}, result.get("tempo_bpm")
        print(f"smoke: analysed {result.get('path')}: status {result.get('status')}, key "
              f"{key.get('tonic')} {key.get('mode')}, tempo {tempo}, moods "
              f"{len(result.get('moods') or [])}, errors {result.get('errors') or {}}", flush=True)
        app.exit(3 if result.get("errors") else 0)

    def failed(*args) -> None:
        print(f"smoke: failed: {args}", flush=True)
        app.exit(3)

    window.analysis_finished.connect(finished)
    if hasattr(window, "analysis_failed"):
        window.analysis_failed.connect(failed)
    timeout_s = float(os.environ.get("MUSICAPP_GUI_SMOKE_TIMEOUT", "300"))
    QTimer.singleShot(int(timeout_s * 1000), lambda: failed("timeout"))


if __name__ == "__main__":
    sys.exit(main())
