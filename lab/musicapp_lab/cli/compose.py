"""Lab commands for the chord model: ``train chords``, ``evaluate chords``, ``bench compose``."""

from __future__ import annotations

import argparse
import json
import sys

from musicapp_lab.cli._out import add_force, check_out, check_outs, refuse_same_file, write_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp build-chord-corpus``."""
    p = subparsers.add_parser(
        "build-chord-corpus", help="(lab) rebuild resources/compose/chord_corpus.json.gz from "
        "local copies of McGill Billboard, POP909, OpenEWLD and the music21 extraction",
        description="Parse the corpora under DATA (billboard-2.0-salami_chords/, "
        "pop909/POP909/, ewld/dataset/) plus resources/compose/corpus_tokens.json into one "
        "gzipped JSON file (see resources/compose/README.md). All four sources are required "
        "(a missing one is an error before any parsing) unless --sources names fewer; the "
        "report printed at the end lists the sources that went in.")
    p.add_argument("--data", default=None, help="folder with the extracted corpora "
                   "(default: data/corpus)")
    p.add_argument("--sources", default=None, metavar="LIST",
                   help="build from these sources only, comma-separated, from billboard, "
                        "pop909, ewld, music21 (default: all four, as the shipped corpus)")
    p.add_argument("-o", "--output", default=None, help="output file (default: "
                   "resources/compose/chord_corpus.json.gz)")
    add_force(p)
    p.set_defaults(func=run_build_corpus)


def run_build_corpus(args: argparse.Namespace) -> int:
    """Build the corpus file and print its counts."""
    from pathlib import Path

    from musicapp.errors import MusicappError
    from musicapp_lab.compose.realcorpus import SOURCES, build, find_sources, parse_sources
    from musicapp_lab.paths import DATA, RESOURCES

    if args.data and not Path(args.data).is_dir():  # named: an error even for music21 alone
        raise MusicappError(f"{args.data}: data folder does not exist")
    data = Path(args.data) if args.data else DATA / "corpus"
    sources = parse_sources(args.sources) if args.sources is not None else SOURCES
    out = Path(args.output) if args.output else RESOURCES / "compose" / "chord_corpus.json.gz"
    corpus_json = RESOURCES / "compose" / "corpus_tokens.json"
    find_sources(data, corpus_json, sources)  # before the output check's advice to --force
    check_out(out, force=args.force)
    res = build(data, out, corpus_json, force=args.force, sources=sources)
    print(json.dumps(res, indent=1))
    if res["left_out"]:
        print(f"built from {len(res['sources'])} of {len(SOURCES)} sources "
              f"({', '.join(res['sources'])}); left out: {', '.join(res['left_out'])}",
              file=sys.stderr)
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp train chords``."""
    p = subparsers.add_parser(
        "chords", help="train the ChordGRU progression model (CPU, a few minutes)",
        description="Train ChordGRU on resources/compose/chord_corpus.json.gz (Billboard, "
        "POP909, OpenEWLD, music21), split by song, keep the best validation epoch, write "
        "safetensors + sha256.")
    p.add_argument("-o", "--output", help="weights path (default: resources/models/"
                   "chordgru.safetensors)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--hidden", type=int, default=160, help="GRU units (160)")
    p.add_argument("--exclude-source", choices=["billboard", "pop909", "ewld", "music21"],
                   help="keep this whole source out (cross-corpus test)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--log", help="also append the log to this file")
    add_force(p)
    p.set_defaults(func=run_train)
    _register_train_melody(subparsers)


def _register_train_melody(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "melody", help="fit the small melody model on POP909 + OpenEWLD melodies and compare it "
        "with the chord-tone melody on held-out songs",
        description="Fit musicapp/compose/melody.py's weights on the training songs of the "
        "chord corpus, evaluate note perplexity, chord-tone ratio and interval-histogram KL on "
        "the test songs, write resources/compose/melody_model.json.")
    p.add_argument("-o", "--output", help="weights JSON (default: resources/compose/"
                   "melody_model.json)")
    p.add_argument("--seed", type=int, default=0)
    add_force(p)
    p.set_defaults(func=run_train_melody)


