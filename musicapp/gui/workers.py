"""Background work for the GUI: tasks on a QThreadPool that report through Qt signals.

The GUI thread only draws. Decoding, spectrograms, analysis, MIDI rendering and library indexing
run as :class:`Task` objects; each reports ``progress(fraction, message)``, then exactly one of
``finished(result)``, ``failed(message)`` or ``cancelled()``. Signals are queued across threads,
so the connected slots always run in the GUI thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from musicapp.errors import MusicappError


class CancelledError(Exception):
    """Raised inside a task when its cancel button was pressed."""


class TaskContext:
    """Handed to the task function: report progress and check for cancellation."""

    def __init__(self, signals: TaskSignals) -> None:
        self._signals = signals
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the task to stop at its next progress report."""
        self._cancel.set()

    def check(self) -> None:
        """Raise :class:`CancelledError` when the task was cancelled."""
        if self._cancel.is_set():
            raise CancelledError()

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress (0..1) and stop here if cancelled."""
        self.check()
        self._signals.progress.emit(float(max(0.0, min(1.0, fraction))), str(message))


class TaskSignals(QObject):
    """Signals of one task (emitted from the worker thread, delivered in the GUI thread)."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()  # after any of finished/failed/cancelled


def describe_error(exc: BaseException) -> str:
    """A message for the user: the core's own errors verbatim, others with their type."""
    if isinstance(exc, MusicappError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"{type(exc).__name__}: {exc}"


class Task(QRunnable):
    """A function ``fn(ctx, *args)`` run on a thread pool with signals for its outcome."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "task") -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.args = args
        self.name = name
        self.signals = TaskSignals()
        self.ctx = TaskContext(self.signals)
        self.error_details = ""
        #: set by :meth:`abandon`: the slots given to :meth:`TaskRunner.start` are not called
        self.abandoned = False

    def cancel(self) -> None:
        """Request cancellation (the task stops at its next progress report)."""
        self.ctx.cancel()

    def abandon(self) -> None:
        """Cancel, and call none of the slots given to :meth:`TaskRunner.start` from now on
        (not even for a result already on its way): what it would report belongs to something
        the user has replaced."""
        self.abandoned = True
        self.cancel()

    def run(self) -> None:
        try:
            try:
                result = self.fn(self.ctx, *self.args)
                if self.ctx.cancelled:
                    raise CancelledError()
            except CancelledError:
                self.signals.cancelled.emit()
            except BaseException as exc:  # report everything; a worker must never kill the app
                self.error_details = traceback.format_exc()
                self.signals.failed.emit(describe_error(exc))
            else:
                self.signals.finished.emit(result)
            self.signals.done.emit()
        except RuntimeError:
            pass  # the receiver is gone (the app is closing): nobody is left to tell


class TaskRunner(QObject):
    """Starts tasks on a thread pool and keeps them alive until they are done."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: set[Task] = set()

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "task",
        on_finished: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        connect: Callable[[Task], None] | None = None,
    ) -> Task:
        """Run ``fn(ctx, *args)`` in the pool and connect the given slots.

        Every slot is connected before the task starts (a fast task could otherwise finish
        before a later ``connect``); ``connect(task)`` may add slots that need the task.
        """
        task = Task(fn, *args, name=name)
        if connect is not None:
            connect(task)

        def unless_abandoned(slot: Callable[..., None]) -> Callable[..., None]:
            # nor once this runner (and so the window or panel that owns it) has been deleted:
            # a scan or load that ends after its window closed has nobody left to tell
            return lambda *a: None if task.abandoned or not shiboken6.isValid(self) else slot(*a)

        for signal, slot in ((task.signals.finished, on_finished),
                             (task.signals.failed, on_failed),
                             (task.signals.progress, on_progress),
                             (task.signals.cancelled, on_cancelled)):
            if slot is not None:
                signal.connect(unless_abandoned(slot))
        task.signals.done.connect(lambda t=task: self._running.discard(t))
        self._running.add(task)
        self.pool.start(task)
        return task

    @property
    def busy(self) -> bool:
        """True while any task is queued or running."""
        return bool(self._running)

    def cancel_all(self) -> None:
        """Ask every running task to stop."""
        for task in list(self._running):
            task.cancel()

    def wait(self, msecs: int = 5000) -> bool:
        """Wait for the pool to drain (used on shutdown and in tests)."""
        return self.pool.waitForDone(msecs)
