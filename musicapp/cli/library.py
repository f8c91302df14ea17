"""``musicapp library ...``, ``musicapp evaluate library`` and ``musicapp bench library``.

Only the standard library is imported at module level; the library package is imported inside
the command functions.
"""

from __future__ import annotations

import argparse
import json
import sys


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        help="library database file (default: $MUSICAPP_DATA_DIR/library.sqlite3 or the user data directory)",
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
    p.add_argument("dir", help="folder or audio file")
    p.add_argument(
        "--workers", type=int, default=1, help="analysis processes (0 = in this process; default 1)"
    )
    p.add_argument(
        "--fingerprint-only", action="store_true", help="skip the tag/key/tempo analysis, only fingerprint"
    )
    p.add_argument("--retry-errors", action="store_true", help="retry files that failed before")
    p.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="run the analysis on a Dask cluster ('local' starts a LocalCluster; or a "
        "scheduler address like tcp://host:8786); needs the 'distributed' extra",
    )
    _add_common(p)
    p.set_defaults(func=_run_add)

    p = sub.add_parser("list", help="list the tracks of the library")
    p.add_argument("--status", choices=["ok", "pending", "error"], help="only this status")
    _add_common(p)
    p.set_defaults(func=_run_list)

    p = sub.add_parser("search", help="find tracks by mood, key, tempo and duration")
    _add_filters(p)
    _add_common(p)
    p.set_defaults(func=_run_search)

    p = sub.add_parser("similar", help="tracks that sound like a file or library track")
    p.add_argument("file", help="audio file (in the library or not) or a track id")
    p.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    _add_filters(p)
    _add_common(p)
    p.set_defaults(func=_run_similar)

    p = sub.add_parser("identify", help="which library track is this recording?")
    p.add_argument("clip", help="audio file: a recording or excerpt")
    p.add_argument(
        "--threshold", type=float, default=None, help="minimum match score (default: the calibrated one)"
    )
    _add_common(p)
    p.set_defaults(func=_run_identify)

    p = sub.add_parser("remove", help="remove a track or every track under a folder")
    p.add_argument("target", nargs="?", help="file or folder path")
    p.add_argument("--missing", action="store_true", help="remove tracks whose files are gone")
    _add_common(p)
    p.set_defaults(func=_run_remove)

    p = sub.add_parser("info", help="database location, counts and sizes")
    _add_common(p)
    p.set_defaults(func=_run_info)


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mood", help="mood tag, e.g. calm (tracks in its top percentiles)")
    p.add_argument(
        "--mood-percentile", type=float, default=70.0, help="minimum percentile of the mood (default 70)"
    )
    p.add_argument("--key", help="key, e.g. 'D minor', 'F# major', 'Am'")
    p.add_argument("--bpm", help="tempo range, e.g. 80-100")
    p.add_argument("--duration", help="duration range in seconds, e.g. 60-300")


def _print(args: argparse.Namespace, obj, text_lines) -> None:
    if args.json:
        json.dump(obj, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in text_lines:
            print(line)


def _fmt_track(t: dict) -> str:
    bits = [f"{t['id']:>5}", t["status"][:5].ljust(5)]
    if t.get("duration_s"):
        bits.append(f"{t['duration_s']:7.1f}s")
    if t.get("tempo_bpm"):
        bits.append(f"{t['tempo_bpm']:6.1f} bpm")
    if t.get("key"):
        bits.append(t["key"])
    if t.get("moods"):
        bits.append("/".join(t["moods"]))
    bits.append(t["path"])
    if t.get("error"):
        bits.append(f"[{t['error']}]")
    return "  ".join(bits)


def _run_add(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library
    from musicapp.library.indexer import default_analyser, no_analyser

    analyser = no_analyser if args.fingerprint_only else default_analyser
    with Library(args.db) as lib:
        if args.retry_errors:
            lib.store.retry_errors()

        def progress(done: int, total: int, path: str) -> None:
            if not args.json:
                print(f"\r[{done}/{total}] {path[-60:]:<60}", end="", file=sys.stderr, flush=True)

        if args.dask:
            from musicapp.library.distributed import index_with_dask

            report = index_with_dask(lib.store, args.dir, args.dask, analyser=analyser, progress=progress)
        else:
            report = lib.add(args.dir, workers=args.workers, analyser=analyser, progress=progress)
        if not args.json:
            print(file=sys.stderr)
        d = report.as_dict()
        scan = d["scan"] or {}
        lines = [
            f"added {len(scan.get('added', []))}, changed {len(scan.get('changed', []))}, "
            f"moved {len(scan.get('moved', []))}, removed {len(scan.get('removed', []))}, "
            f"unchanged {scan.get('unchanged', 0)}",
            f"indexed {d['indexed']}, failed {d['failed']} in {d['seconds']:.1f} s",
        ]
        lines += [f"  error: {p}: {e}" for p, e in d["errors"].items()]
        _print(args, d, lines)
    return 0


def _run_list(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library

    with Library(args.db) as lib:
        tracks = [t for t in lib.list() if args.status is None or t["status"] == args.status]
        _print(args, tracks, [_fmt_track(t) for t in tracks] or ["(library is empty)"])
    return 0


def _run_search(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library

    with Library(args.db) as lib:
        tracks = lib.search(
            mood=args.mood,
            key=args.key,
            bpm=args.bpm,
            duration=args.duration,
            mood_percentile=args.mood_percentile,
        )
        _print(args, tracks, [_fmt_track(t) for t in tracks] or ["(no track matches)"])
    return 0


def _run_similar(args: argparse.Namespace) -> int:
    from musicapp.analysis_cache import cached_analyser
    from musicapp.library.api import Library

    query: str | int = int(args.file) if args.file.isdigit() else args.file
    with Library(args.db) as lib:
        hits = lib.similar(query, args.k, analyser=cached_analyser, mood=args.mood, key=args.key,
                           bpm=args.bpm, duration=args.duration)
        lines = [
            f"{h['hamming']:>4} bits  cos {h['cosine'] if h['cosine'] is not None else '-':>8}  "
            + _fmt_track(h)
            for h in hits
        ]
        _print(args, hits, lines or ["(no similar track)"])
    return 0


def _run_identify(args: argparse.Namespace) -> int:
    from musicapp.library.api import DEFAULT_MATCH_THRESHOLD, Library

    threshold = DEFAULT_MATCH_THRESHOLD if args.threshold is None else args.threshold
    with Library(args.db) as lib:
        res = lib.identify(args.clip, threshold)
        d = res.as_dict()
        if res.accepted:
            m = res.match
            line = (
                f"{res.path}  (score {m.score:.1f} >= {threshold:g}, at {m.offset_s:.1f} s, "
                f"tempo x{m.stretch:.2f})"
            )
        else:
            best = d["best"]
            line = "no match" + (f" (best score {best['score']:.1f} < {threshold:g})" if best else "")
        _print(args, d, [line, *(f"warning: {w}" for w in res.warnings)])
    return 0 if res.accepted else 1


def _run_remove(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library
    from musicapp.library.store import LibraryError

    if not args.target and not args.missing:
        raise LibraryError("library remove: give a path or --missing")
    with Library(args.db) as lib:
        removed = lib.remove(args.target) if args.target else []
        if args.missing:
            removed += lib.store.prune_missing()
        _print(args, {"removed": removed}, [f"removed {p}" for p in removed] or ["nothing removed"])
    return 0


def _run_info(args: argparse.Namespace) -> int:
    from musicapp.library.api import Library

    with Library(args.db) as lib:
        s = lib.store.stats()
        _print(args, s, [f"{k}: {v}" for k, v in s.items()])
    return 0
