"""Kill the indexer with SIGKILL at 20 random moments; the database must stay sound and resume.

Each run is the real CLI (``python -m musicapp library add``) in its own process group (so the
pool worker dies too). After every kill: ``PRAGMA integrity_check`` is ok, no path or content
is duplicated, every ``ok`` track has its analysis and fingerprint, and the number of finished
tracks never goes down (nothing committed is lost). Finally an uninterrupted run completes and
every stored fingerprint equals the one computed directly from its file.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from musicapp.library import fingerprint as fp
from tests.library.music import write_song

N_TRACKS = 40
KILLS = 20
REPO = Path(__file__).resolve().parents[2]


def _start(music: Path, db: Path, workers: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [
        sys.executable,
        "-m",
        "musicapp",
        "library",
        "add",
        str(music),
        "--db",
        str(db),
        "--fingerprint-only",
        "--workers",
        str(workers),
        "--json",
    ]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def _check(db: Path, n_files: int) -> int:
    con = sqlite3.connect(str(db))
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if con.execute("PRAGMA user_version").fetchone()[0] == 0:  # killed before creating it
            assert not con.execute("SELECT name FROM sqlite_master").fetchall()
            return 0
        n, n_paths, n_content = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT path), COUNT(DISTINCT content_hash) FROM tracks"
        ).fetchone()
        assert n == n_paths == n_content <= n_files
        ok = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
        complete = con.execute(
            "SELECT COUNT(*) FROM tracks t JOIN analysis a ON a.track_id = t.id "
            "JOIN fingerprints f ON f.track_id = t.id WHERE t.status = 'ok' AND f.n_hashes > 0"
        ).fetchone()[0]
        assert complete == ok
        orphans = con.execute(
            "SELECT COUNT(*) FROM fingerprints f JOIN tracks t ON t.id = f.track_id WHERE t.status != 'ok'"
        ).fetchone()[0]
        assert orphans == 0
        assert con.execute("SELECT COUNT(*) FROM tracks WHERE status='error'").fetchone()[0] == 0
        return int(ok)
    finally:
        con.close()


def test_sigkill_at_random_moments_then_resume(tmp_path):
    music = tmp_path / "music"
    for i in range(N_TRACKS):
        write_song(music / f"album{i % 4}" / f"track{i:02d}.wav", 1000 + i, 5.0)
    db = tmp_path / "lib.sqlite3"

    # Time one full run on a scratch database to spread the kills over a run's lifetime.
    t0 = time.perf_counter()
    proc = _start(music, tmp_path / "scratch.sqlite3", 0)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    full = time.perf_counter() - t0
    print(f"full run {full:.2f} s")

    rng = np.random.default_rng(20)
    done_before = 0
    kills_mid_run = 0
    for k in range(KILLS):
        proc = _start(music, db, workers=k % 2)  # in-process and process-pool runs
        time.sleep(float(rng.uniform(0.05, 1.0)) * full)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills_mid_run += 1
        proc.wait(timeout=60)
        done = _check(db, N_TRACKS)
        assert done >= done_before, f"kill {k}: committed tracks were lost"
        done_before = done
    assert kills_mid_run >= 10, "the kills did not land during runs"

    proc = _start(music, db, workers=1)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    assert _check(db, N_TRACKS) == N_TRACKS

    con = sqlite3.connect(str(db))
    rows = con.execute(
        "SELECT t.path, f.data FROM tracks t JOIN fingerprints f ON f.track_id = t.id"
    ).fetchall()
    con.close()
    assert len(rows) == N_TRACKS
    for path, blob in rows[:: max(1, N_TRACKS // 10)]:
        hashes, times, _ = fp.fingerprint_file(path)
        stored_h, stored_t = fp.unpack(blob)
        assert np.array_equal(stored_h, hashes) and np.array_equal(stored_t, times), path
