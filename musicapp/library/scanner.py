"""Scanning a folder into the library: reconcile the regular audio files under a root with the
tracks table, one ``BEGIN IMMEDIATE`` transaction per file that re-reads the row it decides on
(so two processes scanning at once cannot insert one path twice).

Nothing is ever deleted here: tracks whose files are gone are marked missing (also when the root
itself vanished or is empty), and a missing track whose file is back becomes available again
without re-analysis. Unusable items (FIFOs, devices, unreadable files and folders) are listed in
``ScanResult.skipped`` with a reason and the scan goes on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from musicapp.library.store import LibraryError, ScanResult, Store, _under, is_gone
from musicapp.library.tags import read_tags
from musicapp.library.textsafe import db_path, display
from musicapp.library.walk import content_hash, walk_audio


def scan_folder(store: Store, root: str | Path, *, detect_removed: bool = True) -> ScanResult:
    """Register the regular audio files under ``root`` and reconcile them with the database.

    Unchanged files (same size and mtime) are skipped; a new path whose content hash equals
    a track whose file is gone is a move (its analysis is kept); new and changed files become
    ``pending``. Tracks under ``root`` whose files are gone are marked ``missing`` (never
    deleted), also when ``root`` itself has vanished; a missing track whose file is back
    becomes available again without re-analysis. FIFOs, devices, unreadable files and
    folders are listed in ``skipped`` with a reason and the scan goes on.
    """
    root_s = os.path.abspath(os.fspath(root))
    root_p = os.path.realpath(root_s)
    result = ScanResult()
    if not os.path.lexists(root_s):
        under = store.tracks_under(root_s)
        if not under:
            raise LibraryError(f"{display(root_s)}: no such file or folder")
        store._mark_missing([t for t in under if is_gone(t.path)])
        result.missing = [t.path for t in store.tracks_under(root_s) if t.missing_since is not None]
        result.warnings.append(
            f"{display(root_s)} is not there (an unplugged drive or unmounted share?): its "
            f"{len(result.missing)} track(s) are marked missing and kept; "
            "`musicapp library prune` removes missing tracks"
        )
        return result
    seen: set[str] = set()
    for path, st in walk_audio(root_p, result.skipped):
        seen.add(path)
        try:
            _scan_one(store, path, st, result, read_tags)
        except OSError as exc:
            result.skipped.append((path, f"not readable: {exc.strerror or exc}"))
    seen.update(p for p, _ in result.skipped)
    if detect_removed:
        closed = [p for p, why in result.skipped if why.startswith("folder not readable")]
        gone = [
            t
            for t in store.tracks_under(root_p)
            if t.path not in seen
            and not any(_under(t.path, c) for c in closed)
            and is_gone(t.path)
        ]
        if gone:
            store._mark_missing(gone)
        result.missing = [t.path for t in store.tracks_under(root_p) if t.missing_since is not None]
        if result.missing and not seen:
            result.warnings.append(
                f"{display(root_s)} holds no audio file now (an unplugged drive or unmounted "
                f"share?): its {len(result.missing)} track(s) are marked missing and kept; "
                "`musicapp library prune` removes missing tracks"
            )
    return result

def _scan_one(store: Store, path: str, st: os.stat_result, result: ScanResult, read_tags) -> None:
    dbp = db_path(path)
    existing = store._track_by_db_path(dbp)
    if existing and existing.size == st.st_size and existing.mtime_ns == st.st_mtime_ns:
        if existing.missing_since is not None:
            with store._transaction():
                store.con.execute("UPDATE tracks SET missing_since = NULL WHERE id = ?", (existing.id,))
            result.returned.append(path)
        else:
            result.unchanged += 1
        row = store.con.execute("SELECT tags_read FROM tracks WHERE id = ?", (existing.id,)).fetchone()
        if row and not row[0]:
            tags = read_tags(path)
            with store._transaction():
                store._set_tags(existing.id, tags)
        return
    digest = content_hash(path)
    tags = read_tags(path)
    now = time.time()
    with store._transaction():
        existing = store._track_by_db_path(dbp)  # again, under the write lock
        if existing:
            if existing.content_hash == digest:
                store.con.execute(
                    "UPDATE tracks SET size = ?, mtime_ns = ?, updated_at = ?, missing_since = NULL "
                    "WHERE id = ?",
                    (st.st_size, st.st_mtime_ns, now, existing.id),
                )
                store._set_tags(existing.id, tags)
                if existing.missing_since is not None:
                    result.returned.append(path)
                else:
                    result.unchanged += 1
                return
            store._clear_results(existing.id)
            store.con.execute(
                "UPDATE tracks SET size = ?, mtime_ns = ?, content_hash = ?, status = 'pending', "
                "error = NULL, missing_since = NULL, claimed_by = NULL, claimed_at = NULL, "
                "updated_at = ? WHERE id = ?",
                (st.st_size, st.st_mtime_ns, digest, now, existing.id),
            )
            store._set_tags(existing.id, tags)
            result.changed.append(path)
            return
        moved_from = next((t for t in store.tracks_by_content(digest) if is_gone(t.path)), None)
        if moved_from is not None:
            store.con.execute(
                "UPDATE tracks SET path = ?, size = ?, mtime_ns = ?, missing_since = NULL, "
                "updated_at = ? WHERE id = ?",
                (dbp, st.st_size, st.st_mtime_ns, now, moved_from.id),
            )
            store._set_tags(moved_from.id, tags)
            result.moved.append((moved_from.path, path))
            return
        cur = store.con.execute(
            "INSERT INTO tracks(path, size, mtime_ns, content_hash, status, added_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT(path) DO NOTHING",
            (dbp, st.st_size, st.st_mtime_ns, digest, now, now),
        )
        if cur.rowcount:
            store._set_tags(int(cur.lastrowid), tags)
            result.added.append(path)
        else:
            result.unchanged += 1

