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


def test_a_task_that_ends_after_its_owner_was_deleted_reports_to_nobody(qtbot):
    """A device scan or a load that finishes after its window closed must not touch the
    window's deleted widgets (it raised "Internal C++ object already deleted")."""
    import shiboken6
    from PySide6.QtWidgets import QComboBox, QWidget

    owner = QWidget()
    combo = QComboBox(owner)
    runner = TaskRunner(owner)
    release = threading.Event()
    calls: list[str] = []

    def slow(ctx):
        release.wait(5)
        return ["mic"]

    def fill(items):
        calls.append("fill")
        combo.addItems(items)  # raises if the combo is gone

    task = runner.start(slow, on_finished=fill)
    release.set()  # the result is on its way (a queued signal) ...
    shiboken6.delete(owner)  # ... when the window is destroyed (its pool waits for the task)
    assert not shiboken6.isValid(combo)
    qtbot.wait(100)  # queued signals delivered
    assert calls == [] and not task.abandoned
