"""Logging: one rotating log file per user, shared by the CLI, the GUI and their workers.

``setup_logging()`` sends records of the ``musicapp`` logger (INFO and above; DEBUG with
``verbose``) to ``<user data dir>/logs/musicapp.log`` (1 MB x 3 files) and, with ``verbose``, to
stderr as well. Modules log through ``logging.getLogger(__name__)``; nothing is configured at
import time, so a library user keeps control of logging.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"
_configured: Path | None = None


class _QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The log is best effort: a full disk or a vanished folder drops the record silently
    instead of printing a "--- Logging error ---" traceback over the command's own message."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass


def log_path() -> Path:
    """The log file: ``$MUSICAPP_LOG`` or ``<user data dir>/logs/musicapp.log``."""
    override = os.environ.get("MUSICAPP_LOG")
    if override:
        return Path(override)
    from musicapp.paths import user_data_dir

    return user_data_dir() / "logs" / "musicapp.log"


def setup_logging(verbose: bool = False) -> Path | None:
    """Configure the ``musicapp`` logger once per process; return the log file (None when the
    file cannot be opened, for example on a read-only home: logging then goes to stderr only)."""
    global _configured
    logger = logging.getLogger("musicapp")
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    if verbose and not any(getattr(h, "_musicapp_stderr", False) for h in logger.handlers):
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        err._musicapp_stderr = True  # type: ignore[attr-defined]
        logger.addHandler(err)
    if _configured is not None:
        return _configured
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _QuietRotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True)
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    _configured = path
    return path


def log_exception(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log ``exc`` with its traceback under ``what`` (for workers that report errors upward)."""
    logger.error("%s: %s", what, exc, exc_info=(type(exc), exc, exc.__traceback__))
