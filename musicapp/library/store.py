"""The library database: one SQLite file (WAL mode) with a schema version and migrations.

Tables: ``tracks`` (path, size, mtime, content hash, status pending/ok/error, error text,
``missing_since``, title/artist/album, indexing lease), ``analysis`` (the ``analyze --json`` dict
plus indexed key/tempo/duration columns), ``moods``, ``codes`` (binary hash codes),
``embeddings`` (float32 vectors) and ``fingerprints`` (landmarks of one track as a packed blob).
See :mod:`musicapp.library.schema`.

Integrity rules:

* Nothing is deleted by a scan: a file that vanished (an unplugged drive, an unmounted share)
  marks its track ``missing``; it comes back when the file reappears (same content: nothing is
  re-analysed). Only :meth:`Store.prune_missing` / :meth:`Store.remove_under` delete.
* Several processes may write at once: every write is one ``BEGIN IMMEDIATE`` transaction that
  re-reads what it decides on, the migration included; :meth:`Store.claim_pending` hands each
  pending track to one indexing run (a lease that a dead run's successor takes over).
* Damage is contained: a row that SQLite cannot read (a damaged page) or that holds a bad JSON
  analysis or blob is skipped and counted in :attr:`Store.damaged`; the rest stays usable.
* A read-only file or file system can still be read (``mode=ro``, else ``immutable=1``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import socket
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import numpy as np

from musicapp.errors import MusicappError
from musicapp.hashcode import hex_to_bytes
from musicapp.library.schema import (
    MIGRATIONS,
    NOT_MUSIC_STATES,
    SCHEMA_VERSION,
    write_analysis_columns,
)
from musicapp.library.textsafe import db_path, db_text, py_path
from musicapp.library.walk import AUDIO_EXTENSIONS, content_hash, walk_audio
from musicapp.pitch import PitchError, enharmonics

log = logging.getLogger(__name__)

__all__ = [
    "AUDIO_EXTENSIONS",
    "DB_FILENAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "LibraryError",
    "ReadOnlyLibraryError",
    "ScanResult",
    "Store",
    "Track",
    "content_hash",
    "default_db_path",
    "iter_audio_files",
    "refuse_special_file",
]

DB_FILENAME = "library.sqlite3"
#: A claim on a pending track older than this is taken over by another run (seconds).
DEFAULT_LEASE_S = 6 * 3600.0
_HOST = socket.gethostname()
_DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_FORMAT", "SQLITE_MISMATCH", "SQLITE_TOOBIG")


class LibraryError(MusicappError):
    """The library database is unusable or a request on it is invalid."""


class ReadOnlyLibraryError(LibraryError):
    """A write was asked of a library that can only be read."""


def default_db_path() -> Path:
    """``library.sqlite3`` in :func:`musicapp.paths.user_data_dir`."""
    from musicapp.paths import user_data_dir

    return user_data_dir() / DB_FILENAME


#: below this many free bytes the disk counts as full (SQLite needs room for its -wal/-shm)
_FULL_BELOW = 1 << 20


def _free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the file system of ``path`` (or of its
    nearest existing folder); None when unknown."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return int(st.f_bavail * st.f_frsize)


def _size_words(n: int | None) -> str:
    """``0 bytes``, ``640 KB``, ``3.2 MB``."""
    if n is None:
        return "unknown"
    if n < 1024:
        return f"{n} bytes"
    if n < 1 << 20:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1 << 20):.1f} MB"


def _special_kind(mode: int) -> str | None:
    """What a file that is not a regular file (nor a folder) is, in words; None for a regular one."""
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return None
    from musicapp.library.walk import file_kind

    return file_kind(mode)


def refuse_special_file(path: str | Path) -> None:
    """Raise :class:`LibraryError` when ``path`` is a FIFO, socket or device (opening a FIFO
    blocks forever; ``/dev/null`` reads as an empty, "ok" database), or a dangling symbolic link
    or a link loop, naming what it is. Nothing is opened: only ``stat``/``lstat``. A missing
    path, a folder or a regular file passes (those are judged by the caller)."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        if os.path.islink(p):
            raise LibraryError(
                f"{p}: a symbolic link to {os.readlink(p)}, which does not exist (a dangling "
                "link), not a library database; point it at the database or remove the link"
            ) from None
        return
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LibraryError(
                f"{p}: a symbolic link loop (the link points back to itself), not a library "
                "database; remove or fix the link"
            ) from None
        return
    kind = _special_kind(st.st_mode)
    if kind:
        target = "" if not os.path.islink(p) else f" (a link to {os.path.realpath(p)})"
        raise LibraryError(
            f"{p}: {kind}{target}, not a library database file; give a regular SQLite file "
            "such as library.sqlite3 (nothing was opened)"
        )


#: the first 16 bytes of every SQLite 3 database file
SQLITE_HEADER = b"SQLite format 3\x00"


