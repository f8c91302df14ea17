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


def test_segfaulting_file_marks_only_itself(tmp_path):
    """Issue 14, D1: a file that kills its worker (twice) fails alone; the run completes and the
    good tracks, including those in flight beside it, are stored."""
    from tests.library.crashy import segfault_on_bad

    music = tmp_path / "m"
    for i in range(5):
        write_song(music / f"t{i}.wav", 200 + i, 2.0)
    write_song(music / "bad.wav", 299, 2.0)
    with Store(tmp_path / "lib.sqlite3") as st:
        st.scan(music)
        indexer = Indexer(st, analyser=segfault_on_bad, workers=2)
        report = indexer.run()
        assert (report.done, report.failed) == (5, 1)
        assert st.count("ok") == 5 and st.count("pending") == 0
        bad = st.tracks("error")
        assert len(bad) == 1 and bad[0].path.endswith("bad.wav")
        assert "worker died (SIGSEGV)" in bad[0].error
        assert all(st.analysis(t.id)["tempo_bpm"] == 120.0 for t in st.tracks("ok"))
        assert indexer.last_stats.worker_deaths == 2
        assert st.integrity_check() == "ok"


def test_good_track_of_a_killed_worker_is_retried(tmp_path):
    from musicapp.library import fingerprint as fp
    from tests.library.crashy import killed_once

    music = tmp_path / "m"
    for i in range(3):
        write_song(music / f"t{i}.wav", 400 + i, 2.0)
    victim = write_song(music / "victim.wav", 499, 2.0)
    with Store(tmp_path / "lib.sqlite3") as st:
        st.scan(music)
        indexer = Indexer(st, analyser=killed_once, workers=2)
        report = indexer.run()
        assert (report.done, report.failed) == (4, 0)
        assert indexer.last_stats.retried == [str(victim)]
        track = st.track_by_path(victim)
        assert track.status == "ok" and st.analysis(track.id)["tempo_bpm"] == 100.0
        blob = next(b for tid, b, _ in st.iter_fingerprints() if tid == track.id)
        fresh, _ = fp.fingerprint_file(victim)
        assert (fp.Fingerprint.unpack(blob).hashes == fresh.hashes).all()
