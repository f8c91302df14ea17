"""The GUI exception hook: logged with the traceback, a dialog naming the log, app running."""

from __future__ import annotations

import logging
import sys


def test_unexpected_error_is_logged_and_shown(qtbot, window, caplog):
    from musicapp.gui import crash
    from musicapp.logs import log_path

    try:
        raise ZeroDivisionError("division by zero in a slot")
    except ZeroDivisionError:
        info = sys.exc_info()
    with caplog.at_level(logging.ERROR, logger="musicapp"):
        crash.handle_exception(*info)
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.exc_info[0] is ZeroDivisionError
    dialog = crash.current_dialog()
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert str(log_path()) in dialog.text()
    assert "ZeroDivisionError" in dialog.text() and "keeps running" in dialog.text()
    assert "Traceback" in dialog.detailedText()
    dialog.close()
    assert window.isVisible()  # the app carries on


def test_qt_warnings_go_to_the_log(qapp, caplog):
    from PySide6.QtCore import qWarning

    from musicapp.gui import crash

    crash.install()
    with caplog.at_level(logging.WARNING, logger="musicapp"):
        qWarning("a Qt warning for the log")
    assert any("a Qt warning for the log" in r.getMessage() for r in caplog.records)
