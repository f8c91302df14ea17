"""A process pool that survives its workers dying and whose workers die with their parent.

Unlike :class:`concurrent.futures.ProcessPoolExecutor`, one dead worker (a segfault in a decoder,
the out-of-memory killer, a stray ``kill``) does not break the pool: every worker holds at most
one task, so the pool knows which task was lost, replaces the worker with a fresh process and
reports ``("died", task_id, reason, slot)``; the caller decides whether to retry (see
:mod:`musicapp.batch.runner`: once, in the fresh worker).

Workers die with their parent (issue 14, H3): on Linux each worker asks the kernel for SIGKILL
when its parent goes away (``prctl(PR_SET_PDEATHSIG)`` through ctypes), checks that the parent
did not die before that, and a watchdog thread compares ``os.getppid()`` with the parent's pid
every half second as the portable fallback.

Workers are started with the ``spawn`` method (a fork of a process that holds threads, Qt or
torch state is unsafe); functions and arguments must be picklable.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
WATCHDOG_INTERVAL_S = 0.5

#: ("done", task_id, result, slot) or ("died", task_id, reason, slot)
Event = tuple[str, Any, Any, int]


def die_with_parent(parent_pid: int) -> None:
    """Make this process die when ``parent_pid`` (its parent) dies: PR_SET_PDEATHSIG on Linux,
    plus a daemon thread that polls ``os.getppid()``."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        while True:
            threading.Event().wait(WATCHDOG_INTERVAL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="musicapp-parent-watchdog", daemon=True).start()


def _worker_main(conn: Connection, parent_pid: int, initializer: Callable[..., None] | None,
                 initargs: tuple) -> None:
    """Loop of one worker: receive ``(task_id, fn, args)``, send back ``(task_id, ok, value)``."""
    die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, fn, args = message
        try:
            reply = (task_id, True, fn(*args))
        except BaseException as exc:  # reported to the parent, never lost
            reply = (task_id, False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


def describe_exit(exitcode: int | None) -> str:
    """``-11`` -> ``"SIGSEGV"``, ``3`` -> ``"exit status 3"``."""
    if exitcode is None:
        return "unknown cause"
    if exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


@dataclass
class _Slot:
    process: Any
    conn: Connection
    task: Any = None  # task id in progress, None when idle
    busy: bool = False
    tasks_done: int = 0


class WorkerPool:
    """``n`` worker processes, one task each at a time (see the module documentation).

    Args:
        n: number of worker processes (>= 1).
        initializer: called once in each worker (picklable), e.g. to set thread counts.
        initargs: its arguments.
    """

    def __init__(self, n: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple = ()) -> None:
        self._ctx = mp.get_context("spawn")
        self._init = (initializer, tuple(initargs))
        self.slots: list[_Slot] = [self._spawn() for _ in range(max(1, int(n)))]
        self.deaths = 0

    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, os.getpid(), *self._init),
                                 name="musicapp-batch-worker", daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    # ------------------------------------------------------------------ state
    def idle_slots(self) -> list[int]:
        """Indices of the workers without a task."""
        return [i for i, s in enumerate(self.slots) if not s.busy]

    @property
    def busy(self) -> int:
        """Number of workers holding a task."""
        return sum(s.busy for s in self.slots)

    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return [s.process.pid for s in self.slots]

    # ------------------------------------------------------------------ work
    def submit(self, task_id: Any, fn: Callable[..., Any], args: tuple, slot: int | None = None) -> int:
        """Give a task to worker ``slot`` (or the first idle one); returns the slot used."""
        if slot is None:
            idle = self.idle_slots()
            if not idle:
                raise RuntimeError("no idle worker")
            slot = idle[0]
        s = self.slots[slot]
        if s.busy:
            raise RuntimeError(f"worker {slot} is busy")
        s.task, s.busy = task_id, True
        with contextlib.suppress(BrokenPipeError, OSError):  # a dead worker: poll() reports it
            s.conn.send((task_id, fn, args))
        return slot

    def poll(self, timeout: float | None, also: list[Any] | tuple[Any, ...] = ()) -> list[Event]:
        """Wait up to ``timeout`` seconds for finished tasks or dead workers.

        ``also``: more objects to wait on (connections, sockets; see
        :func:`multiprocessing.connection.wait`): the wait ends when one of them is ready too,
        and the caller looks at it itself."""
        busy = [s for s in self.slots if s.busy]
        if not busy and not also:
            return []
        handles: dict[Any, _Slot] = {}
        for s in busy:
            handles[s.conn] = s
            handles[s.process.sentinel] = s
        ready = wait([*handles, *also], timeout)
        events: list[Event] = []
        seen: set[int] = set()
        for handle in ready:
            if handle not in handles:
                continue
            s = handles[handle]
            if id(s) in seen:
                continue
            seen.add(id(s))
            slot = self.slots.index(s)
            try:
                if s.conn.poll():
                    task_id, ok, value = s.conn.recv()
                    s.busy, s.task = False, None
                    s.tasks_done += 1
                    events.append(("done", task_id, (ok, value), slot))
                    continue
                dead = not s.process.is_alive()
            except (EOFError, OSError):  # the pipe closed: the worker is gone or going
                dead = True
            if dead:
                task = s.task
                events.append(("died", task, self._replace(slot), slot))
        return events

    def _replace(self, slot: int) -> str:
        s = self.slots[slot]
        s.process.join(timeout=5)
        if s.process.is_alive():  # closed its pipe but did not exit
            s.process.kill()
            s.process.join(timeout=5)
        reason = describe_exit(s.process.exitcode)
        log.warning("batch worker %s died (%s) while processing %r; starting a fresh one",
                    s.process.pid, reason, s.task)
        with contextlib.suppress(OSError):
            s.conn.close()
        self.deaths += 1
        self.slots[slot] = self._spawn()
        return reason

    def close(self, timeout: float = 5.0) -> None:
        """Stop every worker (tasks in progress are abandoned)."""
        for s in self.slots:
            with contextlib.suppress(BrokenPipeError, OSError):
                if not s.busy:
                    s.conn.send(None)
        for s in self.slots:
            if s.busy:
                s.process.terminate()
        for s in self.slots:
            s.process.join(timeout=timeout)
            if s.process.is_alive():
                s.process.kill()
                s.process.join(timeout=timeout)
            with contextlib.suppress(OSError):
                s.conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