def foreign_file_kind(path: str | Path) -> str | None:
    """What ``path`` is when it is a non-empty regular file that was never an SQLite database
    (no SQLite header): "a text file" or "another kind of file, not an SQLite database"; None for a
    database, an empty file (SQLite treats it as an empty database), a missing or unreadable
    path. Reads at most 4 KB."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if not head or head.startswith(SQLITE_HEADER):
        return None
    if b"\0" not in head:
        try:
            head.decode("utf-8")
            return "a text file"
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3:  # a character cut at the 4 KB boundary
                return "a text file"
    return "another kind of file, not an SQLite database"


def not_a_library_message(path: str | Path, kind: str) -> str:
    """The error for a ``--db`` that was never a library (nothing is offered to repair it)."""
    return (f"{path} is not a musicapp library (it is {kind}); choose another --db "
            "(the file is left untouched)")


def refuse_foreign_file(path: str | Path) -> None:
    """Raise :class:`LibraryError` when ``path`` is a non-empty file without an SQLite header
    (see :func:`foreign_file_kind`): such a file is never opened, checked or repaired."""
    kind = foreign_file_kind(path)
    if kind:
        raise LibraryError(not_a_library_message(path, kind))


def _usable_database(path: Path) -> bool:
    """Whether ``path`` is a database with something in it (an SQLite header and tables)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return False
    except OSError:
        return False
    base = "file:" + quote(os.fsencode(str(path.resolve())).decode("latin-1"), safe="/")
    for params in ("?mode=ro", "?mode=ro&immutable=1"):  # immutable: -shm gone, no room for it
        try:
            con = sqlite3.connect(base + params, uri=True, timeout=1.0)
            try:
                return con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] > 0
            finally:
                con.close()
        except sqlite3.Error:
            continue
    return False


def iter_audio_files(root: str | Path) -> Iterator[Path]:
    """Regular audio files under ``root`` (recursive, sorted, by extension)."""
    for path, _ in walk_audio(root):
        yield Path(path)


def is_damage(exc: BaseException) -> bool:
    """Whether an SQLite error means damaged data (as opposed to a lock or a permission)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if name.startswith(_DAMAGE):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "could not decode" in text


def is_read_only_error(exc: BaseException) -> bool:
    """Whether an SQLite error means the file or file system cannot be written."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc).lower()
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or "readonly" in text


def is_gone(path: str) -> bool:
    """True only when the file is certainly not there (ENOENT/ENOTDIR); a file that cannot be
    examined (a closed folder, an I/O error) is not gone, so it is never marked or pruned."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except (OSError, ValueError):
        return False
    return False


def _under(path: str, root: str) -> bool:
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path == root or path.startswith(prefix)


def _start_time(pid: int) -> str:
    """The kernel's start time of a process (``/proc/PID/stat`` field 22), '' where unknown;
    with the pid it names one process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat_line = fh.read().decode("ascii", "replace")
        return stat_line.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _owner_id() -> str:
    """``host:pid:start:random`` of this process, the claim owner of one store."""
    pid = os.getpid()
    return f"{_HOST}:{pid}:{_start_time(pid) or '-'}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int, start: str = "-") -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    if start not in ("", "-"):
        now = _start_time(pid)
        return not now or now == start  # a reused pid is another process: the owner is dead
    return True


def _claim_is_stale(owner: str | None, claimed_at: float | None, now: float, lease_s: float) -> bool:
    if owner is None:
        return True
    if claimed_at is None or now - claimed_at > lease_s:
        return True
    host, _, rest = owner.partition(":")
    parts = rest.split(":")
    if host != _HOST or not parts[0].isdigit():
        return False
    return not _pid_alive(int(parts[0]), parts[1] if len(parts) > 2 else "-")


def _text_key(value: object) -> str | None:
    """Case-folded text for ``search --text`` (an SQL function)."""
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    return value.casefold() if isinstance(value, str) else None


def _looks_read_only(path: Path) -> bool:
    """Whether ``path`` (a database file, maybe not there yet) cannot be written."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        pass
    if path.exists() and not os.access(path, os.W_OK):
        return True
    if os.access(folder, os.W_OK | os.X_OK):
        return False
    if not path.exists():
        return True
    # The folder is closed: WAL mode still works if its -wal and -shm files exist and are writable.
    side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    return not all(p.exists() and os.access(p, os.W_OK) for p in side)


@dataclass
class Track:
    """One row of ``tracks``."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    status: str
    error: str | None
    missing_since: float | None = None
    title: str | None = None
    artist: str | None = None
    album: str | None = None

    @property
    def state(self) -> str:
        """``missing`` while the file is gone, else the analysis status (pending/ok/error)."""
        return "missing" if self.missing_since is not None else self.status