def run_train_melody(args: argparse.Namespace) -> int:
    """Fit and evaluate the melody model."""
    from pathlib import Path

    from musicapp.compose.melody import MODEL_PATH
    from musicapp_lab.compose.melody_train import train_and_evaluate

    out = Path(args.output) if args.output else MODEL_PATH
    check_out(out, force=args.force)
    res = train_and_evaluate(out, seed=args.seed, force=args.force)
    print(json.dumps(res, indent=1))
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Train and print the log."""
    from pathlib import Path

    from musicapp.compose.model import DEFAULT_WEIGHTS
    from musicapp_lab.compose.train import train

    out = Path(args.output) if args.output else DEFAULT_WEIGHTS
    refuse_same_file({"-o/--output": out, "--log": args.log})  # the log is appended, then
    check_out(out, force=args.force)                          # the weights replace the file
    logf = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115

    def log(line: str) -> None:
        print(line, flush=True)
        if logf:
            logf.write(line + "\n")
            logf.flush()

    try:
        res = train(out, force=args.force, epochs=args.epochs,
                    seed=args.seed, batch=args.batch, lr=args.lr, device=args.device, log=log,
                    threads=args.threads, hidden=args.hidden,
                    exclude_source=args.exclude_source)
    finally:
        if logf:
            logf.close()
    print(json.dumps(res, indent=1))
    return 0


def register_evaluate(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp evaluate chords``."""
    p = subparsers.add_parser(
        "chords", help="perplexity vs n-gram baselines, loop statistics, constraints, "
        "conditioning effect sizes",
        description="Evaluate the shipped ChordGRU: held-out perplexity/top-1 vs unigram, bigram "
        "and interpolated trigram; generated-vs-real loop entropy and coverage; 8-gram copy "
        "rate; constraint satisfaction over N loops; conditioning effect sizes.")
    p.add_argument("--model", help="weights file (default: shipped)")
    p.add_argument("--constraint-loops", type=int, default=10000)
    p.add_argument("--condition-loops", type=int, default=1000)
    p.add_argument("--loops", type=int, default=1000, help="generated loops for the entropy, "
                   "coverage and copy figures (1000)")
    p.add_argument("--regenerate-trials", type=int, default=10000)
    p.add_argument("--external", metavar="FILE.jsonl", help="only score the progressions of "
                   "FILE (JSON Lines: key, mode, chords as Roman numerals/tokens/Harte labels, "
                   "beats; see musicapp_lab.compose.external) with the GRU and the n-gram "
                   "baselines: perplexity and top-1")
    p.add_argument("--cross-model", help="weights trained with --exclude-source ewld: also "
                   "report the cross-corpus figure")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT", help="also write all figures as JSON")
    add_force(p)
    p.set_defaults(func=run_evaluate)
    _register_emotion(subparsers)


def _register_emotion(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "chord-emotion", help="emotion steering judged by the app's audio emotion model: "
        "Spearman rho of requested vs measured valence/arousal for GRU alone, GRU + reranker, "
        "random loops",
        description="Render generated loops through the soundfont and score them with the "
        "app's audio emotion model (see musicapp_lab.compose.judge). The fusion judges "
        "('fusion': as shipped; 'fusion-no-chords': without the chord-quality descriptor, "
        "independent of the reranker's rule) are scored together in one pass.")
    p.add_argument("--loops", type=int, default=500, help="loops per row (500)")
    p.add_argument("--patches", type=int, default=1, help="tagger patches (2.992 s each) "
                   "judged per loop, averaged (1)")
    p.add_argument("--model", help="weights file (default: shipped)")
    p.add_argument("--rows", default="gru,reranker,random", help="rows to run, comma-separated "
                   "from gru, reranker, random (all)")
    p.add_argument("--judge", choices=("fusion", "fusion-no-chords", "tagger"),
                   default="fusion", help="judge printed first; either fusion judge scores "
                   "both fusion judges in one pass (fusion)")
    p.add_argument("--records", metavar="FILE", help="save per-loop records (requested values, "
                   "key, chords, each judge's values, descriptors) to FILE (a new file)")
    p.add_argument("--from-records", metavar="FILE", nargs="+", help="only recompute and print "
                   "the table from record files (e.g. one per row), rendering nothing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT", help="also write figures and raw data as JSON")
    add_force(p)
    p.set_defaults(func=run_emotion)


def run_emotion(args: argparse.Namespace) -> int:
    """Run the judged emotion evaluation (or recompute its table from record files)."""
    from musicapp_lab.compose.judge import (
        ROWS,
        differences_from_records,
        figures_from_records,
        format_differences,
        format_table,
        load_records,
        run,
    )

    check_outs({"--json": args.json, "--records": args.records}, force=args.force,
               inputs=[("--from-records", f) for f in args.from_records or ()])
    if args.from_records:
        recs = load_records(args.from_records)
        figs = figures_from_records(recs)
        print(format_table(figs))
        diffs = differences_from_records(recs)
        if diffs:
            print("\npaired difference of rho against the random row (same requests), "
                  "[95 % paired bootstrap interval]")
            print(format_differences(diffs))
        if args.json:
            write_json(args.json, figs, force=args.force, indent=1)
        return 0
    names = dict(zip(("gru", "reranker", "random"), ROWS, strict=True))
    try:
        rows = tuple(names[r.strip()] for r in args.rows.split(","))
    except KeyError as exc:
        raise SystemExit(f"--rows: unknown row {exc}") from None
    res = run(args.loops, seed=args.seed, model_path=args.model, patches=args.patches,
              rows=rows, judge=args.judge, records_path=args.records, force=args.force)
    if args.json:
        write_json(args.json, res, force=args.force)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Run the evaluation and print the table."""
    from musicapp_lab.compose.evaluate import run

    check_out(args.json, force=args.force)
    if args.external:
        from musicapp_lab.compose.external import score_external

        res = score_external(args.external, args.model)
        if args.json:
            write_json(args.json, res, force=args.force, indent=1)
        return 0
    res = run(args.model, n_constraint_loops=args.constraint_loops,
              n_condition_loops=args.condition_loops, n_loops=args.loops, seed=args.seed,
              n_regenerate=args.regenerate_trials, cross_model=args.cross_model)
    if args.json:
        write_json(args.json, res, force=args.force, indent=1, default=float)
    return 0


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp bench compose``."""
    p = subparsers.add_parser(
        "compose", help="time an 8-chord loop + arrangement + MIDI write (target < 50 ms)",
        description="Median time of generate (8 chords, 8 candidates) + arrange + atomic MIDI "
        "write, per stage, with ratios to the 50 ms budget and to a plain mido write of the same "
        "file measured in the same process.")
    p.add_argument("--repeats", type=int, default=50)
    p.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark."""
    from musicapp_lab.bench.compose import main

    return main(repeats=args.repeats)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
