"""Command-line entry point: ``musicapp [COMMAND] ...``.

With no command the GUI opens. Commands are discovered from the modules of this package so that
each feature owns its own command file and nothing central needs editing:

* ``register(subparsers)`` adds top-level commands (``info``, ``record``, ``chords`` ...);
* ``register_evaluate(subparsers)`` adds ``musicapp evaluate NAME``;
* ``register_train(subparsers)`` adds ``musicapp train NAME``;
* ``register_bench(subparsers)`` adds ``musicapp bench NAME`` (benchmarks that print figures).

A registered parser sets ``func`` (``args -> int``) with ``set_defaults``. Command modules import
only the standard library at module level; heavy imports (torch, librosa) happen inside ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from musicapp import __version__
from musicapp.errors import MusicappError


def _command_modules() -> list:
    """Import every command module of this package, in name order."""
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    return modules


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every discovered command."""
    parser = argparse.ArgumentParser(
        prog="musicapp",
        description="Analyse tracks, get chord ideas that fit a mood, export MIDI. "
        "Run without a command to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"musicapp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the desktop application (the default)")
    gui.add_argument("files", nargs="*", help="audio files to open")
    gui.set_defaults(func=_run_gui)

    evaluate = sub.add_parser("evaluate", help="run an evaluation and print its table")
    eval_sub = evaluate.add_subparsers(dest="target", metavar="TARGET", required=True)
    train = sub.add_parser("train", help="train or fine-tune a model on your own data")
    train_sub = train.add_subparsers(dest="target", metavar="TARGET", required=True)
    bench = sub.add_parser("bench", help="run a benchmark and print figures and ratios")
    bench_sub = bench.add_subparsers(dest="target", metavar="TARGET", required=True)

    for module in _command_modules():
        if hasattr(module, "register"):
            module.register(sub)
        if hasattr(module, "register_evaluate"):
            module.register_evaluate(eval_sub)
        if hasattr(module, "register_train"):
            module.register_train(train_sub)
        if hasattr(module, "register_bench"):
            module.register_bench(bench_sub)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    from musicapp.gui.app import main as gui_main

    return gui_main(list(getattr(args, "files", []) or []))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv or ["gui"])
    try:
        return int(args.func(args) or 0)
    except MusicappError as exc:
        print(f"musicapp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("musicapp: interrupted", file=sys.stderr)
        return 130
