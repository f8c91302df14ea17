"""``musicapp library check [--repair]``: find damage in the library database and keep what can be kept.

:func:`check_database` opens the file read-only and runs ``PRAGMA integrity_check`` plus checks
of every row that SQLite's check cannot judge: analysis JSON that does not parse to an object,
hash codes and embeddings whose blob length does not match, fingerprints that do not unpack, and
the schema version. It writes nothing.

:func:`repair_database` copies everything readable and valid into a fresh database (row by row,
so a damaged page loses only its own rows), puts every track that lost a result back to
``pending`` (``library add`` recomputes it from the audio file; what was kept stays meanwhile),
keeps the old file as ``<name>.damaged-<time>`` (never deleted) and moves the new one into place.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from musicapp.library.schema import SCHEMA_VERSION, write_analysis_columns
from musicapp.library.store import (
    LibraryError,
    ReadOnlyLibraryError,
    Store,
    _looks_read_only,
    is_damage,
    refuse_foreign_file,
)

RESULT_TABLES = ("analysis", "fingerprints", "codes", "embeddings")


@dataclass
class CheckReport:
    """What :func:`check_database` found."""

    db: str
    opened: bool = True
    schema_version: int | None = None
    integrity: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "db": self.db,
            "ok": self.ok,
            "opened": self.opened,
            "schema_version": self.schema_version,
            "integrity": self.integrity,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "problems": self.problems,
        }


@dataclass
class RepairReport:
    """What :func:`repair_database` kept and lost."""

    db: str
    backup: str
    kept: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    requeued: int = 0
    integrity_after: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "db": self.db,
            "backup": self.backup,
            "kept": self.kept,
            "lost": self.lost,
            "requeued": self.requeued,
            "integrity_after": self.integrity_after,
            "notes": self.notes,
        }


def _json_object(text: object) -> dict | None:
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _fingerprint_ok(blob: object, version: object) -> bool:
    from musicapp.library import fingerprint as fp

    if not isinstance(blob, bytes) or not isinstance(version, int):
        return False
    if version != fp.FINGERPRINT_VERSION:
        return True  # an older format: valid, recomputed by the next `library add`
    try:
        fp.Fingerprint.unpack(blob)
    except Exception:  # any damaged blob
        return False
    return True


def _code_ok(blob: object, n_bits: object) -> bool:
    return isinstance(blob, bytes) and isinstance(n_bits, int) and n_bits > 0 and len(blob) * 8 == n_bits


def _embedding_ok(blob: object, dim: object) -> bool:
    if not (isinstance(blob, bytes) and isinstance(dim, int) and dim > 0 and len(blob) == 4 * dim):
        return False
    import numpy as np

    return bool(np.all(np.isfinite(np.frombuffer(blob, dtype="<f4"))))


_VALIDATE = {
    "analysis": ("SELECT track_id, json FROM analysis", lambda r: _json_object(r[1]) is not None),
    "fingerprints": (
        "SELECT track_id, data, version FROM fingerprints",
        lambda r: _fingerprint_ok(r[1], r[2]),
    ),
    "codes": ("SELECT track_id, code, n_bits FROM codes", lambda r: _code_ok(r[1], r[2])),
    "embeddings": ("SELECT track_id, vector, dim FROM embeddings", lambda r: _embedding_ok(r[1], r[2])),
}


def check_database(path: str | Path) -> CheckReport:
    """Check a library database without writing to it."""
    report = CheckReport(str(path))
    if not Path(path).exists():
        raise LibraryError(f"{path}: no such library database")
    refuse_foreign_file(path)  # never a library: nothing to check or repair
    try:
        store = Store.open_raw(path)
        report.schema_version = store.version
    except (sqlite3.DatabaseError, LibraryError) as exc:
        report.opened = False
        report.problems.append(f"SQLite cannot open the file ({exc})")
        return report
    try:
        version = report.schema_version
        if version < 0 or version > SCHEMA_VERSION:
            report.problems.append(f"schema version {version} is impossible for this program")
        try:
            report.integrity = [str(r[0]) for r in store.con.execute("PRAGMA integrity_check(100)")]
        except sqlite3.DatabaseError as exc:
            report.integrity = [str(exc)]
        if report.integrity != ["ok"]:
            report.problems.append(f"integrity_check: {len(report.integrity)} problem(s)")
        if version > 0:
            _check_rows(store, report)
    finally:
        store.close()
    return report


def _check_rows(store: Store, report: CheckReport) -> None:
    try:
        ids = store.track_ids()
    except LibraryError as exc:
        report.problems.append(str(exc))
        return
    tracks = 0
    for _ in store._rows("tracks", "SELECT id FROM tracks ORDER BY id", "SELECT id FROM tracks WHERE id = ?"):
        tracks += 1
    report.rows["tracks"] = tracks
    tables = _table_names(store)
    for table, (select, valid) in _VALIDATE.items():
        if table not in tables:
            continue  # an older schema
        n = 0
        for row in store._rows(
            table, f"{select} ORDER BY track_id", f"{select} WHERE track_id = ?", keys=lambda: ids
        ):
            n += 1
            if not valid(row):
                store._note_damage(table, row[0])
        report.rows[table] = n
    report.bad_rows = store.damage_summary()
    for table, n in report.bad_rows.items():
        report.problems.append(f"{n} damaged row(s) in {table}")


def _table_names(store: Store) -> set[str]:
    try:
        return {str(r[0]) for r in store.con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return set(RESULT_TABLES)


def _copy_tracks(src: Store, dst: sqlite3.Connection, report: RepairReport) -> dict[int, str]:
    """Copy every readable track row; return ``id -> status`` of the copied tracks."""
    cols = "id, path, size, mtime_ns, content_hash, status, error, added_at, updated_at"
    extra = ["missing_since", "title", "artist", "album", "tags_read"]
    try:
        have = {str(r[1]) for r in src.con.execute("PRAGMA table_info(tracks)")}
    except sqlite3.DatabaseError:
        have = set()
    extra = [c for c in extra if c in have]
    select = ", ".join([cols, *extra])
    copied: dict[int, str] = {}
    lost = 0
    for row in src._rows(
        "tracks", f"SELECT {select} FROM tracks ORDER BY id", f"SELECT {select} FROM tracks WHERE id = ?"
    ):
        tid, path, size, mtime, digest, status, error, added, updated, *rest = row
        if not (
            isinstance(tid, int)
            and isinstance(path, str | bytes)
            and isinstance(size, int)
            and isinstance(mtime, int)
            and isinstance(digest, str)
        ):
            lost += 1
            continue
        status = status if status in ("pending", "ok", "error") else "pending"
        values = dict(zip(extra, rest, strict=True))
        now = time.time()
        try:
            dst.execute(
                "INSERT INTO tracks(id, path, size, mtime_ns, content_hash, status, error, added_at, "
                "updated_at, missing_since, title, artist, album, tags_read) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tid,
                    path,
                    size,
                    mtime,
                    digest,
                    status,
                    error if isinstance(error, str) else None,
                    added if isinstance(added, int | float) else now,
                    updated if isinstance(updated, int | float) else now,
                    values.get("missing_since")
                    if isinstance(values.get("missing_since"), int | float)
                    else None,
                    *(
                        values.get(k) if isinstance(values.get(k), str) else None
                        for k in ("title", "artist", "album")
                    ),
                    1 if values.get("tags_read") == 1 else 0,
                ),
            )
        except sqlite3.IntegrityError:  # a damaged duplicate path
            lost += 1
            continue
        copied[tid] = status
    lost += src.damage_summary().get("tracks", 0)
    report.kept["tracks"], report.lost["tracks"] = len(copied), lost
    return copied


def _copy_results(
    src: Store, dst: sqlite3.Connection, copied: dict[int, str], report: RepairReport
) -> set[int]:
    """Copy the valid result rows of the copied tracks; return the ids that lost one."""
    lost_ids: set[int] = set()
    has_table = _table_names(src)
    ids = sorted(copied)
    for table in RESULT_TABLES:
        kept = lost = 0
        if table not in has_table:
            continue
        select, valid = _VALIDATE[table]
        if table == "analysis":
            select = "SELECT track_id, json, duration_s FROM analysis"
        if table == "fingerprints":
            select = "SELECT track_id, data, version, n_hashes FROM fingerprints"
        before = len(src.damaged.get(table, ()))
        for row in src._rows(
            table, f"{select} ORDER BY track_id", f"{select} WHERE track_id = ?", keys=lambda: ids
        ):
            tid = row[0]
            if tid not in copied:
                continue
            if not valid(row):
                lost += 1
                lost_ids.add(tid)
                continue
            if table == "analysis":
                result = _json_object(row[1]) or {}
                duration = row[2] if isinstance(row[2], int | float) and math.isfinite(row[2]) else None
                dst.execute(
                    "INSERT INTO analysis(track_id, json, duration_s) VALUES (?, ?, ?)",
                    (tid, row[1], duration),
                )
                write_analysis_columns(dst, tid, result)
            elif table == "fingerprints":
                n_hashes = row[3] if isinstance(row[3], int) else 0
                dst.execute(
                    "INSERT INTO fingerprints(track_id, n_hashes, data, version) VALUES (?, ?, ?, ?)",
                    (tid, n_hashes, row[1], row[2]),
                )
            elif table == "codes":
                dst.execute(
                    "INSERT INTO codes(track_id, n_bits, code) VALUES (?, ?, ?)", (tid, row[2], row[1])
                )
            else:
                dst.execute(
                    "INSERT INTO embeddings(track_id, dim, vector) VALUES (?, ?, ?)", (tid, row[2], row[1])
                )
            kept += 1
        unreadable = src.damaged.get(table, set())
        lost += len(unreadable) - before
        lost_ids.update(k for k in unreadable if isinstance(k, int) and k in copied)
        report.kept[table], report.lost[table] = kept, lost
    return lost_ids


def repair_database(path: str | Path) -> RepairReport:
    """Copy everything readable into a fresh database, keep the old file as a backup, and move
    the new one into place. Tracks that lost a result go back to ``pending``."""
    path = Path(path)
    if not path.exists():
        raise LibraryError(f"{path}: no such library database")
    refuse_foreign_file(path)  # a text file is never renamed to .damaged-… and replaced
    if _looks_read_only(path):
        raise ReadOnlyLibraryError(f"{path}: the library is read-only; a repair needs write access")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.damaged-{stamp}")
    fresh = path.with_name(f"{path.name}.repair-{stamp}")
    report = RepairReport(str(path), str(backup))
    lock = _hold_write_lock(path)
    try:
        try:
            src: Store | None = Store.open_raw(path)
            src.con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except (sqlite3.DatabaseError, LibraryError) as exc:
            src = None
            report.notes.append(f"nothing could be read from the old file ({exc}); the new library is empty")
        with Store(fresh) as dst:
            dst.con.execute("BEGIN IMMEDIATE")
            if src is not None:
                try:
                    copied = _copy_tracks(src, dst.con, report)
                    lost_ids = _copy_results(src, dst.con, copied, report)
                except LibraryError as exc:  # even the track ids are unreadable
                    report.notes.append(str(exc))
                    copied, lost_ids = {}, set()
                requeue = set(lost_ids)
                no_analysis = dst.con.execute(
                    "SELECT id FROM tracks WHERE status = 'ok' AND id NOT IN (SELECT track_id FROM analysis)"
                ).fetchall()
                requeue.update(r[0] for r in no_analysis)
                for tid in sorted(requeue):  # what was kept stays until the re-analysis replaces it
                    dst.con.execute("UPDATE tracks SET status = 'pending', error = NULL WHERE id = ?", (tid,))
                report.requeued = len(requeue)
                src.close()
            dst.con.execute("COMMIT")
            report.integrity_after = dst.integrity_check()
    finally:
        if lock is not None:
            lock.close()
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            os.replace(old, f"{backup}{suffix}")
    os.replace(fresh, path)
    return report


def _hold_write_lock(path: Path) -> sqlite3.Connection | None:
    """Keep other writers out while copying (best effort: a badly damaged file may refuse)."""
    try:
        con = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        return con
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc) and "locked" in str(exc):
            raise LibraryError(f"{path}: another musicapp process is writing the library; try again") from exc
        return None
