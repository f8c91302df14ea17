"""The library database: one SQLite file (WAL mode) with a schema version and migrations.

Tables: ``tracks`` (path, size, mtime, content hash, status pending/ok/error, error text),
``analysis`` (the ``analyze --json`` dict plus indexed key/tempo/duration columns), ``moods``,
``codes`` (binary hash codes), ``embeddings`` (float32 vectors) and ``fingerprints`` (landmark
hashes of one track as a packed blob). ``PRAGMA user_version`` holds the schema version; each
migration runs in its own transaction. Every write method commits its own transaction, so a
crash loses at most the write in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicapp.errors import MusicappError
from musicapp.hashcode import hex_to_bytes

DB_FILENAME = "library.sqlite3"
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aif", ".aiff", ".aac", ".wma"}
)


class LibraryError(MusicappError):
    """The library database is unusable or a request on it is invalid."""


def default_db_path() -> Path:
    """``library.sqlite3`` in :func:`musicapp.paths.user_data_dir`."""
    from musicapp.paths import user_data_dir

    return user_data_dir() / DB_FILENAME


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """BLAKE2b-128 hex digest of a file's bytes."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _script(con: sqlite3.Connection, sql: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript`` would
    commit it)."""
    for statement in sql.split(";"):
        if statement.strip():
            con.execute(statement)


def _v1(con: sqlite3.Connection) -> None:
    _script(
        con,
        """
        CREATE TABLE tracks (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'error')),
            error TEXT,
            added_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX tracks_content_hash ON tracks(content_hash);
        CREATE INDEX tracks_status ON tracks(status);
        CREATE TABLE analysis (
            track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
            json TEXT NOT NULL,
            duration_s REAL
        );
        CREATE TABLE fingerprints (
            track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
            n_hashes INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        """,
    )


def _v2(con: sqlite3.Connection) -> None:
    _script(
        con,
        """
        ALTER TABLE analysis ADD COLUMN tempo_bpm REAL;
        ALTER TABLE analysis ADD COLUMN key_tonic TEXT;
        ALTER TABLE analysis ADD COLUMN key_mode TEXT;
        CREATE TABLE moods (
            track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            score REAL,
            percentile REAL,
            PRIMARY KEY (track_id, tag)
        );
        CREATE INDEX moods_tag ON moods(tag);
        CREATE TABLE codes (
            track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
            n_bits INTEGER NOT NULL,
            code BLOB NOT NULL
        );
        CREATE TABLE embeddings (
            track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL
        );
        """,
    )
    # Fill the new columns from analyses stored by version 1.
    rows = con.execute("SELECT track_id, json FROM analysis").fetchall()
    for track_id, text in rows:
        _write_analysis_columns(con, track_id, json.loads(text))


def _v3(con: sqlite3.Connection) -> None:
    # Landmark format version: fingerprints of another version are recomputed on the next run.
    con.execute("ALTER TABLE fingerprints ADD COLUMN version INTEGER NOT NULL DEFAULT 1")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3]
SCHEMA_VERSION = len(MIGRATIONS)


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


@dataclass
class ScanResult:
    """What a folder scan changed."""

    added: list[str]
    changed: list[str]
    moved: list[tuple[str, str]]  # (old path, new path)
    removed: list[str]
    unchanged: int

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "added": self.added,
            "changed": self.changed,
            "moved": [list(m) for m in self.moved],
            "removed": self.removed,
            "unchanged": self.unchanged,
        }


def _write_analysis_columns(con: sqlite3.Connection, track_id: int, result: dict) -> None:
    key = result.get("key") or {}
    con.execute(
        "UPDATE analysis SET tempo_bpm = ?, key_tonic = ?, key_mode = ? WHERE track_id = ?",
        (result.get("tempo_bpm"), key.get("tonic"), key.get("mode"), track_id),
    )
    con.execute("DELETE FROM moods WHERE track_id = ?", (track_id,))
    for mood in result.get("moods") or []:
        con.execute(
            "INSERT OR REPLACE INTO moods(track_id, tag, score, percentile) VALUES (?, ?, ?, ?)",
            (track_id, mood.get("tag"), mood.get("score"), mood.get("percentile")),
        )


def iter_audio_files(root: str | Path) -> Iterator[Path]:
    """Audio files under ``root`` (recursive, sorted, by extension)."""
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() in AUDIO_EXTENSIONS:
            yield root.resolve()
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                yield (Path(dirpath) / name).resolve()


class Store:
    """A connection to the library database. Use as a context manager or call ``close``."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 30.0) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=NORMAL")
            self.con.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"{self.path}: not a usable library database ({exc})") from exc

    # -- housekeeping -------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    @property
    def version(self) -> int:
        """Schema version stored in the file."""
        return int(self.con.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        """Apply the missing migrations up to ``target``, each in its own transaction."""
        current = self.version
        if current > SCHEMA_VERSION:
            raise LibraryError(
                f"{self.path}: schema version {current} is newer than this program "
                f"({SCHEMA_VERSION}); upgrade musicapp"
            )
        for version in range(current + 1, target + 1):
            with self._transaction():
                MIGRATIONS[version - 1](self.con)
                self.con.execute(f"PRAGMA user_version = {version}")

    def _transaction(self) -> _Tx:
        return _Tx(self.con)

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` result ('ok' when sound)."""
        return str(self.con.execute("PRAGMA integrity_check").fetchone()[0])

    # -- tracks -------------------------------------------------------------------------------
    def _row(self, row: tuple) -> Track:
        return Track(*row)

    _COLS = "id, path, size, mtime_ns, content_hash, status, error"

    def tracks(self, status: str | None = None) -> list[Track]:
        """All tracks, optionally only those with ``status``."""
        if status is None:
            rows = self.con.execute(f"SELECT {self._COLS} FROM tracks ORDER BY id")
        else:
            rows = self.con.execute(
                f"SELECT {self._COLS} FROM tracks WHERE status = ? ORDER BY id", (status,)
            )
        return [self._row(r) for r in rows]

    def track(self, track_id: int) -> Track | None:
        """One track by id."""
        row = self.con.execute(f"SELECT {self._COLS} FROM tracks WHERE id = ?", (track_id,))
        found = row.fetchone()
        return self._row(found) if found else None

    def track_by_path(self, path: str | Path) -> Track | None:
        """One track by absolute path."""
        row = self.con.execute(
            f"SELECT {self._COLS} FROM tracks WHERE path = ?", (str(Path(path).resolve()),)
        ).fetchone()
        return self._row(row) if row else None

    def tracks_by_content(self, digest: str) -> list[Track]:
        """Tracks whose file content has this hash."""
        rows = self.con.execute(f"SELECT {self._COLS} FROM tracks WHERE content_hash = ?", (digest,))
        return [self._row(r) for r in rows]

    def count(self, status: str | None = None) -> int:
        """Number of tracks (with ``status``)."""
        if status is None:
            return int(self.con.execute("SELECT COUNT(*) FROM tracks").fetchone()[0])
        return int(self.con.execute("SELECT COUNT(*) FROM tracks WHERE status = ?", (status,)).fetchone()[0])

    def remove(self, track_ids: Iterable[int]) -> int:
        """Delete tracks (and, by cascade, everything stored for them)."""
        ids = list(track_ids)
        with self._transaction():
            for tid in ids:
                self.con.execute("DELETE FROM tracks WHERE id = ?", (tid,))
        return len(ids)

    def remove_under(self, root: str | Path) -> list[str]:
        """Delete every track whose path is ``root`` or lies under it; return their paths."""
        root_s = str(Path(root).resolve())
        rows = self.con.execute(
            "SELECT id, path FROM tracks WHERE path = ? OR substr(path, 1, ?) = ?",
            (root_s, len(root_s) + 1, root_s.rstrip(os.sep) + os.sep),
        ).fetchall()
        self.remove(r[0] for r in rows)
        return [r[1] for r in rows]

    def scan(self, root: str | Path, *, detect_removed: bool = True) -> ScanResult:
        """Register the audio files under ``root`` and reconcile them with the database.

        Unchanged files (same size and mtime) are skipped; a new path whose content hash equals
        a track whose file is gone is a move (its analysis is kept); tracks under ``root`` whose
        files disappeared are removed. New and changed files become ``pending``.
        """
        root_p = Path(root).resolve()
        if not root_p.exists():
            raise LibraryError(f"{root_p}: no such file or folder")
        result = ScanResult([], [], [], [], 0)
        seen: set[str] = set()
        for path in iter_audio_files(root_p):
            p = str(path)
            seen.add(p)
            try:
                st = path.stat()
            except OSError:
                continue
            existing = self.track_by_path(p)
            if existing and existing.size == st.st_size and existing.mtime_ns == st.st_mtime_ns:
                result.unchanged += 1
                continue
            digest = content_hash(path)
            now = time.time()
            with self._transaction():
                if existing:
                    if existing.content_hash == digest:
                        self.con.execute(
                            "UPDATE tracks SET size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
                            (st.st_size, st.st_mtime_ns, now, existing.id),
                        )
                        result.unchanged += 1
                        continue
                    self._clear_results(existing.id)
                    self.con.execute(
                        "UPDATE tracks SET size = ?, mtime_ns = ?, content_hash = ?, "
                        "status = 'pending', error = NULL, updated_at = ? WHERE id = ?",
                        (st.st_size, st.st_mtime_ns, digest, now, existing.id),
                    )
                    result.changed.append(p)
                    continue
                moved_from = next(
                    (t for t in self.tracks_by_content(digest) if not Path(t.path).exists()), None
                )
                if moved_from is not None:
                    self.con.execute(
                        "UPDATE tracks SET path = ?, size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
                        (p, st.st_size, st.st_mtime_ns, now, moved_from.id),
                    )
                    result.moved.append((moved_from.path, p))
                    continue
                self.con.execute(
                    "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, "
                    "updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                    (p, st.st_size, st.st_mtime_ns, digest, now, now),
                )
                result.added.append(p)
        if detect_removed:
            result.removed = self.prune_missing(root_p, seen)
        return result

    def prune_missing(self, root: str | Path | None = None, seen: set[str] | None = None) -> list[str]:
        """Remove tracks (under ``root``) whose files no longer exist; return their paths."""
        gone = []
        prefix = None if root is None else str(Path(root).resolve()).rstrip(os.sep) + os.sep
        for t in self.tracks():
            if prefix is not None and not t.path.startswith(prefix) and t.path != prefix[:-1]:
                continue
            if (seen is not None and t.path in seen) or Path(t.path).exists():
                continue
            gone.append(t)
        self.remove(t.id for t in gone)
        return [t.path for t in gone]

    def _clear_results(self, track_id: int) -> None:
        for table in ("analysis", "fingerprints", "moods", "codes", "embeddings"):
            self.con.execute(f"DELETE FROM {table} WHERE track_id = ?", (track_id,))

    # -- results ------------------------------------------------------------------------------
    def save_result(
        self,
        track_id: int,
        *,
        fingerprint: bytes | None,
        n_hashes: int = 0,
        analysis: dict | None = None,
        duration_s: float | None = None,
        fingerprint_version: int = 0,
    ) -> None:
        """Store everything computed for one track and mark it ``ok``, in one transaction."""
        with self._transaction():
            self._clear_results(track_id)
            result = dict(analysis or {})
            if duration_s is not None:
                result.setdefault("duration_s", duration_s)
            self.con.execute(
                "INSERT INTO analysis(track_id, json, duration_s) VALUES (?, ?, ?)",
                (track_id, json.dumps(result), result.get("duration_s")),
            )
            _write_analysis_columns(self.con, track_id, result)
            if fingerprint is not None:
                self.con.execute(
                    "INSERT INTO fingerprints(track_id, n_hashes, data, version) VALUES (?, ?, ?, ?)",
                    (track_id, n_hashes, fingerprint, fingerprint_version),
                )
            code = result.get("hash")
            if code:
                raw = hex_to_bytes(code)
                self.con.execute(
                    "INSERT INTO codes(track_id, n_bits, code) VALUES (?, ?, ?)",
                    (track_id, len(code) * 4, raw),
                )
            emb = result.get("embedding")
            if emb:
                vec = np.asarray(emb, dtype="<f4")
                self.con.execute(
                    "INSERT INTO embeddings(track_id, dim, vector) VALUES (?, ?, ?)",
                    (track_id, int(vec.size), vec.tobytes()),
                )
            self.con.execute(
                "UPDATE tracks SET status = 'ok', error = NULL, updated_at = ? WHERE id = ?",
                (time.time(), track_id),
            )

    def save_error(self, track_id: int, error: str) -> None:
        """Record that a track could not be analysed (it is skipped until its file changes)."""
        with self._transaction():
            self._clear_results(track_id)
            self.con.execute(
                "UPDATE tracks SET status = 'error', error = ?, updated_at = ? WHERE id = ?",
                (error, time.time(), track_id),
            )

    def requeue_stale_fingerprints(self, version: int) -> int:
        """Put ``ok`` tracks whose fingerprint has another format version back to ``pending``."""
        with self._transaction():
            cur = self.con.execute(
                "UPDATE tracks SET status = 'pending' WHERE status = 'ok' AND id IN "
                "(SELECT track_id FROM fingerprints WHERE version != ?)",
                (version,),
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
        """The stored analysis dict of a track."""
        row = self.con.execute("SELECT json FROM analysis WHERE track_id = ?", (track_id,))
        found = row.fetchone()
        return json.loads(found[0]) if found else None

    def iter_fingerprints(self) -> Iterator[tuple[int, bytes, int]]:
        """``(track_id, packed fingerprint, format version)`` of every ``ok`` track."""
        yield from self.con.execute(
            "SELECT f.track_id, f.data, f.version FROM fingerprints f JOIN tracks t ON t.id = f.track_id "
            "WHERE t.status = 'ok' ORDER BY f.track_id"
        )

    def codes(self) -> tuple[np.ndarray, list[bytes], int]:
        """``(track_ids, raw codes, n_bits)`` of the most common code length."""
        rows = self.con.execute(
            "SELECT c.track_id, c.code, c.n_bits FROM codes c JOIN tracks t ON t.id = c.track_id "
            "WHERE t.status = 'ok' ORDER BY c.track_id"
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), [], 0
        bits = np.bincount([r[2] for r in rows]).argmax()
        rows = [r for r in rows if r[2] == bits]
        return np.array([r[0] for r in rows], np.int64), [r[1] for r in rows], int(bits)

    def embeddings(self) -> dict[int, np.ndarray]:
        """``track_id -> float32 vector``."""
        return {
            int(tid): np.frombuffer(blob, dtype="<f4").astype(np.float32)
            for tid, blob in self.con.execute("SELECT track_id, vector FROM embeddings")
        }

    def filter_ids(
        self,
        *,
        mood: str | None = None,
        mood_percentile: float = 70.0,
        tonic: str | None = None,
        mode: str | None = None,
        bpm: tuple[float, float] | None = None,
        duration: tuple[float, float] | None = None,
    ) -> list[int]:
        """Ids of ``ok`` tracks passing every given filter (see ``search.parse_*``)."""
        sql = ["SELECT t.id FROM tracks t LEFT JOIN analysis a ON a.track_id = t.id WHERE t.status = 'ok'"]
        params: list = []
        if mood:
            sql.append(
                "AND EXISTS (SELECT 1 FROM moods m WHERE m.track_id = t.id AND lower(m.tag) = ? "
                "AND (m.percentile >= ? OR (m.percentile IS NULL AND (SELECT COUNT(*) FROM moods "
                "m2 WHERE m2.track_id = t.id AND m2.score > m.score) < 3)))"
            )
            params += [mood.lower(), mood_percentile]
        if tonic:
            sql.append("AND a.key_tonic IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(_enharmonics(tonic)))
        if mode:
            sql.append("AND lower(a.key_mode) = ?")
            params.append(mode.lower())
        if bpm:
            sql.append("AND a.tempo_bpm BETWEEN ? AND ?")
            params += list(bpm)
        if duration:
            sql.append("AND a.duration_s BETWEEN ? AND ?")
            params += list(duration)
        sql.append("ORDER BY t.id")
        return [int(r[0]) for r in self.con.execute(" ".join(sql), params)]

    def stats(self) -> dict:
        """Counts and the database size."""
        fp_bytes = self.con.execute("SELECT COALESCE(SUM(length(data)), 0) FROM fingerprints")
        dur = self.con.execute("SELECT COALESCE(SUM(duration_s), 0) FROM analysis").fetchone()[0]
        return {
            "db": str(self.path),
            "schema_version": self.version,
            "tracks": self.count(),
            "ok": self.count("ok"),
            "pending": self.count("pending"),
            "error": self.count("error"),
            "fingerprint_bytes": int(fp_bytes.fetchone()[0]),
            "audio_hours": float(dur) / 3600.0,
            "codes": int(self.con.execute("SELECT COUNT(*) FROM codes").fetchone()[0]),
            "embeddings": int(self.con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]),
        }


_PITCHES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_FLATS = {
    "Db": "C#",
    "Eb": "D#",
    "Gb": "F#",
    "Ab": "G#",
    "Bb": "A#",
    "Cb": "B",
    "Fb": "E",
    "E#": "F",
    "B#": "C",
}


def _enharmonics(tonic: str) -> list[str]:
    """Spellings of the same pitch class (``Db`` -> ``['C#', 'Db']``)."""
    t = tonic.strip()
    t = t[:1].upper() + t[1:].replace("♯", "#").replace("♭", "b")
    sharp = _FLATS.get(t, t)
    if sharp not in _PITCHES:
        raise LibraryError(f"unknown key tonic {tonic!r}")
    names = {sharp}
    names.update(k for k, v in _FLATS.items() if v == sharp)
    return sorted(names)


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT / ROLLBACK on an autocommit connection."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.con.execute("COMMIT")
        else:
            self.con.execute("ROLLBACK")
