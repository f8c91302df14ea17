"""``musicapp analyze FILE|DIR...``: moods, valence/arousal, genre, hash, key, tempo, beats, chords."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from musicapp.cli._args import check_output_kind, file_name, finite_float, int_range, text
from musicapp.cli._text import shown
from musicapp.filetypes import AUDIO_EXTENSIONS


def _mood_reference() -> str:
    from musicapp.models.reference import mood_reference

    return mood_reference()


def _tempo_legend() -> str:
    from musicapp.wording import TEMPO_LEGEND

    return TEMPO_LEGEND[0].upper() + TEMPO_LEGEND[1:]


def register(subparsers) -> None:
    """Add the ``analyze`` command."""
    p = subparsers.add_parser(
        "analyze",
        help="analyse tracks: moods, valence/arousal, genre, hash code, key, tempo, beats, chords",
        description="Analyse audio files (folders are searched recursively). Prints a summary per "
        "file, or with --json one JSON object per line. Parts that are not installed or fail are "
        "reported and the rest still runs. Mood and genre percentiles are "
        f"{_mood_reference()} (the JSON field mood_reference says the same). "
        f"{_tempo_legend()}.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="audio files or folders")
    p.add_argument("--json", action="store_true", help="print one JSON object per file (JSON Lines)")
    p.add_argument(
        "--device", type=text("device"), default="auto",
        help="model device: auto (CUDA, then MPS, then CPU), cuda, mps or cpu"
    )
    p.add_argument(
        "--threads", type=int_range(1, 256), default=None, help="CPU threads for the model (1..256)"
    )
    p.add_argument("--no-tags", action="store_true", help="skip moods/genre/hash (the neural tagger)")
    p.add_argument("--no-music", action="store_true", help="skip key/tempo/beats/chords (with "
                   "--no-tags: only decode each file, a check that it reads, and print its length)")
    p.add_argument("--midi", metavar="OUT.mid", type=file_name,
                   help="write the analysis as a type-1 MIDI file: tempo map from the beats, "
                   "time/key signatures, chord track, chord and bar markers (one input file only)")
    p.add_argument("--jams", metavar="OUT.jams", type=file_name,
                   help="write beats, chords, key and tempo as JAMS")
    p.add_argument("--csv", metavar="OUT.csv", type=file_name,
                   help="write beats, downbeats, chords and key as CSV")
    p.add_argument("--overwrite", action="store_true", help="replace existing --midi/--jams/--csv files")
    level = p.add_mutually_exclusive_group()
    level.add_argument("--tempo-level", choices=("half", "double"),
                       help="count the found tempo at half or double speed (beats thinned or "
                       "filled in, the meter kept over the new beats) before printing and "
                       "exporting, as the app's half/double toggle does")
    level.add_argument("--bpm", type=finite_float(0.0, 2000.0, lo_open=True), metavar="N",
                       help="count the found tempo at N BPM: N must be a half/double level "
                       "of it (x1/4, x1/2, x2 or x4; within 4%%), else an error (x3, x2/3 ... "
                       "would need beats the analysis does not have)")
    p.set_defaults(func=run)


def expand_paths(paths: list[str]) -> list[Path]:
    """Files as given, plus the audio files found recursively in folders (sorted)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS)
            )
        else:
            out.append(p)
    return out


def _progress_bar(done: int, total: int, name: str) -> None:
    """Redraw the progress bar on stderr when it is a terminal (a pipe or a log file got a
    line of carriage returns); nothing otherwise."""
    if not _is_terminal(sys.stderr):
        return
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:40}")
    sys.stderr.flush()
    if done == total:
        sys.stderr.write("\n")


def _clear_progress() -> None:
    """Erase the progress bar's line before a result is printed (it ran into the result)."""
    if _is_terminal(sys.stderr):
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    """4:59.6 (rounded to a tenth first, so 59.96 s is 1:00.0, never 0:60.0)"""
    tenths = round(float(seconds) * 10)
    return f"{tenths // 600}:{(tenths % 600) / 10:04.1f}"


