"""The GUI's exception hook: log every unexpected error and tell the user where the log is.

:func:`install` replaces ``sys.excepthook`` (errors raised in slots and event handlers),
``threading.excepthook`` (Python threads) and Qt's message handler (Qt's own warnings and
criticals). An unexpected error is written to the log with its traceback and shown in a
non-modal dialog that names the log file; the application keeps running. Qt warnings only go
to the log.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("musicapp.gui")
_dialog: QMessageBox | None = None
_installed = False


def log_file_text() -> str:
    """Where the log is, for the dialog."""
    from musicapp.logs import log_path

    return str(log_path())


def show_error_dialog(summary: str, details: str = "") -> QMessageBox | None:
    """Show (or update) the one non-modal error dialog; None without a QApplication."""
    global _dialog
    app = QApplication.instance()
    if app is None:
        return None
    parent = app.activeWindow()
    if _dialog is None or not _dialog.isVisible():
        _dialog = QMessageBox(QMessageBox.Icon.Critical, "musicapp: unexpected error", "",
                              QMessageBox.StandardButton.Ok, parent)
        _dialog.setModal(False)
    _dialog.setText(f"{summary}\n\nmusicapp keeps running; what you were doing may not have "
                    f"finished.\nThe details are in the log:\n{log_file_text()}")
    _dialog.setDetailedText(details)
    _dialog.show()
    _dialog.raise_()
    return _dialog


def current_dialog() -> QMessageBox | None:
    """The error dialog shown last (for tests), or None."""
    return _dialog


def handle_exception(exc_type: type[BaseException], exc: BaseException,
                     tb: TracebackType | None) -> None:
    """``sys.excepthook``: log the traceback and show the dialog (Ctrl+C still quits)."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.error("unexpected error in the GUI", exc_info=(exc_type, exc, tb))
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    summary = f"{exc_type.__name__}: {exc}"
    if threading.current_thread() is threading.main_thread():
        show_error_dialog(summary, details)
    else:  # widgets belong to the GUI thread
        app = QApplication.instance()
        if app is not None:
            QTimer.singleShot(0, app, lambda: show_error_dialog(summary, details))


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    log.error("unexpected error in thread %s", getattr(args.thread, "name", "?"),
              exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def _qt_messages(mode: QtMsgType, context, message: str) -> None:
    where = f" ({context.file}:{context.line})" if getattr(context, "file", None) else ""
    if mode in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        log.error("Qt: %s%s", message, where)
    elif mode == QtMsgType.QtWarningMsg:
        log.warning("Qt: %s%s", message, where)
    else:
        log.debug("Qt: %s", message)


def install() -> None:
    """Install the hooks (once per process)."""
    global _installed
    if _installed:
        return
    sys.excepthook = handle_exception
    threading.excepthook = _thread_hook
    qInstallMessageHandler(_qt_messages)
    _installed = True
