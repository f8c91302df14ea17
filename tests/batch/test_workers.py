"""The worker pool: results, a dead worker reported with its task and replaced, death with the parent."""

from __future__ import annotations

import os
import signal

from musicapp.batch.workers import WorkerPool, describe_exit


def _square(x):
    return x * x


def _die(sig):
    os.kill(os.getpid(), sig)


def _parent_pid():
    return os.getppid()


def _collect(pool, n):
    events = []
    while len(events) < n:
        events.extend(pool.poll(30))
    return events


def test_results_and_a_dead_worker_replaced():
    with WorkerPool(2) as pool:
        first = pool.pids()
        pool.submit("a", _square, (7,))
        pool.submit("b", _die, (signal.SIGSEGV,))
        events = {e[1]: e for e in _collect(pool, 2)}
        assert events["a"][0] == "done" and events["a"][2] == (True, 49)
        kind, task, reason, slot = events["b"]
        assert (kind, task, reason) == ("died", "b", "SIGSEGV")
        assert pool.deaths == 1 and pool.pids()[slot] != first[slot]
        # The fresh worker works; an exception in a task is a result, not a death.
        pool.submit("c", _square, (3,), slot)
        pool.submit("d", _square, ("x",))
        events = {e[1]: e for e in _collect(pool, 2)}
        assert events["c"][2] == (True, 9)
        ok, message = events["d"][2]
        assert not ok and message.startswith("TypeError")
        pool.submit("e", _parent_pid, ())
        assert _collect(pool, 1)[0][2] == (True, os.getpid())


def test_describe_exit():
    assert describe_exit(-9) == "SIGKILL" and describe_exit(3) == "exit status 3"
