"""The lab's commands, added to the one ``musicapp`` command line through the entry-point group
``musicapp.commands`` (see ``lab/pyproject.toml``).

:func:`register` adds the groups ``musicapp train NAME``, ``musicapp evaluate NAME`` and
``musicapp bench NAME`` plus the model-conversion commands. Each module of this package owns its
commands through the functions ``register`` (top level), ``register_train``,
``register_evaluate`` and ``register_bench``. Command modules import only the standard library
at module level; torch and librosa load inside the commands.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def _command_modules() -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    return modules


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the lab's command groups and commands to the product CLI's ``subparsers``."""
    evaluate = subparsers.add_parser("evaluate", help="(lab) run an evaluation and print its table")
    eval_sub = evaluate.add_subparsers(dest="target", metavar="TARGET", required=True)
    train = subparsers.add_parser("train", help="(lab) train or fine-tune a model on your own data")
    train_sub = train.add_subparsers(dest="target", metavar="TARGET", required=True)
    bench = subparsers.add_parser("bench", help="(lab) run a benchmark and print figures and ratios")
    bench_sub = bench.add_subparsers(dest="target", metavar="TARGET", required=True)
    for module in _command_modules():
        for name, target in (("register", subparsers), ("register_evaluate", eval_sub),
                             ("register_train", train_sub), ("register_bench", bench_sub)):
            if hasattr(module, name):
                getattr(module, name)(target)
