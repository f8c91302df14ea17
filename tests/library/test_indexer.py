"""Indexer: bad files recorded and skipped, unchanged files skipped, progress, cancel, pool."""

from __future__ import annotations

import threading

from musicapp.library.api import Library
from musicapp.library.indexer import Indexer, no_analyser
from musicapp.library.store import Store
from tests.library.music import write_song


def _tree(root, n=5, seconds=2.0):
    for i in range(n):
        write_song(root / f"d{i % 2}" / f"t{i}.wav", 100 + i, seconds)
    (root / "broken.mp3").write_bytes(b"\x00\x01garbage" * 50)
    (root / "empty.wav").write_bytes(b"")
    return root


def test_bad_files_recorded_and_skipped(tmp_path):
    music = _tree(tmp_path / "m")
    seen = []
    with Library(tmp_path / "lib.sqlite3") as lib:
        report = lib.add(music, workers=0, analyser=no_analyser, progress=lambda d, t, p: seen.append((d, t)))
        assert report.done == 5 and report.failed == 2
        assert seen[-1] == (7, 7) and [d for d, _ in seen] == list(range(1, 8))
        errors = {t.path.rsplit("/", 1)[-1]: t.error for t in lib.store.tracks("error")}
        assert set(errors) == {"broken.mp3", "empty.wav"}
        assert all(errors.values())
        # A second run skips everything: unchanged files, known-bad files included.
        again = lib.add(music, workers=0, analyser=no_analyser)
        assert again.scan.unchanged == 7 and again.done == 0 and again.failed == 0
        listed = lib.list()
        assert [t["status"] for t in listed].count("ok") == 5
        assert all(t["duration_s"] > 1.9 for t in listed if t["status"] == "ok")


def test_analyser_failure_does_not_stop_run(tmp_path):
    music = tmp_path / "m"
    for i in range(3):
        write_song(music / f"t{i}.wav", i, 1.0)

    def picky(path):
        if path.endswith("t1.wav"):
            raise RuntimeError("model exploded")
        return {"tempo_bpm": 120.0}

    with Library(tmp_path / "lib.sqlite3") as lib:
        report = lib.add(music, workers=0, analyser=picky)
        assert (report.done, report.failed) == (2, 1)
        bad = lib.store.tracks("error")[0]
        assert bad.path.endswith("t1.wav") and "model exploded" in bad.error


def test_process_pool_and_cancel(tmp_path):
    music = tmp_path / "m"
    for i in range(8):
        write_song(music / f"t{i}.wav", i, 2.0)
    with Store(tmp_path / "lib.sqlite3") as st:
        st.scan(music)
        cancel_after = threading.Event()
        indexer = Indexer(st, analyser=no_analyser, workers=1)

        def progress(done, total, path):
            if done == 2:
                indexer.cancel()
                cancel_after.set()

        indexer.progress = progress
        report = indexer.run()
        assert report.cancelled and cancel_after.is_set()
        assert 2 <= report.done < 8
        assert st.count("ok") == report.done and st.count("pending") == 8 - report.done
        # Resume in the background thread API.
        bg = Indexer(st, analyser=no_analyser, workers=1)
        bg.start().join(timeout=120)
        assert bg.report is not None and bg.report.done == 8 - report.done
        assert st.count("ok") == 8
