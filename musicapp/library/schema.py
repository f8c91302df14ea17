"""The library database schema: ``PRAGMA user_version`` and the migrations that reach each version.

Version 4 adds to ``tracks``: ``missing_since`` (a file that vanished is kept, marked missing,
until ``library prune``), ``title``/``artist``/``album`` read from the file's tags (``tags_read``
says whether they were looked for) and the indexing lease ``claimed_by``/``claimed_at`` that lets
two indexing runs share one database without analysing a track twice.
Version 5 adds to ``analysis``: ``status`` (the pipeline's verdict: ok, silence, too short or
damaged; before it every analysed track was listed as ``ok``) and ``truncated`` (1 when the
decoder said the file breaks off early); both are filled from the stored analyses.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable


def script(con: sqlite3.Connection, sql: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript`` would
    commit it)."""
    for statement in sql.split(";"):
        if statement.strip():
            con.execute(statement)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: object) -> str | None:
    from musicapp.library.textsafe import db_text

    return db_text(value) if isinstance(value, str) else None


#: the pipeline's ``status`` values (``musicapp.track_analysis`` and ``musicapp.pipeline.DAMAGED``)
ANALYSIS_STATES = ("ok", "silence", "too short", "damaged")
#: analysis states whose track has no musical results (no moods, key, tempo, codes)
NOT_MUSIC_STATES = ("silence", "too short", "damaged")


def analysis_status(result: object) -> str:
    """The pipeline's status of a stored analysis dict: ok/silence/too short/damaged (an
    analysis stored without one, or a fingerprint-only track, is ``ok``)."""
    status = result.get("status") if isinstance(result, dict) else None
    return status if status in ANALYSIS_STATES else "ok"


def analysis_truncated(result: object) -> bool:
    """Whether the stored analysis says the file breaks off early (a ``truncated`` warning of
    the decoder)."""
    warnings = result.get("warnings") if isinstance(result, dict) else None
    return any(isinstance(w, str) and "truncated" in w.lower() for w in warnings or [])


def write_analysis_columns(
    con: sqlite3.Connection, track_id: int, result: dict, *, status_columns: bool = True
) -> None:
    """Fill the indexed columns (tempo, key, and with ``status_columns`` the analysis status
    and truncation flag of version 5) and the ``moods`` rows from an analysis dict.

    Values of the wrong type (a damaged or foreign dict) are stored as NULL / left out."""
    key = result.get("key")
    key = key if isinstance(key, dict) else {}
    con.execute(
        "UPDATE analysis SET tempo_bpm = ?, key_tonic = ?, key_mode = ? WHERE track_id = ?",
        (_number(result.get("tempo_bpm")), _text(key.get("tonic")), _text(key.get("mode")), track_id),
    )
    if status_columns:
        con.execute(
            "UPDATE analysis SET status = ?, truncated = ? WHERE track_id = ?",
            (analysis_status(result), int(analysis_truncated(result)), track_id),
        )
    con.execute("DELETE FROM moods WHERE track_id = ?", (track_id,))
    moods = result.get("moods")
    for mood in moods if isinstance(moods, list) else []:
        if not isinstance(mood, dict) or not isinstance(mood.get("tag"), str):
            continue
        con.execute(
            "INSERT OR REPLACE INTO moods(track_id, tag, score, percentile) VALUES (?, ?, ?, ?)",
            (track_id, _text(mood["tag"]), _number(mood.get("score")), _number(mood.get("percentile"))),
        )


def _v1(con: sqlite3.Connection) -> None:
    script(
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
    script(
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
    # Fill the new columns from analyses stored by version 1 (a damaged row is left for
    # `library check` to report).
    rows = con.execute("SELECT track_id, json FROM analysis").fetchall()
    for track_id, text in rows:
        try:
            result = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(result, dict):
            write_analysis_columns(con, track_id, result, status_columns=False)


def _v3(con: sqlite3.Connection) -> None:
    # Landmark format version: fingerprints of another version are recomputed on the next run.
    con.execute("ALTER TABLE fingerprints ADD COLUMN version INTEGER NOT NULL DEFAULT 1")


def _v4(con: sqlite3.Connection) -> None:
    script(
        con,
        """
        ALTER TABLE tracks ADD COLUMN missing_since REAL;
        ALTER TABLE tracks ADD COLUMN title TEXT;
        ALTER TABLE tracks ADD COLUMN artist TEXT;
        ALTER TABLE tracks ADD COLUMN album TEXT;
        ALTER TABLE tracks ADD COLUMN tags_read INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tracks ADD COLUMN claimed_by TEXT;
        ALTER TABLE tracks ADD COLUMN claimed_at REAL;
        CREATE INDEX tracks_missing ON tracks(missing_since)
        """,
    )


def _v5(con: sqlite3.Connection) -> None:
    script(
        con,
        """
        ALTER TABLE analysis ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';
        ALTER TABLE analysis ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX analysis_status ON analysis(status)
        """,
    )
    # The status of the analyses stored before (a damaged row is left for `library check`).
    for track_id, text in con.execute("SELECT track_id, json FROM analysis").fetchall():
        try:
            result = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(result, dict) and (analysis_status(result) != "ok" or analysis_truncated(result)):
            con.execute(
                "UPDATE analysis SET status = ?, truncated = ? WHERE track_id = ?",
                (analysis_status(result), int(analysis_truncated(result)), track_id),
            )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5]
SCHEMA_VERSION = len(MIGRATIONS)