@dataclass
class ScanResult:
    """What a folder scan changed. ``removed`` stays empty: a scan never deletes (kept for the
    JSON form's compatibility); vanished files are listed in ``missing``."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "added": self.added,
            "changed": self.changed,
            "moved": [list(m) for m in self.moved],
            "removed": self.removed,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "returned": self.returned,
            "skipped": [list(s) for s in self.skipped],
            "warnings": self.warnings,
        }


#: a listed half/double tempo candidate of the stored analysis in the range ``? AND ?`` (a JSON
#: that is not valid, or candidates that are not a list of objects, match nothing)
_LEVEL_SQL = (
    "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(a.json) THEN CASE WHEN "
    "json_type(a.json, '$.tempo_candidates') = 'array' THEN json_extract(a.json, "
    "'$.tempo_candidates') ELSE '[]' END ELSE '[]' END) c WHERE c.type = 'object' "
    "AND json_extract(c.value, '$.relation') IN ('half', 'double') "
    "AND json_extract(c.value, '$.score') > 0 AND json_extract(c.value, '$.bpm') BETWEEN ? AND ?)"
)


class Store:
    """A connection to the library database. Use as a context manager or call ``close``.

    ``readonly``: False (default) opens for writing and raises :class:`ReadOnlyLibraryError` when
    the file or its folder cannot be written; True opens read-only; None opens for writing when
    possible and read-only otherwise (what the read commands use).
    """

    _COLS = "id, path, size, mtime_ns, content_hash, status, error, missing_since, title, artist, album"
    readonly: bool = False

    def __init__(
        self, path: str | Path | None = None, *, timeout: float = 30.0, readonly: bool | None = False
    ) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.timeout = timeout
        self.owner = _owner_id()
        #: ``table -> keys`` of rows that could not be read or held bad data (see ``damage_summary``).
        self.damaged: dict[str, set] = {}
        self.readonly = False
        self.con: sqlite3.Connection | None = None
        #: why a read command's library was opened read-only although it looked writable
        #: (a full disk, ...), for the caller to show; None otherwise
        self.open_note: str | None = None
        refuse_special_file(self.path)
        refuse_foreign_file(self.path)
        existed = self.path.exists()
        fallback = readonly is None
        if readonly is None:
            readonly = _looks_read_only(self.path)
        elif not readonly and _looks_read_only(self.path):
            raise ReadOnlyLibraryError(self._read_only_message())
        try:
            if readonly:
                self._open_read_only()
            else:
                self._open_read_write()
        except sqlite3.DatabaseError as exc:
            if self.con is not None:
                self.con.close()
                self.con = None
            if fallback and not readonly and not is_damage(exc) and self._fall_back_to_read_only(exc):
                return
            if is_read_only_error(exc) and not readonly:
                raise ReadOnlyLibraryError(self._read_only_message(exc)) from exc
            free = _free_bytes(self.path)
            if free is not None and free < _FULL_BELOW and not is_damage(exc):
                if not _usable_database(self.path):
                    if not existed:
                        self._remove_empty_start()
                    raise LibraryError(self._no_room_message(exc, free)) from exc
                raise LibraryError(self._full_message(exc, free)) from exc
            raise LibraryError(self._unusable_message(exc)) from exc

    @classmethod
    def open_raw(cls, path: str | Path, *, timeout: float = 5.0) -> Store:
        """Open any file read-only without checking or upgrading its schema (for
        ``library check``); raises ``sqlite3.DatabaseError`` when SQLite cannot read it."""
        self = cls.__new__(cls)
        self.path = Path(path)
        self.timeout = timeout
        self.owner = _owner_id()
        self.damaged = {}
        self.readonly = True
        self.con = None
        refuse_special_file(self.path)
        self._connect_read_only()
        return self

    # -- opening ------------------------------------------------------------------------------
    def _read_only_message(self, exc: object = None) -> str:
        why = f" ({exc})" if exc else ""
        return (
            f"{self.path}: the library is read-only{why}; list, search, similar, identify and "
            "info still work, but adding, removing or repairing needs write access"
        )

    def _fall_back_to_read_only(self, exc: sqlite3.DatabaseError) -> bool:
        """A read command whose read-write open failed for another reason than damage (a full
        disk with the -wal/-shm gone gives "disk I/O error"): open read-only instead and keep
        the reason in :attr:`open_note`. False (nothing open) when that fails too."""
        try:
            self._open_read_only()
        except (sqlite3.DatabaseError, LibraryError):
            if self.con is not None:
                self.con.close()
                self.con = None
            self.readonly = False
            return False
        free = _free_bytes(self.path)
        why = (f"the disk holding it is full ({_size_words(free)} free)"
               if free is not None and free < _FULL_BELOW else f"it cannot be written: {exc}")
        self.open_note = f"{self.path}: opened read-only because {why}; adding and removing need space"
        log.warning("%s", self.open_note)
        return True

    def _full_message(self, exc: object, free: int) -> str:
        return (
            f"{self.path}: the disk holding the library is full ({_size_words(free)} free; "
            f"SQLite: {exc}); free some space and run the command again (the library is not "
            "damaged: `library list` still reads it)"
        )

    def _no_room_message(self, exc: object, free: int) -> str:
        return (
            f"no space left to create the library at {self.path} ({_size_words(free)} free; "
            f"SQLite: {exc}); nothing was added: free some space and run the command again"
        )

    def _remove_empty_start(self) -> None:
        """Remove the empty database file (and its -wal/-shm) this open created on a full disk,
        so that later commands say there is no library yet instead of failing on it."""
        files = [Path(f"{self.path}{suffix}") for suffix in ("-wal", "-shm", "")]
        with contextlib.suppress(OSError):
            present = [p for p in files if os.path.lexists(p)]
            if all(stat.S_ISREG(os.lstat(p).st_mode) and os.lstat(p).st_size == 0 for p in present):
                for p in present:  # all empty: nothing of anybody's is lost
                    p.unlink()

    def _unusable_message(self, exc: object) -> str:
        return (
            f"{self.path}: not a usable library database ({exc}); "
            f"run `musicapp library check --db {self.path}` (and --repair)"
        )

    def _setup(self, con: sqlite3.Connection) -> None:
        con.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        con.create_function("text_key", 1, _text_key, deterministic=True)

    def _open_read_write(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReadOnlyLibraryError(self._read_only_message(exc.strerror or exc)) from exc
        self.con = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
        self._setup(self.con)
        self._retry_locked(lambda: self.con.execute("PRAGMA journal_mode=WAL").fetchone())
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def _connect_read_only(self) -> None:
        if not self.path.exists():
            raise LibraryError(f"{self.path}: there is no library database here yet (add a folder first)")
        base = "file:" + quote(os.fsencode(str(self.path.resolve())).decode("latin-1"), safe="/")
        last: Exception | None = None
        for params in ("?mode=ro", "?mode=ro&immutable=1"):
            self.con = sqlite3.connect(base + params, uri=True, timeout=self.timeout, isolation_level=None)
            self._setup(self.con)
            try:
                self.con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return
            except sqlite3.OperationalError as exc:  # WAL without a writable -shm: immutable
                last = exc
                self.con.close()
                self.con = None
        raise last if last else LibraryError(self._unusable_message("cannot open"))

    def _open_read_only(self) -> None:
        self.readonly = True
        self._connect_read_only()
        version = self.version
        self._check_version(version)
        # version 4 lacks only the analysis status columns of 5: read from the JSON instead
        self._v4_status = version == 4 and SCHEMA_VERSION == 5
        if version < SCHEMA_VERSION and not self._v4_status:
            raise ReadOnlyLibraryError(
                f"{self.path}: the library has schema version {version} and needs an upgrade to "
                f"{SCHEMA_VERSION}, which needs write access (run any `musicapp library` command "
                "once where the file can be written)"
            )

    def _retry_locked(self, fn: Callable[[], object]) -> object:
        """Run ``fn``, retrying while another process holds a lock (up to ``timeout``)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- housekeeping -------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        if self.con is not None:
            self.con.close()

    @property
    def version(self) -> int:
        """Schema version stored in the file."""
        return int(self.con.execute("PRAGMA user_version").fetchone()[0])

    def _check_version(self, version: int) -> None:
        if version < 0:
            raise LibraryError(
                f"{self.path}: schema version {version} is impossible (the file header is damaged); "
                f"run `musicapp library check --repair --db {self.path}`"
            )
        if version > SCHEMA_VERSION:
            raise LibraryError(
                f"{self.path}: schema version {version} is newer than this program "
                f"({SCHEMA_VERSION}); upgrade musicapp"
            )

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        """Apply the missing migrations up to ``target`` in one ``BEGIN IMMEDIATE`` transaction.

        The version is read again once the write lock is held, so two processes opening a new or
        old database at once cannot both migrate it."""
        self._check_version(self.version)
        if self.version >= target:
            return
        if self.readonly:
            raise ReadOnlyLibraryError(self._read_only_message())
        with self._transaction():
            current = self.version
            self._check_version(current)
            for version in range(current + 1, target + 1):
                MIGRATIONS[version - 1](self.con)
                self.con.execute(f"PRAGMA user_version = {version}")

    def _transaction(self) -> _Tx:
        if self.readonly:
            raise ReadOnlyLibraryError(self._read_only_message())
        return _Tx(self)

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` result ('ok' when sound)."""
        return str(self.con.execute("PRAGMA integrity_check").fetchone()[0])

    # -- damage-tolerant reading --------------------------------------------------------------
    def _note_damage(self, table: str, key: object) -> None:
        self.damaged.setdefault(table, set()).add(key)

    def damage_summary(self) -> dict[str, int]:
        """``table -> number of rows skipped`` since this store was opened."""
        return {t: len(keys) for t, keys in sorted(self.damaged.items()) if keys}

    def damage_warning(self) -> str | None:
        """One sentence about the skipped rows, or None when none was skipped."""
        summary = self.damage_summary()
        if not summary:
            return None
        parts = ", ".join(f"{n} in {t}" for t, n in summary.items())
        return (
            f"{sum(summary.values())} damaged row(s) skipped ({parts}); "
            f"run `musicapp library check --repair --db {self.path}`"
        )

    def _rows(
        self,
        table: str,
        sql: str,
        one_sql: str,
        params: Sequence = (),
        keys: Callable[[], Iterable] | None = None,
    ) -> Iterator[tuple]:
        """Rows of ``sql`` (ordered by its first column, the key). When SQLite reports damage,
        go on key by key with ``one_sql`` (``WHERE key = ?`` first), skipping unreadable rows."""
        last = None
        try:
            for row in self.con.execute(sql, params):
                last = row[0]
                yield row
            return
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
        for key in (keys or self.track_ids)():
            if last is not None and key <= last:
                continue
            try:
                row = self.con.execute(one_sql, (key, *params)).fetchone()
            except sqlite3.DatabaseError as exc:
                if not is_damage(exc):
                    raise
                self._note_damage(table, key)
                continue
            if row is not None:
                yield row

    def track_ids(self) -> list[int]:
        """Every track id, read from the table or, if it is damaged, from one of its indexes."""
        for sql in (
            "SELECT id FROM tracks ORDER BY id",
            "SELECT id FROM tracks INDEXED BY tracks_status WHERE status IS NOT NULL ORDER BY id",
            "SELECT id FROM tracks INDEXED BY tracks_content_hash WHERE content_hash IS NOT NULL ORDER BY id",
        ):
            try:
                return [int(r[0]) for r in self.con.execute(sql) if isinstance(r[0], int)]
            except sqlite3.DatabaseError as exc:
                if not is_damage(exc) and "no such index" not in str(exc):
                    raise
        raise LibraryError(
            f"{self.path}: the tracks table is damaged beyond reading; "
            f"run `musicapp library check --repair --db {self.path}`"
        )

    def _track(self, row: tuple) -> Track | None:
        tid, path, size, mtime, digest, status, error, missing, title, artist, album = row
        if (
            not isinstance(tid, int)
            or not isinstance(path, str | bytes)
            or not isinstance(size, int)
            or not isinstance(mtime, int)
            or not isinstance(status, str)
        ):
            self._note_damage("tracks", tid)
            return None
        return Track(
            tid,
            py_path(path),
            size,
            mtime,
            str(digest),
            status,
            error if isinstance(error, str) or error is None else str(error),
            missing if isinstance(missing, int | float) else None,
            *(v if isinstance(v, str) else None for v in (title, artist, album)),
        )

    _WHERE: ClassVar[dict] = {
        None: ("1", ()),
        "missing": ("missing_since IS NOT NULL", ()),
        # analysed, and the analysis found music (not silence, too short or damaged)
        "ok": ("status = 'ok' AND missing_since IS NULL AND id NOT IN (SELECT track_id FROM "
               "analysis WHERE status IN ('silence', 'too short', 'damaged'))", ()),
        "truncated": ("missing_since IS NULL AND id IN (SELECT track_id FROM analysis WHERE "
                      "truncated = 1)", ()),
        **{state: ("status = 'ok' AND missing_since IS NULL AND id IN (SELECT track_id FROM "
                   "analysis WHERE status = ?)", (state,)) for state in NOT_MUSIC_STATES},
    }

    _v4_status: bool = False

    def _where(self, status: str | None) -> tuple[str, tuple]:
        """The ``WHERE`` of one state (see :meth:`tracks`)."""
        where, params = self._WHERE.get(status, ("status = ? AND missing_since IS NULL", (status,)))
        if self._v4_status:  # a version-4 file opened read-only: the status from the JSON
            where = where.replace(
                "analysis WHERE status", "analysis WHERE json_valid(json) AND "
                "COALESCE(json_extract(json, '$.status'), 'ok')").replace(
                "truncated = 1", "json_valid(json) AND "
                "instr(lower(COALESCE(json_extract(json, '$.warnings'), '')), 'truncated') > 0")
        return where, params

    def tracks(self, status: str | None = None) -> list[Track]:
        """All tracks, or those in one state: ``pending``/``ok``/``error`` (files present),
        ``missing``, an analysis status (``silence``/``too short``/``damaged``: analysed, but
        no music found; ``ok`` leaves them out) or ``truncated``. Damaged rows are skipped
        (see :attr:`damaged`)."""
        where, params = self._where(status)
        rows = self._rows(
            "tracks",
            f"SELECT {self._COLS} FROM tracks WHERE {where} ORDER BY id",
            f"SELECT {self._COLS} FROM tracks WHERE id = ? AND {where}",
            params,
        )
        return [t for t in map(self._track, rows) if t is not None]

    def track(self, track_id: int) -> Track | None:
        """One track by id."""
        try:
            row = self.con.execute(f"SELECT {self._COLS} FROM tracks WHERE id = ?", (track_id,)).fetchone()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self._note_damage("tracks", track_id)
            return None
        return self._track(row) if row else None

    def _track_by_db_path(self, dbp: str | bytes) -> Track | None:
        row = self.con.execute(f"SELECT {self._COLS} FROM tracks WHERE path = ?", (dbp,)).fetchone()
        return self._track(row) if row else None

    def track_by_path(self, path: str | Path) -> Track | None:
        """One track by absolute path."""
        return self._track_by_db_path(db_path(os.path.realpath(os.fspath(path))))

    def tracks_by_content(self, digest: str) -> list[Track]:
        """Tracks whose file content has this hash."""
        rows = self.con.execute(f"SELECT {self._COLS} FROM tracks WHERE content_hash = ?", (digest,))
        return [t for t in map(self._track, rows) if t is not None]

    def count(self, status: str | None = None) -> int:
        """Number of tracks (in one state, as for :meth:`tracks`)."""
        where, params = self._where(status)
        try:
            return int(self.con.execute(f"SELECT COUNT(*) FROM tracks WHERE {where}", params).fetchone()[0])
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            return len(self.tracks(status))

    # -- removing (explicit only) ---------------------------------------------------------------
    def remove(self, track_ids: Iterable[int]) -> int:
        """Delete tracks (and, by cascade, everything stored for them)."""
        ids = list(track_ids)
        with self._transaction():
            for tid in ids:
                self.con.execute("DELETE FROM tracks WHERE id = ?", (tid,))
        return len(ids)

    def tracks_under(self, root: str | Path) -> list[Track]:
        """Tracks whose path is ``root`` or lies under it (``/`` means every track)."""
        root_s = os.path.abspath(os.fspath(root))
        root_r = os.path.realpath(root_s)
        return [t for t in self.tracks() if _under(t.path, root_s) or _under(t.path, root_r)]

    def remove_under(self, root: str | Path, *, dry_run: bool = False) -> list[str]:
        """Delete every track whose path is ``root`` or lies under it; return their paths."""
        found = self.tracks_under(root)
        if not dry_run:
            self.remove(t.id for t in found)
        return [t.path for t in found]

    def prune_missing(
        self, root: str | Path | None = None, seen: set[str] | None = None, *, dry_run: bool = False
    ) -> list[str]:
        """Delete the tracks (under ``root``) whose files do not exist now; return their paths.

        The explicit counterpart of a scan, which only marks such tracks missing."""
        candidates = self.tracks() if root is None else self.tracks_under(root)
        gone = [t for t in candidates if not (seen and t.path in seen) and is_gone(t.path)]
        if not dry_run:
            self.remove(t.id for t in gone)
        return [t.path for t in gone]

    def _mark_missing(self, tracks: list[Track]) -> None:
        now = time.time()
        with self._transaction():
            for t in tracks:
                self.con.execute(
                    "UPDATE tracks SET missing_since = COALESCE(missing_since, ?) WHERE id = ?", (now, t.id)
                )

    # -- scanning -------------------------------------------------------------------------------
    def scan(self, root: str | Path, *, detect_removed: bool = True) -> ScanResult:
        """Register the regular audio files under ``root`` and reconcile them with the database
        (see :func:`musicapp.library.scanner.scan_folder`: nothing is ever deleted, vanished files
        are marked missing, unusable items are listed in ``skipped``)."""
        from musicapp.library.scanner import scan_folder

        return scan_folder(self, root, detect_removed=detect_removed)

    def _set_tags(self, track_id: int, tags: dict) -> None:
        self.con.execute(
            "UPDATE tracks SET title = ?, artist = ?, album = ?, tags_read = 1 WHERE id = ?",
            (tags.get("title"), tags.get("artist"), tags.get("album"), track_id),
        )

    def _clear_results(self, track_id: int) -> None:
        for table in ("analysis", "fingerprints", "moods", "codes", "embeddings"):
            self.con.execute(f"DELETE FROM {table} WHERE track_id = ?", (track_id,))

    # -- indexing leases ------------------------------------------------------------------------
    def claim_pending(
        self, n: int | None = None, owner: str | None = None, *, lease_s: float = DEFAULT_LEASE_S
    ) -> list[Track]:
        """Claim up to ``n`` (None: all) pending tracks whose files are present, for ``owner``
        (default: this store's :attr:`owner`), in one ``BEGIN IMMEDIATE`` transaction.

        A track claimed by a live run (this owner included, so claiming in batches never hands
        out a track twice) is left to it; a claim older than ``lease_s`` or
        held by a process of this host that has died is taken over. ``save_result`` /
        ``save_error`` end a claim; :meth:`release_claims` ends the rest (call it when a run
        stops early)."""
        owner = owner or self.owner
        now = time.time()
        with self._transaction():
            rows = self.con.execute(
                f"SELECT {self._COLS}, claimed_by, claimed_at FROM tracks "
                "WHERE status = 'pending' AND missing_since IS NULL ORDER BY id"
            ).fetchall()
            taken: list[Track] = []
            for row in rows:
                if n is not None and len(taken) >= n:
                    break
                claimed_by, claimed_at = row[-2], row[-1]
                if not _claim_is_stale(claimed_by, claimed_at, now, lease_s):
                    continue  # held by a live run (this one included: it has it in hand)
                t = self._track(row[:-2])
                if t is not None:
                    taken.append(t)
            for t in taken:
                self.con.execute(
                    "UPDATE tracks SET claimed_by = ?, claimed_at = ? WHERE id = ?", (owner, now, t.id)
                )
        return taken

    def release_claims(self, owner: str | None = None) -> int:
        """End every claim of ``owner`` (default: this store's) on tracks still pending."""
        if self.readonly:
            return 0
        with self._transaction():
            cur = self.con.execute(
                "UPDATE tracks SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?",
                (owner or self.owner,),
            )
        return int(cur.rowcount)

    def pending_count(self) -> int:
        """Pending tracks whose files are present (claimed or not)."""
        return self.count("pending")

    # -- results ------------------------------------------------------------------------------
    def _exists_row(self, track_id: int) -> bool:
        return self.con.execute("SELECT 1 FROM tracks WHERE id = ?", (track_id,)).fetchone() is not None

    def save_result(
        self,
        track_id: int,
        *,
        fingerprint: bytes | None,
        n_hashes: int = 0,
        analysis: dict | None = None,
        duration_s: float | None = None,
        fingerprint_version: int = 0,
    ) -> bool:
        """Store everything computed for one track and mark it ``ok``, in one transaction.

        Returns False (and stores nothing) when the track was removed meanwhile."""
        with self._transaction():
            if not self._exists_row(track_id):
                return False
            self._clear_results(track_id)
            result = dict(analysis or {})
            if duration_s is not None:
                result.setdefault("duration_s", duration_s)
            duration = result.get("duration_s")
            self.con.execute(
                "INSERT INTO analysis(track_id, json, duration_s) VALUES (?, ?, ?)",
                (
                    track_id,
                    json.dumps(result),
                    float(duration)
                    if isinstance(duration, int | float) and math.isfinite(duration)
                    else None,
                ),
            )
            write_analysis_columns(self.con, track_id, result)
            if fingerprint is not None:
                self.con.execute(
                    "INSERT INTO fingerprints(track_id, n_hashes, data, version) VALUES (?, ?, ?, ?)",
                    (track_id, n_hashes, fingerprint, fingerprint_version),
                )
            code = result.get("hash")
            try:
                raw = hex_to_bytes(code) if isinstance(code, str) and code else b""
            except ValueError:  # a malformed code is left out; the rest of the result is kept
                raw = b""
            if raw:
                self.con.execute(
                    "INSERT INTO codes(track_id, n_bits, code) VALUES (?, ?, ?)",
                    (track_id, len(raw) * 8, raw),
                )
            emb = result.get("embedding")
            if emb:
                vec = np.asarray(emb, dtype="<f4").reshape(-1)
                self.con.execute(
                    "INSERT INTO embeddings(track_id, dim, vector) VALUES (?, ?, ?)",
                    (track_id, int(vec.size), vec.tobytes()),
                )
            self.con.execute(
                "UPDATE tracks SET status = 'ok', error = NULL, claimed_by = NULL, claimed_at = NULL, "
                "updated_at = ? WHERE id = ?",
                (time.time(), track_id),
            )
        return True

    def save_error(self, track_id: int, error: str) -> bool:
        """Record that a track could not be analysed (it is skipped until its file changes)."""
        with self._transaction():
            if not self._exists_row(track_id):
                return False
            self._clear_results(track_id)
            self.con.execute(
                "UPDATE tracks SET status = 'error', error = ?, claimed_by = NULL, claimed_at = NULL, "
                "updated_at = ? WHERE id = ?",
                (db_text(error), time.time(), track_id),
            )
        return True

    def requeue_stale_fingerprints(self, version: int) -> int:
        """Put ``ok`` tracks whose fingerprint has another format version back to ``pending``."""
        if self.readonly:
            return 0
        with self._transaction():
            cur = self.con.execute(
                "UPDATE tracks SET status = 'pending' WHERE status = 'ok' AND id IN "
                "(SELECT track_id FROM fingerprints WHERE version != ?)",
                (version,),
            )
        return int(cur.rowcount)

    def requeue_stale_analyses(self, model_version: int) -> int:
        """Put ``ok`` tracks whose stored tagger part comes from another tagger version
        (``model_version``; absent = 1, before the level-normalised input) back to ``pending``,
        so their moods, valence/arousal and codes are recomputed. Tracks without a tagger part
        (silence, fingerprints only, a failed tagger) are left alone."""
        if self.readonly:
            return 0
        with self._transaction():
            cur = self.con.execute(
                "UPDATE tracks SET status = 'pending' WHERE status = 'ok' AND id IN "
                "(SELECT track_id FROM analysis WHERE json_valid(json) "
                "AND json_extract(json, '$.model') IS NOT NULL "
                "AND COALESCE(json_extract(json, '$.model_version'), 1) != ?)",
                (int(model_version),),
            )
        return int(cur.rowcount)

    def retry_errors(self) -> int:
        """Put every ``error`` track back to ``pending``."""
        with self._transaction():
            cur = self.con.execute(
                "UPDATE tracks SET status = 'pending', error = NULL WHERE status = 'error'"
            )
        return int(cur.rowcount)

    def analysis(self, track_id: int) -> dict | None:
        """The stored analysis dict of a track (None when absent, unreadable or not a JSON
        object: such a row is counted in :attr:`damaged`)."""
        try:
            found = self.con.execute("SELECT json FROM analysis WHERE track_id = ?", (track_id,)).fetchone()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self._note_damage("analysis", track_id)
            return None
        if not found:
            return None
        try:
            value = json.loads(found[0])
        except (TypeError, ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            self._note_damage("analysis", track_id)
            return None
        return value

    def iter_fingerprints(self) -> Iterator[tuple[int, bytes, int]]:
        """``(track_id, packed fingerprint, format version)`` of every ``ok`` track."""
        for tid, blob, version in self._rows(
            "fingerprints",
            "SELECT f.track_id, f.data, f.version FROM fingerprints f JOIN tracks t ON t.id = f.track_id "
            "WHERE t.status = 'ok' ORDER BY f.track_id",
            "SELECT f.track_id, f.data, f.version FROM fingerprints f JOIN tracks t ON t.id = f.track_id "
            "WHERE f.track_id = ? AND t.status = 'ok'",
        ):
            if not isinstance(blob, bytes) or not isinstance(version, int):
                self._note_damage("fingerprints", tid)
                continue
            yield tid, blob, version

    def codes(self) -> tuple[np.ndarray, list[bytes], int]:
        """``(track_ids, raw codes, n_bits)`` of the most common code length (codes whose blob
        does not hold ``n_bits`` are damaged: skipped and counted)."""
        rows = []
        for tid, code, bits in self._rows(
            "codes",
            "SELECT c.track_id, c.code, c.n_bits FROM codes c JOIN tracks t ON t.id = c.track_id "
            "WHERE t.status = 'ok' ORDER BY c.track_id",
            "SELECT c.track_id, c.code, c.n_bits FROM codes c JOIN tracks t ON t.id = c.track_id "
            "WHERE c.track_id = ? AND t.status = 'ok'",
        ):
            if not isinstance(code, bytes) or not isinstance(bits, int) or bits <= 0 or len(code) * 8 != bits:
                self._note_damage("codes", tid)
                continue
            rows.append((tid, code, bits))
        if not rows:
            return np.zeros(0, np.int64), [], 0
        bits = int(np.bincount([r[2] for r in rows]).argmax())
        rows = [r for r in rows if r[2] == bits]
        return np.array([r[0] for r in rows], np.int64), [r[1] for r in rows], bits

    def embeddings(self) -> dict[int, np.ndarray]:
        """``track_id -> float32 vector`` (damaged vectors skipped and counted)."""
        out = {}
        for tid, dim, blob in self._rows(
            "embeddings",
            "SELECT track_id, dim, vector FROM embeddings ORDER BY track_id",
            "SELECT track_id, dim, vector FROM embeddings WHERE track_id = ?",
        ):
            if not isinstance(blob, bytes) or not isinstance(dim, int) or dim <= 0 or len(blob) != 4 * dim:
                self._note_damage("embeddings", tid)
                continue
            vec = np.frombuffer(blob, dtype="<f4").astype(np.float32)
            if not np.all(np.isfinite(vec)):
                self._note_damage("embeddings", tid)
                continue
            out[int(tid)] = vec
        return out

    def known_moods(self) -> list[str]:
        """The distinct mood tags stored in the library (lower case)."""
        try:
            rows = self.con.execute("SELECT DISTINCT lower(tag) FROM moods ORDER BY 1").fetchall()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self._note_damage("moods", None)
            return []
        return [r[0] for r in rows if isinstance(r[0], str)]

    def filter_ids(
        self,
        *,
        mood: str | None = None,
        mood_percentile: float = 70.0,
        tonic: str | None = None,
        mode: str | None = None,
        bpm: tuple[float, float] | None = None,
        duration: tuple[float, float] | None = None,
        text: str | None = None,
        mood_tags: Sequence[str] | None = None,
        bpm_levels: bool = False,
    ) -> list[int]:
        """Ids of ``ok`` tracks passing every given filter (see ``search.parse_*``). ``mood`` (one
        tag) or ``mood_tags`` (any of them) at ``mood_percentile`` or above; ``text`` matches,
        case-insensitively, a part of the title, artist, album or path. With ``bpm_levels`` a
        track also passes ``bpm`` when a half/double tempo its analysis lists (with a score
        above 0) is in the range (see :mod:`musicapp.library.tempo_levels`)."""
        sql: list[str] = []
        params: list = []
        tags = [t.lower() for t in (mood_tags or ([mood] if mood else []))]
        if tags:
            sql.append(
                "AND EXISTS (SELECT 1 FROM moods m WHERE m.track_id = t.id AND lower(m.tag) IN "
                "(SELECT value FROM json_each(?)) "
                "AND (m.percentile >= ? OR (m.percentile IS NULL AND (SELECT COUNT(*) FROM moods "
                "m2 WHERE m2.track_id = t.id AND m2.score > m.score) < 3)))"
            )
            params += [json.dumps(tags), mood_percentile]
        if tonic:
            sql.append("AND a.key_tonic IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(_enharmonics(tonic)))
        if mode:
            sql.append("AND lower(a.key_mode) = ?")
            params.append(mode.lower())
        if bpm and bpm_levels:
            sql.append(f"AND (a.tempo_bpm BETWEEN ? AND ? OR (a.tempo_bpm IS NOT NULL AND {_LEVEL_SQL}))")
            params += [*bpm, *bpm]
        elif bpm:
            sql.append("AND a.tempo_bpm BETWEEN ? AND ?")
            params += list(bpm)
        if duration:
            sql.append("AND a.duration_s BETWEEN ? AND ?")
            params += list(duration)
        if text:
            sql.append(
                "AND (instr(text_key(t.title), ?) OR instr(text_key(t.artist), ?) "
                "OR instr(text_key(t.album), ?) OR instr(text_key(t.path), ?))"
            )
            params += [text.casefold()] * 4
        head = "SELECT t.id FROM tracks t LEFT JOIN analysis a ON a.track_id = t.id WHERE"
        tail = " ".join(sql)
        rows = self._rows(
            "analysis",
            f"{head} t.status = 'ok' {tail} ORDER BY t.id",
            f"{head} t.id = ? AND t.status = 'ok' {tail}",
            params,
        )
        return [int(r[0]) for r in rows]

    def mood_percentiles(self, tags: Sequence[str]) -> dict[int, float]:
        """``track_id -> best percentile`` (score when no percentile is stored) among ``tags``."""
        out: dict[int, float] = {}
        for tid, pct in self._rows(
            "moods",
            "SELECT track_id, MAX(COALESCE(percentile, score)) FROM moods "
            "WHERE lower(tag) IN (SELECT value FROM json_each(?)) GROUP BY track_id ORDER BY track_id",
            "SELECT track_id, MAX(COALESCE(percentile, score)) FROM moods "
            "WHERE track_id = ? AND lower(tag) IN (SELECT value FROM json_each(?))",
            [json.dumps([t.lower() for t in tags])],
        ):
            if isinstance(tid, int) and isinstance(pct, int | float):
                out[tid] = float(pct)
        return out

    def stats(self) -> dict:
        """Counts and the database size (a total that damage makes unreadable is None)."""

        def one(table: str, sql: str) -> float | None:
            try:
                value = self.con.execute(sql).fetchone()[0]
            except sqlite3.DatabaseError as exc:
                if not is_damage(exc):
                    raise
                self._note_damage(table, "total")
                return None
            return float(value) if isinstance(value, int | float) else 0.0

        fp_bytes = one("fingerprints", "SELECT COALESCE(SUM(length(data)), 0) FROM fingerprints")
        seconds = one("analysis", "SELECT COALESCE(SUM(duration_s), 0) FROM analysis")
        codes = one("codes", "SELECT COUNT(*) FROM codes")
        embeddings = one("embeddings", "SELECT COUNT(*) FROM embeddings")
        return {
            "db": str(self.path),
            "schema_version": self.version,
            "read_only": self.readonly,
            "tracks": self.count(),
            "ok": self.count("ok"),
            "pending": self.count("pending"),
            "error": self.count("error"),
            "missing": self.count("missing"),
            **{state: self.count(state) for state in (*NOT_MUSIC_STATES, "truncated")},
            "fingerprint_bytes": None if fp_bytes is None else int(fp_bytes),
            "audio_hours": None if seconds is None else seconds / 3600.0,
            "codes": None if codes is None else int(codes),
            "embeddings": None if embeddings is None else int(embeddings),
        }


def _enharmonics(tonic: str) -> list[str]:
    """Spellings of the same pitch class (``Db`` -> ``['C#', 'Db']``), by
    :func:`musicapp.pitch.enharmonics`."""
    try:
        return enharmonics(tonic.strip())
    except PitchError:
        raise LibraryError(f"unknown key tonic {tonic!r}") from None


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT / ROLLBACK on an autocommit connection; a read-only file gives
    :class:`ReadOnlyLibraryError`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.con = store.con

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_read_only_error(exc):
                raise ReadOnlyLibraryError(self.store._read_only_message(exc)) from exc
            raise
        return self.con

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.con.execute("COMMIT")
            except sqlite3.OperationalError as err:
                # a failed COMMIT (disk full, I/O error) may already have rolled back: a second
                # ROLLBACK would raise "no transaction is active" and hide the real error
                self._rollback()
                if is_read_only_error(err):
                    raise ReadOnlyLibraryError(self.store._read_only_message(err)) from err
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        """Roll back if a transaction is still open; a failing ROLLBACK never hides the error
        being raised."""
        if self.con.in_transaction:
            try:
                self.con.execute("ROLLBACK")
            except sqlite3.Error:
                log.warning("ROLLBACK failed on %s", self.store.path, exc_info=True)
