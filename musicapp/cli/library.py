"""``musicapp library ...``, ``musicapp evaluate library`` and ``musicapp bench library``.

Only the standard library is imported at module level; the library package is imported inside
the command functions.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable

from musicapp.cli._args import check_db, file_name, finite_float, int_range, text, value_range

#: the largest --bpm and --duration a filter takes (a tempo of 1000 bpm, a week of audio)
MAX_BPM = 1000.0
MAX_DURATION_S = 7 * 24 * 3600.0
#: the range filters and how each is read (see musicapp.cli._args.value_range)
_RANGES = {"bpm": value_range("bpm", MAX_BPM, example="80-100"),
           "duration": value_range("seconds", MAX_DURATION_S, example="60-300")}


def _add_common(p: argparse.ArgumentParser, *, creates: bool = False) -> None:
    """``--db`` and ``--json``. Only a command that ``creates`` a library (``add``) takes a
    ``--db`` file that does not exist yet; its folder must exist in any case."""
    where = "its folder must exist" if creates else "an existing library"
    p.set_defaults(db_creates=creates)
    p.add_argument(
        "--db",
        type=file_name,
        help=f"library database file, {where} (default: $MUSICAPP_DATA_DIR/library.sqlite3 or "
        "the user data directory, created when needed)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def register(subparsers) -> None:
    """Add ``musicapp library`` and its subcommands."""
    lib = subparsers.add_parser(
        "library",
        help="index a music folder; search, find similar tracks, identify recordings",
        description="Your music library: an SQLite database of analysed tracks with landmark "
        "fingerprints (to identify recordings) and hash codes (to find similar tracks).",
    )
    sub = lib.add_subparsers(dest="library_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("add", help="add a folder (recursively) or a file; resumes unfinished runs")
    p.add_argument("dir", type=file_name, help="folder or audio file")
    p.add_argument(
        "--workers", type=int_range(0, 1024), default=None,
        help="analysis processes (default: one per core; 0 = in this process; at most 4 per "
        "core and one per track are started)"
    )
    p.add_argument(
        "--fingerprint-only", action="store_true", help="skip the tag/key/tempo analysis, only fingerprint"
    )
    p.add_argument("--retry-errors", action="store_true", help="retry files that failed before")
    p.add_argument(
        "--dask",
        metavar="SCHEDULER",
        type=_scheduler,
        help="run the analysis on a Dask cluster ('local' starts a LocalCluster; or a "
        "scheduler address like tcp://host:8786); needs the 'distributed' extra",
    )
    _add_common(p, creates=True)
    p.set_defaults(func=_guard(_run_add))

    from musicapp.wording import TEMPO_LEGEND

    p = sub.add_parser("list", help="list the tracks of the library",
                       description="List the tracks of the library: id, status, length, tempo, "
                       f"key, moods, tags, path. In the tempo column, {TEMPO_LEGEND}.")
    p.add_argument(
        "--status",
        choices=["ok", "pending", "error", "missing", "silence", "too short", "damaged", "truncated"],
        help="only this status (silence / too short: analysed, too quiet or too short for "
        "results; damaged: over 1%% of the decoded samples were not audio (NaN/inf), so no "
        "results; truncated: the file breaks off early, the part before was analysed)",
    )
    _add_common(p)
    p.set_defaults(func=_guard(_run_list))

    p = sub.add_parser("search", help="find tracks by mood, key, tempo, duration and tag text")
    _add_filters(p)
    p.add_argument(
        "--mood-percentile",
        type=finite_float(0, 100),
        default=None,
        help="with --mood: minimum percentile of the mood (default 70)",
    )
    p.add_argument("--text", type=text("search text"),
                   help="part of the title, artist, album or path (any case)")
    _add_common(p)
    p.set_defaults(func=_guard(_run_search))

    p = sub.add_parser("similar", help="tracks that sound like a file or library track")
    p.add_argument("file", type=file_name, help="audio file (in the library or not) or a track id")
    p.add_argument("-k", type=int_range(1, 100_000), default=10, help="number of results (default 10)")
    _add_filters(p)
    _add_common(p)
    p.set_defaults(func=_guard(_run_similar))

    p = sub.add_parser("identify", help="which library track is this recording?")
    p.add_argument("clip", type=file_name, help="audio file: a recording or excerpt")
    p.add_argument(
        "--threshold",
        type=finite_float(0, 1000, lo_open=True),
        default=None,
        help="minimum match score, above 0 (default: the calibrated one, 5.2; unrelated "
        "audio scores up to about 4, so a lower threshold names wrong tracks)",
    )
    _add_common(p)
    p.set_defaults(func=_guard(_run_identify))

    p = sub.add_parser("remove", help="remove a track or every track under a folder")
    p.add_argument("target", nargs="?", type=file_name, help="file or folder path")
    p.add_argument("--missing", action="store_true", help="remove tracks whose files are gone (= prune)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    _add_common(p)
    p.set_defaults(func=_guard(_run_remove))

    p = sub.add_parser(
        "prune",
        help="remove the tracks whose files are gone (a scan only marks them missing)",
        description="List, then remove, every track whose file does not exist now. `library add` "
        "never removes anything: tracks of a vanished or empty folder are only marked missing.",
    )
    p.add_argument("--dry-run", action="store_true", help="only list the tracks that would be removed")
    _add_common(p)
    p.set_defaults(func=_guard(_run_prune))

    p = sub.add_parser(
        "check",
        help="check the database for damage; --repair keeps what can be kept",
        description="Run SQLite's integrity_check and check every stored analysis, code, "
        "embedding and fingerprint. --repair copies everything readable into a fresh database, "
        "keeps the old file as LIBRARY.damaged-TIME and puts tracks that lost results back to "
        "pending (the next `library add` recomputes them). Exit status 1 when damage is found "
        "and not repaired.",
    )
    p.add_argument("--repair", action="store_true", help="copy what is readable into a fresh database")
    _add_common(p)
    p.set_defaults(func=_guard(_run_check))

    p = sub.add_parser("info", help="database location, counts and sizes")
    _add_common(p)
    p.set_defaults(func=_guard(_run_info))


def _scheduler(text: str) -> str:
    """``--dask``: 'local' or a scheduler address (tcp://host:port, host:port)."""
    import re

    if text == "local" or re.fullmatch(r"(?:[a-z]+://)?[\w.\-\[\]:]+:\d{1,5}", text):
        return text
    raise argparse.ArgumentTypeError(
        f"must be 'local' or a scheduler address like tcp://host:8786, got {text!r}"
    )


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Check ``--db`` (:func:`musicapp.cli._args.check_db`), then run ``func``, turning an
    unexpected SQLite error into a clear LibraryError naming the database."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        _read_ranges(args)
        _say_mood(args)
        check_db(args.db, creates=getattr(args, "db_creates", False))
        try:
            return func(args)
        except sqlite3.DatabaseError as exc:
            from musicapp.library.store import LibraryError, default_db_path

            db = args.db or default_db_path()
            if "locked" in str(exc) or "busy" in str(exc):
                msg = f"{db}: another process keeps the library locked ({exc}); try again"
                raise LibraryError(msg) from exc
            if "full" in str(exc):  # SQLITE_FULL: "database or disk is full"
                raise LibraryError(
                    f"{db}: the disk holding the library is full ({exc}); free some space and "
                    "run the command again (finished tracks are kept)"
                ) from exc
            raise LibraryError(
                f"{db}: the library database failed ({exc}); run `musicapp library check --db {db}`"
            ) from exc

    return run


def _read_ranges(args: argparse.Namespace) -> None:
    """Check ``--bpm`` and ``--duration`` and put them in the form the library reads; a reversed,
    empty, negative or NaN range is a LibraryError naming it (``--bpm 100-80`` found nothing)."""
    from musicapp.library.store import LibraryError

    for name, parse in _RANGES.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            setattr(args, name, parse(value))
        except argparse.ArgumentTypeError as exc:
            raise LibraryError(f"bad range for --{name}: {exc}") from None
    if getattr(args, "exact_bpm", False) and getattr(args, "bpm", None) is None:
        raise LibraryError("--exact-bpm needs --bpm (exact for which tempo range?)")


def _say_mood(args: argparse.Namespace) -> None:
    """A ``--mood`` synonym is searched as its mood word: say which, as ``chords --mood`` does
    (an unknown word stops here with the nearest words listed)."""
    if getattr(args, "mood", None):
        from musicapp.library.textsafe import display
        from musicapp.moods import substitution_note

        note = substitution_note(args.mood)
        if note:
            print(f"musicapp: note: {display(note)}", file=sys.stderr)


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mood", type=text("mood"),
                   help="mood tag, e.g. calm (tracks in its top percentiles)")
    p.add_argument("--key", type=text("key"), help="key, e.g. 'D minor', 'F# major', 'Am'")
    p.add_argument("--bpm", type=str,
                   help="tempo range LOW-HIGH, e.g. 80-100; one number N means N-0.5 to N+0.5; "
                   "a track whose half or double tempo (as its analysis lists them) is in the "
                   "range matches too, listed after the exact ones")
    p.add_argument("--exact-bpm", action="store_true",
                   help="with --bpm: only tracks whose own tempo is in the range")
    p.add_argument("--duration", type=str,
                   help="duration range in seconds, e.g. 60-300; one number N means N-0.5 to "
                   "N+0.5")


