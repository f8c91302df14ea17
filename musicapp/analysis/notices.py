"""Notices an analysis gives about itself, for the caller to show beside the result.

A part that falls back (the learned chord recogniser's weights are missing or damaged, so the
chords come from the templates) still gives a result, and the musician should know why it may
read differently. Code deep in the analysis calls :func:`notice`; the caller that owns the result
wraps the analysis in :func:`collect` and gets the messages (each once, in order). Outside a
``collect`` block a notice only goes to the log. The collector is per thread (a context
variable), so analyses running in parallel threads never see each other's notices.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)

_current: ContextVar[list[str] | None] = ContextVar("musicapp_analysis_notices", default=None)


@contextmanager
def collect() -> Iterator[list[str]]:
    """Collect the notices given in this thread while the block runs (a fresh list)."""
    notes: list[str] = []
    token = _current.set(notes)
    try:
        yield notes
    finally:
        _current.reset(token)


def notice(message: str) -> None:
    """Record ``message`` for the caller collecting notices (once), and log it."""
    log.warning("%s", message)
    notes = _current.get()
    if notes is not None and message not in notes:
        notes.append(message)
