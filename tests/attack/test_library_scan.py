"""Issue 14, library scan side: D2 (vanished folders lose nothing), C2/H1 (only regular files,
per-item problems, non-UTF-8 names), U7 (escaped output, `remove` that matches nothing).

Everything runs the real CLI on real SQLite files and real audio written here. Permission cases
need a process that file modes apply to: as root (CI) the command runs under ``setpriv`` with
the DAC-override capabilities dropped; without ``setpriv`` they are skipped with that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from musicapp.cli import main
from tests.library.music import write_song

ROOT = Path(__file__).resolve().parents[2]
FP = ["--fingerprint-only", "--workers", "0"]


def _cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _json(capsys, argv: list[str]) -> tuple[int, object]:
    rc, out, err = _cli(capsys, [*argv, "--json"])
    assert "Traceback" not in err, err
    return rc, json.loads(out) if out.strip() else None


def unprivileged(cmd: list[str]) -> list[str]:
    """``cmd`` so that file permissions apply to it (root: setpriv without DAC override)."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes cannot be made to apply")
    wrapped = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    probe = subprocess.run([*wrapped[:3], "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr.decode(errors='replace')}")
    return wrapped


@dataclass
class Run:
    """One command's exit code and output."""

    returncode: int
    stdout: str
    stderr: str


# Runs several `musicapp` command lines in one child process (one interpreter start), each with
# its own captured output; prints them as JSON (surrogate-escaped text survives as \udcxx).
_MANY = """
import contextlib, io, json, sys
from musicapp.cli import main
runs = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    runs.append([rc, out.getvalue(), err.getvalue()])
sys.__stdout__.write(json.dumps(runs))
"""


def run_many(
    argvs: list[list[str]], tmp: Path, *, as_user: bool = False, timeout: float = 120
) -> list[Run]:
    """The real CLI on each command line, in one child process (a hang fails the test through
    the timeout; ``as_user``: file permissions apply, see :func:`unprivileged`)."""
    cmd = [sys.executable, "-c", _MANY, json.dumps(argvs)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MUSICAPP_DATA_DIR": str(tmp / "data"),
           "MUSICAPP_LOG": str(tmp / "musicapp.log"), "OMP_NUM_THREADS": "1"}  # fmt: skip
    r = subprocess.run(
        unprivileged(cmd) if as_user else cmd,
        env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    return [Run(*x) for x in json.loads(r.stdout)]


def run_cli(argv: list[str], tmp: Path, *, as_user: bool = False, timeout: float = 120) -> Run:
    """One command line of the real CLI in a child process (see :func:`run_many`)."""
    return run_many([argv], tmp, as_user=as_user, timeout=timeout)[0]


def test_vanished_then_empty_folder_marks_missing_and_prune_removes(tmp_path, capsys):
    music = tmp_path / "drive" / "music"
    for i in range(3):
        write_song(music / f"s{i}.wav", 10 + i, 2.0)
    db = str(tmp_path / "lib.sqlite3")
    rc, out = _json(capsys, ["library", "add", str(music), *FP, "--db", db])
    assert rc == 0 and out["indexed"] == 3

    # The drive is unplugged: the folder is gone. Nothing is removed, all three are missing.
    (tmp_path / "drive").rename(tmp_path / "elsewhere")
    rc, out = _json(capsys, ["library", "add", str(music), *FP, "--db", db])
    assert rc == 0 and out["scan"]["removed"] == [] and len(out["scan"]["missing"]) == 3
    assert out["scan"]["warnings"] and "missing" in out["scan"]["warnings"][0]
    rc, listed = _json(capsys, ["library", "list", "--db", db])
    assert [t["status"] for t in listed] == ["missing"] * 3
    assert all(t["analysis_status"] == "ok" for t in listed)
    rc, text, _ = _cli(capsys, ["library", "list", "--db", db])
    assert text.count("missing") == 3

    # The mount point is back but empty (unmounted share): still nothing removed.
    music.mkdir(parents=True)
    rc, out = _json(capsys, ["library", "add", str(music), *FP, "--db", db])
    assert rc == 0 and len(out["scan"]["missing"]) == 3 and out["indexed"] == 0
    rc, info = _json(capsys, ["library", "info", "--db", db])
    assert info["tracks"] == 3 and info["missing"] == 3 and info["fingerprint_bytes"] > 0

    # The files come back: same content, nothing re-analysed, all ok again.
    shutil.rmtree(tmp_path / "drive")
    (tmp_path / "elsewhere").rename(tmp_path / "drive")
    rc, out = _json(capsys, ["library", "add", str(music), *FP, "--db", db])
    assert rc == 0 and len(out["scan"]["returned"]) == 3 and out["indexed"] == 0
    assert out["scan"]["missing"] == []
    rc, listed = _json(capsys, ["library", "list", "--db", db])
    assert [t["status"] for t in listed] == ["ok"] * 3

    # Only an explicit prune removes, and --dry-run only lists.
    os.remove(music / "s1.wav")
    rc, out = _json(capsys, ["library", "add", str(music), *FP, "--db", db])
    assert out["scan"]["missing"] == [str((music / "s1.wav").resolve())]
    rc, dry = _json(capsys, ["library", "prune", "--dry-run", "--db", db])
    assert rc == 0 and dry["missing"] == [str((music / "s1.wav").resolve())] and dry["removed"] == []
    rc, info = _json(capsys, ["library", "info", "--db", db])
    assert info["tracks"] == 3
    rc, text, _ = _cli(capsys, ["library", "prune", "--db", db])
    assert rc == 0 and "removed" in text and "s1.wav" in text
    rc, info = _json(capsys, ["library", "info", "--db", db])
    assert info["tracks"] == 2 and info["missing"] == 0
    rc, text, _ = _cli(capsys, ["library", "prune", "--db", db])
    assert rc == 0 and "nothing to prune" in text


def test_remove_that_matches_nothing_says_so(tmp_path, capsys):
    music = tmp_path / "m"
    write_song(music / "a.wav", 1, 1.5)
    write_song(music / "b.wav", 2, 1.5)
    db = str(tmp_path / "lib.sqlite3")
    assert main(["library", "add", str(music), *FP, "--db", db, "--json"]) == 0
    rc, _, err = _cli(capsys, ["library", "remove", str(tmp_path / "nowhere"), "--db", db])
    assert rc == 2 and "no track" in err and "nothing removed" in err
    rc, out = _json(capsys, ["library", "remove", "/", "--dry-run", "--db", db])
    assert rc == 0 and len(out["would_remove"]) == 2 and out["removed"] == []
    rc, info = _json(capsys, ["library", "info", "--db", db])
    assert info["tracks"] == 2
    rc, out = _json(capsys, ["library", "remove", "/", "--db", db])
    assert rc == 0 and len(out["removed"]) == 2
    rc, _, err = _cli(capsys, ["library", "remove", "/", "--db", db])
    assert rc == 2 and "no track" in err


def test_scan_skips_non_regular_files_and_odd_names(tmp_path):
    music = tmp_path / "m"
    write_song(music / "good.wav", 1, 2.0)
    os.mkfifo(music / "fifo.wav")
    os.symlink("/dev/zero", music / "zero.wav")
    os.symlink(tmp_path / "nothing-here.wav", music / "dangling.wav")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(music / "sock.wav"))
    raw_dir = os.fsencode(music)
    write_song(tmp_path / "tmp1.wav", 2, 2.0)
    os.rename(tmp_path / "tmp1.wav", raw_dir + b"/bad\xff\xfename.wav")  # not UTF-8
    write_song(tmp_path / "tmp2.wav", 3, 2.0)
    os.rename(tmp_path / "tmp2.wav", raw_dir + b"/two\nlines\x1b[31m.wav")  # newline + escape
    db = str(tmp_path / "lib.sqlite3")
    try:
        add_argv = ["library", "add", str(music), *FP, "--db", db, "--json"]
        add, text, listed, again = run_many(
            [add_argv, ["library", "list", "--db", db], ["library", "list", "--db", db, "--json"], add_argv],
            tmp_path, timeout=90,
        )  # fmt: skip
    finally:
        sock.close()
    assert add.returncode == 0 and "Traceback" not in add.stderr, add.stderr[-2000:]
    out = json.loads(add.stdout)
    reasons = {os.path.basename(p): why for p, why in out["scan"]["skipped"]}
    assert "FIFO" in reasons["fifo.wav"]
    assert "character device" in reasons["zero.wav"] and "symbolic link" in reasons["zero.wav"]
    assert "socket" in reasons["sock.wav"]
    assert "broken symbolic link" in reasons["dangling.wav"]
    assert len(out["scan"]["added"]) == 3 and out["indexed"] == 3 and out["failed"] == 0

    assert text.returncode == 0 and "Traceback" not in text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 3, lines  # one line per track: the newline in a name is escaped
    assert any("bad\\xff\\xfename.wav" in line for line in lines)
    assert any("two\\nlines\\x1b[31m.wav" in line for line in lines)
    assert "\x1b" not in text.stdout

    names = {os.fsencode(t["path"]) for t in json.loads(listed.stdout)}  # the exact bytes come back
    assert raw_dir + b"/bad\xff\xfename.wav" in names and raw_dir + b"/two\nlines\x1b[31m.wav" in names
    # A second scan finds the odd names unchanged (their stored form is exact).
    again = json.loads(again.stdout)
    assert again["scan"]["unchanged"] == 3 and again["scan"]["added"] == []


def test_unreadable_file_and_folder_are_reported_and_the_scan_goes_on(tmp_path):
    music = tmp_path / "m"
    write_song(music / "a_good.wav", 1, 2.0)
    write_song(music / "b_locked.wav", 2, 2.0)
    write_song(music / "c_closed" / "inside.wav", 3, 2.0)
    write_song(music / "d_after" / "later.wav", 4, 2.0)
    data = tmp_path / "data"
    data.mkdir()
    for p in (tmp_path, music, data):
        p.chmod(0o777)
    (music / "b_locked.wav").chmod(0)
    (music / "c_closed").chmod(0)
    try:
        run = run_cli(["library", "add", str(music), *FP, "--json"], tmp_path, as_user=True)
    finally:
        (music / "c_closed").chmod(0o755)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    out = json.loads(run.stdout)
    reasons = {os.path.basename(p): why for p, why in out["scan"]["skipped"]}
    assert "Permission denied" in reasons["b_locked.wav"]
    assert "folder not readable" in reasons["c_closed"]
    assert out["indexed"] == 2  # a_good.wav and d_after/later.wav

    # Indexed while readable, then the folder closes: its track is neither missing nor pruned.
    (music / "b_locked.wav").chmod(0o644)
    assert json.loads(run_cli(["library", "add", str(music), *FP, "--json"], tmp_path).stdout)["indexed"] == 2
    (music / "c_closed").chmod(0)
    try:
        add, dry, listed = run_many(
            [["library", "add", str(music), *FP, "--json"], ["library", "prune", "--dry-run", "--json"],
             ["library", "list", "--json"]], tmp_path, as_user=True)  # fmt: skip
    finally:
        (music / "c_closed").chmod(0o755)
    assert json.loads(add.stdout)["scan"]["missing"] == [] and json.loads(dry.stdout)["missing"] == []
    assert [t["status"] for t in json.loads(listed.stdout)] == ["ok"] * 4


def test_library_add_of_a_fifo_or_device_itself_returns(tmp_path):
    os.mkfifo(tmp_path / "fifo.wav")
    os.symlink("/dev/zero", tmp_path / "zero.wav")
    db = str(tmp_path / "l.sqlite3")
    runs = run_many([["library", "add", str(tmp_path / name), *FP, "--db", db, "--json"]
                     for name in ("fifo.wav", "zero.wav")], tmp_path, timeout=60)  # fmt: skip
    for run in runs:
        assert run.returncode == 0 and "Traceback" not in run.stderr
        out = json.loads(run.stdout)
        assert out["indexed"] == 0 and "not a regular file" in out["scan"]["skipped"][0][1]
