"""The GUI's task runner: an abandoned task reports to nobody."""

from __future__ import annotations

import threading

from musicapp.gui.workers import TaskRunner


def test_an_abandoned_task_calls_none_of_its_slots_even_with_its_result_on_the_way(qtbot):
    runner = TaskRunner()
    release = threading.Event()
    calls: list[str] = []

    def slow(ctx):
        release.wait(5)
        return 42  # finishes without looking at the cancel flag's progress report

    task = runner.start(slow, on_finished=lambda r: calls.append(f"finished {r}"),
                        on_failed=calls.append, on_cancelled=lambda: calls.append("cancelled"))
    task.abandon()
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    qtbot.wait(50)  # queued signals delivered
    assert calls == [] and task.abandoned
    # a task that is not abandoned still reports
    done = runner.start(lambda ctx: 7, on_finished=lambda r: calls.append(f"finished {r}"))
    qtbot.waitUntil(lambda: calls == ["finished 7"], timeout=5000)
    assert not done.abandoned
