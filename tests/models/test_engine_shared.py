"""TaggingRun: one track's batches shared by several threads give exactly one thread's result,
whatever order the batches finish in; a failure in any thread is raised by result()."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from musicapp.models.engine import TaggerEngine, TaggingRun, result_json
from musicapp.params import MEL
from tests.models.test_engine import music

SR = MEL.sample_rate


@pytest.fixture(scope="module")
def student() -> TaggerEngine:
    return TaggerEngine(device="cpu", threads=1)


@pytest.fixture(scope="module")
def y() -> np.ndarray:
    return music(40.0, seed=3)  # 14 patches in 2 blocks of 30 s: 7 batches of 2


def test_two_threads_give_the_one_thread_result(student, y):
    ref = student.analyze(y)
    run = student.start(y)
    threads = [threading.Thread(target=run.work, kwargs={"torch_threads": 1}, name=f"t{i}")
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert result_json(run.result()) == result_json(ref)
    assert sum(run.batches_by_thread.values()) == 7 and set(run.batches_by_thread) <= {"t0", "t1"}


def test_batches_finishing_out_of_order_are_added_in_order(student, y):
    ref = student.analyze(y, feature_maps=True)
    run = student.start(y, feature_maps=True)
    batches = []
    while (item := run._take()) is not None:  # hand every batch out first ...
        batches.append(item)
    assert [i for i, _ in batches] == list(range(7))
    assert [len(b) for _, b in batches] == [2] * 7
    for index, batch in reversed(batches):  # ... and finish them last to first
        run._run(index, batch)
    got = run.result()
    assert result_json(got) == result_json(ref)
    for layer, maps in ref.feature_maps.items():
        np.testing.assert_array_equal(got.feature_maps[layer], maps)


def test_a_failure_in_one_thread_is_raised_by_result(student, y):
    def blocks():
        yield y[: 30 * SR]
        raise ValueError("the decoder gave up")  # as a decoder failing mid-file would

    run = TaggingRun(student, blocks(), 40.0, feature_maps=False)
    threads = [threading.Thread(target=run.work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pytest.raises(ValueError, match="gave up"):
        run.result()


def test_result_before_the_work_is_done_is_refused(student, y):
    run = student.start(y)
    with pytest.raises(RuntimeError, match="before the work"):
        run.result()
    run.work()
    assert run.result().segments


def test_silence_gives_the_empty_result_from_a_shared_run(student):
    run = student.start(np.zeros(10 * SR, dtype=np.float32))
    run.work()
    assert run.result().status == "silence"
