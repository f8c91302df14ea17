"""``--db`` that is not a regular file (FIFO, socket, device, dangling link, link loop) is refused
by name before anything opens it, by every library command (the real CLI in a subprocess: a FIFO
opened for reading would block it forever) and by :class:`Store` itself."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from musicapp.library.store import LibraryError, Store

COMMANDS = (["check", "--repair"], ["check"], ["list"], ["info"], ["search", "--key", "C major"])


def _cli(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "musicapp", "library", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def specials(tmp_path):
    fifo = tmp_path / "q.db"
    os.mkfifo(fifo)
    (tmp_path / "dangling.db").symlink_to(tmp_path / "nowhere.sqlite3")
    (tmp_path / "loop.db").symlink_to(tmp_path / "loop.db")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.db"))
    yield {"q.db": "a FIFO (named pipe)", "/dev/null": "a character device",
           "dangling.db": "a dangling link", "loop.db": "a symbolic link loop",
           "s.db": "a socket"}
    sock.close()


def test_every_command_refuses_a_special_db_by_name(tmp_path, specials):
    # before: `check --repair --db q.db` blocked forever, `list` said "disk I/O error",
    # `check --db /dev/null` said "ok", a dangling link was called "read-only"
    (tmp_path / "music").mkdir()
    for db, kind in specials.items():
        for cmd in [*COMMANDS, ["add", str(tmp_path / "music"), "--fingerprint-only"]]:
            r = _cli([*cmd, "--db", db], tmp_path)
            assert r.returncode == 2, (db, cmd, r.stdout, r.stderr)
            assert kind in r.stderr and "Traceback" not in r.stderr, (db, cmd, r.stderr)
    assert not (tmp_path / "nowhere.sqlite3").exists()  # nothing created through the link


def test_store_refuses_special_files(tmp_path, specials):
    for db, kind in specials.items():
        path = db if db.startswith("/") else tmp_path / db
        for readonly in (False, True, None):
            with pytest.raises(LibraryError, match=re.escape(kind)):
                Store(path, readonly=readonly)
        with pytest.raises(LibraryError, match=re.escape(kind)):
            Store.open_raw(path)
