"""``musicapp evaluate analysis`` and ``musicapp bench analysis`` (key/tempo/beats/chords)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from musicapp.errors import MusicappError
from musicapp_lab.cli._out import add_force, check_out


def register_evaluate(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp evaluate analysis``."""
    p = subparsers.add_parser(
        "analysis",
        help="score key/tempo/beats/chords on the rendered evaluation set",
        description="Score musicapp.analysis (key, tempo, beats, downbeats, meter, chords) with "
        "mir_eval on symbolic music rendered through the GM soundfont: the realistic set (POP909 "
        "song openings with their annotations, and OpenEWLD lead sheets voiced by the app's "
        "arranger, on several GM programs, levels and Groove MIDI drums; built from local copies "
        "with --build --pop909 DIR --openewld DIR --groove DIR) beside the old "
        "set (generated progressions in all 24 keys, music21 chorales and madrigals with expert "
        "analyses). Prints one table with bootstrap 95%% intervals over pieces; the baseline "
        "column is librosa.beat.beat_track + Krumhansl key + triad templates on chroma_cqt, "
        "run in the same process.",
    )
    p.add_argument("--build", action="store_true",
                   help="render the set first (skips pieces already in the cache)")
    p.add_argument("--rebuild", action="store_true", help="re-render every piece")
    p.add_argument("--split", choices=["eval", "dev", "eval2", "eval3"], default="eval",
                   help="'eval' (default), 'dev' (the pieces parameters were tuned on) or "
                        "'eval2' (a second, fresh realistic evaluation split: POP909 only, no old "
                        "set; see lab/musicapp_lab/analysis/evalset/EVAL2.md) or 'eval3' (a "
                        "third, from songs no analysis training list draws; EVAL3.md)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="where rendered audio lives (default ~/.cache/musicapp/analysis-eval, "
                        "or $MUSICAPP_CACHE/analysis-eval)")
    p.add_argument("--pop909", type=Path, default=None,
                   help="with --build: local copy of POP909 (the POP909/ folder of "
                        "music-x-lab/POP909-Dataset) for the realistic set")
    p.add_argument("--openewld", type=Path, default=None,
                   help="with --build: local copy of OpenEWLD (00sapo/OpenEWLD, the folder "
                        "holding dataset/<composer>/<song>/*.mxl) for the realistic set: lead "
                        "sheets voiced by the app's arranger ('dev' and 'eval' only)")
    p.add_argument("--groove", type=Path, default=None,
                   help="with --build: local copy of the Groove MIDI Dataset (groove/ folder) for "
                        "drums in the realistic set")
    p.add_argument("--reliability", type=Path, default=None,
                   help="write a key-confidence reliability diagram (PNG) of the realistic set")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline column")
    p.add_argument("--limit", type=int, default=None, help="score only the first N pieces")
    p.add_argument("--source", action="append",
                   choices=["generated", "chorale", "madrigal", "pop909", "openewld"],
                   help="only pieces from this source (repeatable)")
    p.add_argument("--chords", choices=["learned", "templates"], default=None,
                   help="chord emission model of 'ours' (default: the product's, learned)")
    p.add_argument("-v", "--verbose", action="store_true", help="print one line per piece")
    add_force(p)
    p.set_defaults(func=_run_evaluate)


def _chord_kwargs(emission: str | None) -> dict | None:
    """``analyze_music`` keyword arguments for ``--chords`` (None: the product's defaults)."""
    if emission is None:
        return None
    from musicapp.analysis.chords import ChordParams

    return {"chord_params": ChordParams(emission=emission)}


def _run_evaluate(args: argparse.Namespace) -> int:
    from musicapp_lab.analysis.evalset.dataset import (
        SPLIT_SEEDS,
        build,
        build_realistic,
        default_cache_dir,
    )
    from musicapp_lab.analysis.evalset.evaluate import evaluate_split, format_table

    cache = args.cache_dir or default_cache_dir()
    check_out(args.reliability, force=args.force)  # before the minutes of scoring
    has_old = args.split in SPLIT_SEEDS  # eval2 and eval3 are realistic only
    if args.build or args.rebuild:
        def note(msg: str) -> None:
            print(f"rendered {msg}", file=sys.stderr)

        if args.openewld is not None:  # name a missing copy before rendering anything
            from musicapp_lab.analysis.evalset.openewld import sheet_files

            try:
                sheet_files(args.openewld)
            except FileNotFoundError as exc:
                raise MusicappError(str(exc)) from exc
        if has_old:
            out = build(args.split, cache, force=args.rebuild, progress=note)
            print(f"evaluation set '{args.split}' ready in {out}", file=sys.stderr)
        if args.pop909 is not None or args.openewld is not None:
            try:
                out = build_realistic(args.split, cache, pop909=args.pop909, groove=args.groove,
                                      openewld=args.openewld, force=args.rebuild,
                                      progress=note)
            except FileNotFoundError as exc:
                raise MusicappError(str(exc)) from exc
            print(f"realistic set '{args.split}-real' ready in {out}", file=sys.stderr)
    splits = [args.split] if has_old else []
    if (cache / f"{args.split}-real" / "index.json").is_file():
        splits.append(f"{args.split}-real")
    else:
        print(f"no realistic set in {cache / (args.split + '-real')}: build it with --build "
              "--pop909 DIR [--openewld DIR] [--groove DIR]", file=sys.stderr)
    if not splits:
        raise MusicappError(f"split '{args.split}' is not built in {cache}: build it with "
                            f"--build --split {args.split} --pop909 DIR [--groove DIR]")
    try:
        res = evaluate_split(
            splits, cache_dir=cache, baseline=not args.no_baseline,
            limit=args.limit, sources=set(args.source) if args.source else None,
            log=print if args.verbose else None, analyze_kwargs=_chord_kwargs(args.chords))
    except FileNotFoundError as exc:
        raise MusicappError(f"{exc}; run `musicapp evaluate analysis --build`") from exc
    print(format_table(res))
    if args.reliability is not None and "realistic" in res["ours"]:
        from musicapp_lab.analysis.evalset.evaluate import reliability_diagram

        path = reliability_diagram(res["ours"]["realistic"].calib, args.reliability,
                                   title=f"Key confidence, realistic '{args.split}' set",
                                   force=args.force)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp bench analysis``."""
    p = subparsers.add_parser(
        "analysis",
        help="time key+tempo/beats+chords on a 3-minute track vs a librosa baseline",
        description="Times musicapp.analysis.analyze_music on a 3-minute track (rendered, or "
        "--file) against librosa.beat.beat_track + a chroma-template chord baseline in the same "
        "process, prints both and their ratio, then both methods' accuracy on the rendered "
        "development set when it is built (`musicapp evaluate analysis --build --split dev`).",
    )
    p.add_argument("--file", type=Path, default=None, help="time this audio file instead")
    p.add_argument("--seconds", type=float, default=180.0, help="length of the rendered track")
    p.add_argument("--repeats", type=int, default=3, help="runs per method (best is kept)")
    p.add_argument("--no-accuracy", action="store_true", help="skip the accuracy table")
    p.add_argument("--split", choices=["eval", "dev"], default="dev",
                   help="set for the accuracy table (default 'dev': the evaluation split is "
                        "scored by `musicapp evaluate analysis --split eval`, not by every "
                        "benchmark run)")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.set_defaults(func=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from musicapp_lab.analysis.evalset.dataset import default_cache_dir
    from musicapp_lab.bench.analysis import run_bench

    accuracy = not args.no_accuracy
    cache = args.cache_dir or default_cache_dir()
    if accuracy and not (cache / args.split / "index.json").is_file():
        # the accuracy table is optional: without a built set, time only (exit 0)
        print(f"note: no accuracy table: the '{args.split}' evaluation set is not built in "
              f"{cache} (build it with `musicapp evaluate analysis --build --split {args.split}`)")
        accuracy = False
    try:
        run_bench(args.file, seconds=args.seconds, repeats=max(1, args.repeats),
                  accuracy=accuracy, split=args.split, cache_dir=cache)
    except FileNotFoundError as exc:
        raise MusicappError(f"{exc}; run `musicapp evaluate analysis --build`") from exc
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp train chord-prior``."""
    p = subparsers.add_parser(
        "chord-prior",
        help="rebuild resources/analysis/chord_prior.json from local Billboard/POP909 copies",
        description="Count chord transitions (next quality and root interval given the current "
        "quality) in the McGill Billboard lab files (CC0) and the POP909 development songs (MIT; "
        "song numbers divisible by 4, the evaluation songs are never read) and write the table "
        "the chord decoder can use as a prior.",
    )
    p.add_argument("--billboard", type=Path, default=None,
                   help="the billboard-2.0.1-lab folder (NNNN/full.lab)")
    p.add_argument("--pop909", type=Path, default=None, help="the POP909 folder (NNN/...)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="where to write (default: resources/analysis/chord_prior.json)")
    add_force(p)
    p.set_defaults(func=_run_prior)


def _run_prior(args: argparse.Namespace) -> int:
    from musicapp.paths import resource_path
    from musicapp_lab.analysis.chord_prior import write_prior

    out = args.output or resource_path("analysis", "chord_prior.json")
    check_out(out, force=args.force)
    try:
        path = write_prior(out, args.billboard, args.pop909, force=args.force)
    except FileNotFoundError as exc:
        raise MusicappError(str(exc)) from exc
    print(f"wrote {path}")
    return 0
