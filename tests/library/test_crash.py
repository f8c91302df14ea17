"""Kill the indexer with SIGKILL at 20 random moments; the database must stay sound and resume.

Each run is the real CLI (``python -m musicapp library add``) in its own process group (so the
pool worker dies too). A third of the kills land at a random moment of start-up/scan, the others
at a random moment after the run's first commit (within ~2 tracks' time), so nearly every kill
hits a live run that is writing. After every kill: ``PRAGMA integrity_check`` is ok, no path or content
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
SECONDS = 20.0  # per track: long enough that a run spends most of its time indexing
REPO = Path(__file__).resolve().parents[2]


def _start(music: Path, db: Path, workers: int, *, full: bool = False) -> subprocess.Popen:
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
        *([] if full else ["--fingerprint-only"]),
        "--workers",
        str(workers),
        "--json",
    ]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def _ok_count(db: Path) -> int:
    """Finished tracks so far (0 while the database does not exist yet)."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(str(db), timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # tables not created yet
        return 0


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
        write_song(music / f"album{i % 4}" / f"track{i:02d}.wav", 1000 + i, SECONDS)
    db = tmp_path / "lib.sqlite3"

    # Time one full run on a scratch database: start-up (until the first commit) and per track.
    scratch = tmp_path / "scratch.sqlite3"
    t0 = time.perf_counter()
    proc = _start(music, scratch, 0)
    while _ok_count(scratch) == 0 and proc.poll() is None:
        time.sleep(0.005)
    startup = time.perf_counter() - t0
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    per_track = max(1e-3, (time.perf_counter() - t0 - startup) / N_TRACKS)
    print(f"start-up {startup:.2f} s, {1000 * per_track:.0f} ms per track")

    rng = np.random.default_rng(20)
    done_before = 0
    kills_mid_run = 0
    progress: list[int] = []
    for k in range(KILLS):
        proc = _start(music, db, workers=k % 2)  # in-process and process-pool runs
        if k % 3 == 0:
            # A random moment of start-up, migration or folder scan.
            time.sleep(float(rng.uniform(0.0, 1.0)) * startup)
        else:
            # A random moment while tracks are being committed: after this run's first commit.
            t_wait = time.perf_counter()
            while _ok_count(db) <= done_before and proc.poll() is None and time.perf_counter() - t_wait < 60:
                time.sleep(0.002)
            time.sleep(float(rng.uniform(0.0, 2.0)) * per_track)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills_mid_run += 1
        proc.wait(timeout=60)
        done = _check(db, N_TRACKS)
        progress.append(done)
        assert done >= done_before, f"kill {k}: committed tracks were lost"
        done_before = done
    print(f"finished tracks after each kill: {progress} ({kills_mid_run} kills mid-run)")
    assert kills_mid_run >= 15, "the kills did not land during runs"

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
        fresh, _ = fp.fingerprint_file(path)
        stored = fp.Fingerprint.unpack(blob)
        assert np.array_equal(stored.hashes, fresh.hashes), path
        assert np.array_equal(stored.times, fresh.times), path
        assert np.array_equal(stored.signature, fresh.signature), path


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, read from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def test_workers_die_with_a_killed_parent(tmp_path):
    """Issue 14, H3: SIGKILL of only the parent of ``library add`` leaves no worker behind.

    The workers are stopped (SIGSTOP) before the parent is killed, so neither finishing their
    track nor noticing the closed pipe can end them: only the kernel's parent-death signal can.
    """
    music = tmp_path / "music"
    for i in range(8):
        write_song(music / f"t{i}.wav", 700 + i, SECONDS)
    db = tmp_path / "lib.sqlite3"
    proc = _start(music, db, workers=2, full=True)  # full analysis: the workers stay busy
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while proc.poll() is None and time.monotonic() < deadline:
        workers = [p for p in _children(proc.pid)
                   if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        # The watchdog thread starts right after the parent-death request: wait for it.
        if len(workers) >= 2 and all(_threads(p) >= 2 for p in workers):
            break
        time.sleep(0.02)
    assert len(workers) >= 2 and proc.poll() is None, "the run did not start its workers"
    family = set(_children(proc.pid))  # the workers and multiprocessing's resource tracker
    for w in workers:
        os.kill(w, signal.SIGSTOP)
    os.kill(proc.pid, signal.SIGKILL)  # the parent only, not its process group
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [p for p in family if _alive(p)]
    for p in survivors:  # do not leave them behind if the test fails
        os.kill(p, signal.SIGKILL)
    assert not survivors, f"workers outlived their parent: {survivors}"