def _key_changes_text(result: dict) -> str:
    """" · changes to C major at 4:59.6" for each confident key change of the key timeline
    (those the MIDI export writes as key signatures, see
    :func:`musicapp.analysis.export.key_changes`); "" for a one-key track."""
    from musicapp.analysis.export import key_changes

    parts = []
    for c in key_changes(result):
        name = c.get("name") or f"{c.get('tonic')} {c.get('mode')}"
        start = float(c.get("start") or 0.0)
        parts.append(f"starts in {name}" if start <= 0 else f"changes to {name} at {_clock(start)}")
    return "".join(f" · {p}" for p in parts)


def summarise(result: dict) -> str:
    """A human-readable summary of one ``analyze`` result."""
    from musicapp.analysis.tempo_choice import close_level
    from musicapp.wording import confidence_text, percentile_text

    lines = [f"{shown(result['path'])}  ({result.get('duration_s', 0):.1f} s)"]
    if result.get("status", "ok") != "ok":
        level = result.get("level_dbfs")
        loudest = ""
        if isinstance(level, int | float):  # round() to an int: never "-0 dBFS"
            span = "loudest 3 s at" if result.get("duration_s", 0) >= 3 else "level"
            loudest = f"; {span} {round(level):d} dBFS"
        lines.append(f"  {result['status']}: no moods, key, tempo or chords{loudest}")
    if result.get("key"):
        from musicapp.analysis.key_report import is_clear

        k = result["key"]
        extra = f", {k['camelot']} / {k['open_key']}" if k.get("camelot") else ""
        conf = confidence_text(k["confidence"])
        clear = is_clear(k.get("confidence"))
        lines.append((f"  key: {k['tonic']} {k['mode']}{extra} (confidence {conf})" if clear else
                      f"  key: no clear key (best guess {k['tonic']} {k['mode']}, confidence {conf})")
                     + _key_changes_text(result))
        alternatives = [f"{c['name']} {c['probability']:.2f}" + (f" ({c['relation']})" if
                        c.get("relation") else "") for c in result.get("key_candidates") or []
                        if c.get("relation") != "best" and (c.get("probability") or 0) >= 0.01]
        if alternatives:
            lines.append(f"       also {', '.join(alternatives[:3])}")
        if result.get("key_ambiguity") and clear:  # "no clear key: ..." is the key line's
            lines.append(f"       {result['key_ambiguity']}")
    elif result.get("key_reason"):
        lines.append(f"  key: none, {result['key_reason']}")
    if result.get("tempo_bpm"):
        from musicapp.analysis.tempo_choice import tempo_label

        alts = ", ".join(f"{c['relation']} {c['bpm']:.1f}" for c in result.get("tempo_candidates", [])
                         if c.get("relation") != "tactus")
        label = tempo_label(result) or f"{result['tempo_bpm']:.1f}"
        number, _, close_text = label.partition(" ")
        lines.append(f"  tempo: {number} BPM{' ' + close_text if close_text else ''}, "
                     f"meter {result.get('meter') or '?'}" + (f" (also {alts})" if alts else ""))
        if number.startswith("~"):
            lines.append(f"       low tempo confidence ({result['tempo_confidence']:.2f})")
        choice = result.get("tempo_choice")
        if isinstance(choice, dict) and choice.get("analysed_bpm"):
            lines.append(f"       counted at {result['tempo_bpm']:.1f} BPM; the analysis found "
                         f"{float(choice['analysed_bpm']):.1f}")
        close = close_level(result)
        if close is not None:
            lines.append(f"       unsure of the level: {close['bpm']:.1f} BPM ({close['relation']}) "
                         "fits almost as well")
        if len(result.get("tempo_segments") or []) > 1:
            lines.append("  tempo changes: " + ", ".join(
                f"{s['bpm']:.1f} from {s['start']:.0f} s" for s in result["tempo_segments"]))
    elif result.get("tempo_reason"):
        lines.append(f"  tempo: none, {result['tempo_reason']}")
    if result.get("moods"):
        top = ", ".join(f"{m['tag']} {percentile_text(m['percentile'])}"
                        for m in result["moods"][:5])
        among = str(result.get("mood_reference") or "").split(" (")[0]
        lines.append(f"  moods (percentile{' ' + among if among else ''}): {top}")
    if result.get("moods_status"):  # e.g. a 2-s clip: key/tempo may be there, moods are not
        why = " (the mood tagger reads 3-s clips)" if "short" in str(result["moods_status"]) else ""
        lines.append(f"  {result['moods_status']}: no moods, genres or valence/arousal{why}")
    if result.get("valence") is not None and result.get("arousal") is not None:
        energy = result.get("energy")
        from musicapp.wording import signed

        lines.append(f"  valence {signed(result['valence'])}, arousal {signed(result['arousal'])}"
                     + (f", energy {energy}/10" if isinstance(energy, int) else ""))
    if result.get("genres"):
        lines.append("  genres: " + ", ".join(g["tag"] for g in result["genres"][:3]))
    if result.get("hash"):
        lines.append(f"  hash: {result['hash']}")
    if result.get("chords"):
        seq = [c.get("symbol") or c["label"] for c in result["chords"] if c["label"] != "N"]
        dedup = [c for i, c in enumerate(seq) if i == 0 or c != seq[i - 1]]
        if dedup:  # only "N" (no chord) labels: no empty "chords:" line
            lines.append("  chords: " + " ".join(dedup[:16]) + (" ..." if len(dedup) > 16 else ""))
    for part, message in result.get("errors", {}).items():
        lines.append(f"  {part}: FAILED: {shown(message)}")
    for warning in result.get("warnings", []):
        lines.append(f"  warning: {shown(warning)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Analyse each file; exit 2 if any file could not be read.

    Several files (a folder) go through the pipelined batch path (:func:`musicapp.batch.run_batch`:
    worker processes, results printed in the given order as they complete); one file is analysed
    in this process.
    """
    from musicapp.errors import MusicappError

    if any(not raw.strip() for raw in args.paths):  # Path("") is the current folder
        raise MusicappError("an input file name is empty")
    if args.no_tags and (args.device != "auto" or args.threads is not None):
        used = "--device" if args.device != "auto" else "--threads"
        raise MusicappError(f"{used} sets where the mood tagger runs; with --no-tags nothing "
                            "uses it (drop one of them)")
    if args.device != "auto" and not args.no_tags:
        # an unusable --device is refused before any file is read or any worker started (the
        # batch workers would each fail on it, one per file)
        from musicapp.models.device import select_device

        select_device(args.device)
    if args.no_music and (args.tempo_level or args.bpm is not None):
        raise MusicappError("--tempo-level/--bpm change the found tempo; with --no-music there is "
                            "none (drop one of them)")
    files = expand_paths(args.paths)
    if not files:
        print("musicapp: error: no audio files found", file=sys.stderr)
        return 2
    if _exports(args):
        from musicapp.outputs import check_outputs

        if len(files) != 1:
            raise MusicappError("--midi/--jams/--csv need exactly one input file")
        if args.no_music:
            raise MusicappError("--midi/--jams/--csv need the music analysis (drop --no-music)")
        check_outputs(_exports(args).values(), overwrite=args.overwrite, inputs=files)
        for kind, target in _exports(args).items():
            check_output_kind(target, kind.upper(), f"--{kind}")
    if len(files) == 1:
        return _run_one(args, files[0])
    return _run_batch(args, files)


def _exports(args: argparse.Namespace) -> dict[str, str]:
    """The requested --midi/--jams/--csv outputs."""
    return {k: v for k in ("midi", "jams", "csv") if (v := getattr(args, k, None))}


def _export(args: argparse.Namespace, result: dict) -> None:
    """Write the requested --midi/--jams/--csv files (paths already checked).

    Each file is written to a temporary file beside it and renamed into place by the export
    writers, so a full disk or any failure never leaves a partial file or truncates the file
    ``--overwrite`` replaces; files this run created are removed again when a later one fails
    (no partial output).
    """
    from musicapp.analysis.export import write_csv, write_jams, write_midi

    writers = {"midi": write_midi, "jams": write_jams, "csv": write_csv}
    created: list[Path] = []
    try:
        for kind, target in _exports(args).items():
            out = Path(target)
            new = not out.exists()
            writers[kind](result, out, overwrite=True)
            if new:
                created.append(out)
            print(f"wrote {shown(out)}", file=sys.stderr)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise


def _emit(args: argparse.Namespace, result: dict) -> None:
    from musicapp.errors import ModelError

    errors = result.get("errors", {})
    if args.device != "auto" and "tags" in errors and "device" in errors["tags"].lower():
        raise ModelError(errors["tags"])
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(summarise(result), flush=True)


def _run_one(args: argparse.Namespace, path: Path) -> int:
    from musicapp.errors import AudioDecodeError
    from musicapp.pipeline import analyze_path

    try:
        result = analyze_path(
            path, tags=not args.no_tags, music=not args.no_music, device=args.device, threads=args.threads
        ).to_dict()
    except AudioDecodeError as exc:
        print(f"musicapp: error: {shown(exc)}", file=sys.stderr)
        return 2
    result = _at_level(args, result)
    _emit(args, result)
    if _exports(args):
        _export(args, result)
    return 0


def _at_level(args: argparse.Namespace, result: dict) -> dict:
    """``result`` at the --tempo-level/--bpm the user chose (unchanged without them, or when it
    is that level already); a MusicappError names a track without a tempo or a --bpm that is
    not a half/double level of the found tempo."""
    level, bpm = getattr(args, "tempo_level", None), getattr(args, "bpm", None)
    if level is None and bpm is None:
        return result
    from musicapp.analysis.tempo_choice import choose_tempo
    from musicapp.errors import MusicappError

    try:
        out = choose_tempo(result, bpm, level=level)
    except MusicappError as exc:
        name = shown(result.get("path") or "")
        asked = f"--tempo-level {level}" if level else f"--bpm {bpm:g}"
        raise MusicappError(f"{name}: {asked}: {exc}") from None
    return out


def batch_error(path: str, error: str) -> str:
    """A failed file's error line names the file: a decoder's message already does, but a
    worker's death ("worker died (SIGKILL) twice while analysing this file") or failure does
    not, and the progress bar beside it has moved on to another file."""
    return error if str(path) in error else f"{path}: {error}"


def _run_batch(args: argparse.Namespace, files: list[Path]) -> int:
    from musicapp.batch import TrackSpec, run_batch

    spec = TrackSpec(tags=not args.no_tags, music=not args.no_music, fingerprint=False,
                     device=args.device, threads=args.threads)
    ready: dict[int, tuple[str, dict]] = {}
    state = {"next": 0, "status": 0}

    def on_result(index: int, path: str, result: dict) -> None:
        ready[index] = (path, result)
        while state["next"] in ready:  # print in the given order
            done_path, done = ready.pop(state["next"])
            state["next"] += 1
            _clear_progress()
            if done["ok"]:
                from musicapp.errors import MusicappError

                try:
                    _emit(args, _at_level(args, done["analysis"]))
                except MusicappError as exc:  # e.g. no tempo: this file only
                    print(f"musicapp: error: {exc}", file=sys.stderr)
                    state["status"] = 2
            else:
                print(f"musicapp: error: {shown(batch_error(done_path, done['error']))}",
                      file=sys.stderr)
                state["status"] = 2

    def progress(done: int, total: int, path: str) -> None:
        _progress_bar(done, total, Path(path).name)  # on stderr: stdout stays clean for --json

    run_batch([(i, str(p)) for i, p in enumerate(files)], on_result, spec=spec, progress=progress)
    return state["status"]