def _print(args: argparse.Namespace, obj, text_lines, warnings=()) -> None:
    """JSON to stdout, or the text lines with control characters and undecodable bytes escaped;
    warnings go to stderr in both modes."""
    from musicapp.library.textsafe import display

    if args.json:
        json.dump(obj, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in text_lines:
            print(display(line))
    for w in warnings:
        print(f"musicapp: warning: {display(w)}", file=sys.stderr)


def _length(seconds: float) -> str:
    """A track's length as ``library add`` says it: "3:20", "20:03", "1:02:07" above an hour."""
    total = round(float(seconds) * 10) // 10  # whole seconds of the tenths `add` rounds to
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _tempo_cell(t: dict) -> str:
    """The tempo column's text: "121.2 bpm", "~60.6 bpm", "60.6 bpm (or 121.2)" (the marks of
    :func:`musicapp.analysis.tempo_choice.tempo_label`, as `analyze` shows them), "-"."""
    if not t.get("tempo_bpm"):
        return "-"
    number, sep, other = str(t.get("tempo_label") or "").partition(" ")
    return f"{number or format(t['tempo_bpm'], '.1f')} bpm" + (f" {other}" if sep else "")


def _widths(tracks: list[dict]) -> dict[str, int]:
    """The length and tempo columns' widths: each the longest cell of ``tracks``, so a
    "(or 121.2)" stays in the tempo column instead of pushing the key along."""
    lengths = [len(_length(t["duration_s"])) for t in tracks if t.get("duration_s")]
    return {"length": max([4, *lengths]), "tempo": max([9, *(len(_tempo_cell(t)) for t in tracks)])}


def _fmt_track(t: dict, mood: str | None = None, widths: dict[str, int] | None = None) -> str:
    """One library row: id, status, length (m:ss, h:mm:ss above an hour), tempo and key in
    fixed columns ("-" when the track has none; ``widths`` from :func:`_widths` of all the rows
    shown), then moods (with the searched mood's percentile), tags and path."""
    from musicapp.library.textsafe import display
    from musicapp.wording import percentile_ordinal

    widths = widths or _widths([t])
    bits = [f"{t['id']:>5}", t["status"][:9].ljust(9)]
    bits.append((_length(t["duration_s"]) if t.get("duration_s") else "-").rjust(widths["length"]))
    bits.append(_tempo_cell(t).ljust(widths["tempo"]))
    bits.append(display(t["key"]).ljust(8) if t.get("key") else "-".ljust(8))
    if t.get("bpm_note"):
        bits.append(f"({t['bpm_note']})")
    if t.get("mood_percentile") is not None:
        word = display(mood) if mood else "mood"
        bits.append(f"{word} {percentile_ordinal(t['mood_percentile'])}")
    if t.get("moods"):
        bits.append(display("/".join(str(m) for m in t["moods"])))
    tags = " - ".join(str(t[k]) for k in ("artist", "album", "title") if t.get(k))
    if tags:
        bits.append(display(tags))
    bits.append(display(t["path"]))
    if t.get("error"):
        bits.append(f"[{display(t['error'])}]")
    if t.get("truncated"):
        bits.append("[truncated: the file breaks off early]")
    return "  ".join(bits)


def _progress_line(store, done: int, total: int, path: str, elapsed: float) -> str:
    """The line ``library add`` prints for each finished track when stderr is not a terminal:
    "[3/29] added Song.ogg (2:31) · 12.6 s so far" (or "failed" with the reason's first line)."""
    from musicapp.library.api import clock
    from musicapp.library.textsafe import display

    name = display(os.path.basename(path) or path)
    head = f"[{done}/{total}]"
    try:
        track = store.track_by_path(path)
        result = store.analysis(track.id) if track is not None and track.status == "ok" else None
    except Exception:  # a progress line never stops the run
        track, result = None, None
    if track is not None and track.status == "error":
        why = (str(track.error).splitlines() or ["failed"])[0] if track.error else "failed"
        why = why.removeprefix(f"{path}: ")
        return f"{head} failed {name}: {why} · {elapsed:.1f} s so far"
    seconds = (result or {}).get("duration_s")
    length = f" ({clock(float(seconds)).rsplit('.', 1)[0]})" if isinstance(
        seconds, int | float) and seconds > 0 else ""
    return f"{head} added {name}{length} · {elapsed:.1f} s so far"


def _run_add(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library
    from musicapp.library.indexer import default_analyser, no_analyser
    from musicapp.library.store import LibraryError
    from musicapp.library.textsafe import display

    if args.dask and args.workers is not None:
        raise LibraryError("--workers and --dask: the Dask cluster decides the workers; give one")
    analyser = no_analyser if args.fingerprint_only else default_analyser
    with Library(args.db) as lib:
        if args.retry_errors:
            lib.store.retry_errors()

        tty = sys.stderr.isatty()
        started = time.perf_counter()

        def progress(done: int, total: int, path: str) -> None:
            if args.json:
                return
            if tty:  # redrawn in place: a terminal only
                shown = display(path)[-60:]
                print(f"\r[{done}/{total}] {shown:<60}", end="", file=sys.stderr, flush=True)
            else:  # a pipe or a log: one line per finished track, so a long run is never silent
                print(_progress_line(lib.store, done, total, path,
                                     time.perf_counter() - started), file=sys.stderr, flush=True)

        if args.dask:
            from musicapp.library.distributed import index_with_dask

            report = index_with_dask(lib.store, args.dir, args.dask, analyser=analyser, progress=progress)
        else:
            report = lib.add(args.dir, workers=args.workers, analyser=analyser, progress=progress)
        if not args.json and tty:
            print(file=sys.stderr)
        d = report.as_dict()
        scan = d["scan"] or {}
        lines = [
            f"added {len(scan.get('added', []))}, changed {len(scan.get('changed', []))}, "
            f"moved {len(scan.get('moved', []))}, back {len(scan.get('returned', []))}, "
            f"missing {len(scan.get('missing', []))} (kept), skipped {len(scan.get('skipped', []))}, "
            f"unchanged {scan.get('unchanged', 0)}",
            f"indexed {d['indexed']}, failed {d['failed']} in {d['seconds']:.1f} s",
        ]
        lines += [f"  skipped: {p}: {why}" for p, why in scan.get("skipped", [])]
        lines += [f"  missing: {p}" for p in scan.get("missing", [])[:20]]
        if len(scan.get("missing", [])) > 20:
            more = len(scan["missing"]) - 20
            lines.append(f"  ... and {more} more missing (library list --status missing)")
        # a decoder's message already starts with the file name: do not print it twice
        lines += [f"  error: {p}: {str(e).removeprefix(f'{p}: ')}" for p, e in d["errors"].items()]
        lines += [f"  warning: {p}: {w}" for p, said in d["warnings"].items() for w in said]
        _print(args, d, lines, [*scan.get("warnings", []), *lib.warnings])
    return 0


def _run_list(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library

    with Library(args.db, readonly=None) as lib:
        tracks = lib.list(args.status)
        empty = "(library is empty)" if args.status is None else f"(no track is {args.status})"
        widths = _widths(tracks)
        _print(args, tracks, [_fmt_track(t, widths=widths) for t in tracks] or [empty],
               lib.warnings)
    return 0


def _run_search(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library
    from musicapp.library.store import LibraryError

    if args.mood_percentile is not None and not args.mood:
        raise LibraryError("--mood-percentile needs --mood (the percentile of which mood?)")
    with Library(args.db, readonly=None) as lib:
        tracks = lib.search(
            mood=args.mood,
            key=args.key,
            bpm=args.bpm,
            duration=args.duration,
            mood_percentile=70.0 if args.mood_percentile is None else args.mood_percentile,
            text=args.text,
            bpm_levels=not args.exact_bpm,
        )
        from musicapp.moods import lookup

        mood = lookup(args.mood) if args.mood else None  # 'furious' is shown as angry, its mood
        widths = _widths(tracks)
        lines = ([_fmt_track(t, mood.word if mood else args.mood, widths) for t in tracks]
                 or ["(no track matches)"])
        _print(args, tracks, lines, lib.warnings)
    return 0


def _run_similar(args: argparse.Namespace) -> int:
    from musicapp.analysis_cache import cached_analyser
    from musicapp.library.api import Library

    query: str | int = int(args.file) if args.file.isascii() and args.file.isdigit() else args.file
    with Library(args.db, readonly=None) as lib:
        hits = lib.similar(query, args.k, analyser=cached_analyser, mood=args.mood, key=args.key,
                           bpm=args.bpm, duration=args.duration, bpm_levels=not args.exact_bpm)
        # "93% alike": 100 % = the same sound, 0 % = no closer than two unrelated tracks; the
        # results come in the order of that measure, and those at 0 % are not listed
        alike = [h for h in hits if round(h["similarity_percent"]) > 0]
        widths = _widths(alike)
        lines = [f"{h['similarity_percent']:4.0f}% alike  " + _fmt_track(h, widths=widths)
                 for h in alike]
        if len(alike) < len(hits):
            lines.append(f"({len(hits) - len(alike)} more of the {len(hits)} nearest tracks are "
                         "no more alike than two unrelated tracks)")
        if hits:
            lines.append("(100% = the same sound, 0% = no more alike than two unrelated tracks)")
        _print(args, hits, lines or ["(no similar track)"], lib.warnings)
    return 0


def _run_identify(args: argparse.Namespace) -> int:
    from musicapp.library.api import DEFAULT_MATCH_THRESHOLD, Library

    threshold = DEFAULT_MATCH_THRESHOLD if args.threshold is None else args.threshold
    with Library(args.db, readonly=None) as lib:
        res = lib.identify(args.clip, threshold)
        d = res.as_dict()
        line = f"{res.path}: {res.summary()}" if res.accepted else res.summary()
        warnings = list(dict.fromkeys([*lib.warnings, *res.warnings]))
        _print(args, d, [line], warnings)
    return 0 if res.accepted else 1


def _run_remove(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library
    from musicapp.library.store import LibraryError

    if not args.target and not args.missing:
        raise LibraryError("library remove: give a path or --missing")
    verb = "would remove" if args.dry_run else "removed"
    with Library(args.db) as lib:
        removed = lib.remove(args.target, dry_run=args.dry_run) if args.target else []
        if args.missing:
            removed += lib.prune(dry_run=args.dry_run)
        obj = {"removed": [] if args.dry_run else removed, "would_remove": removed if args.dry_run else []}
        _print(args, obj, [f"{verb} {p}" for p in removed] or ["nothing removed"], lib.warnings)
    return 0


def _run_prune(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library

    with Library(args.db) as lib:
        gone = lib.prune(dry_run=args.dry_run)
        verb = "would remove" if args.dry_run else "removed"
        lines = [f"{verb} {p}" for p in gone] or ["no track is missing: nothing to prune"]
        if gone:
            lines.append(f"{verb} {len(gone)} missing track(s)")
        obj = {"dry_run": args.dry_run, "removed": [] if args.dry_run else gone, "missing": gone}
        _print(args, obj, lines, lib.warnings)
    return 0


def _run_check(args: argparse.Namespace) -> int:
    from musicapp.library.check import check_database, repair_database
    from musicapp.library.store import default_db_path

    db = args.db or default_db_path()
    report = check_database(db)
    lines = [f"{db}: " + ("ok" if report.ok else "DAMAGED")]
    lines += [f"  {p}" for p in report.problems]
    lines += [f"  integrity: {m}" for m in report.integrity[:20] if m != "ok"]
    if args.repair and report.ok:
        lines.append("  nothing to repair")
    if not args.repair or report.ok:
        if not report.ok:
            lines.append(f"  run `musicapp library check --repair --db {db}` to keep what can be kept")
        _print(args, report.as_dict(), lines)
        return 0 if report.ok else 1
    repaired = repair_database(db)
    lines.append(f"repaired: the old file is kept as {repaired.backup}")
    for table, n in repaired.kept.items():
        lines.append(f"  {table}: kept {n}, lost {repaired.lost.get(table, 0)}")
    lines.append(
        f"  {repaired.requeued} track(s) back to pending: `musicapp library add FOLDER` recomputes them"
    )
    lines += [f"  note: {n}" for n in repaired.notes]
    lines.append(f"  integrity of the new database: {repaired.integrity_after}")
    _print(args, {"check": report.as_dict(), "repair": repaired.as_dict()}, lines)
    return 0


def _run_info(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library

    with Library(args.db, readonly=None) as lib:
        s = lib.store.stats()
        _print(args, s, [f"{k}: {v}" for k, v in s.items()], lib.warnings)
    return 0
