"""Command-line entry point: ``musicapp [COMMAND] ...``.

With no command (or with audio files only) the GUI opens. Commands are discovered from the
modules of this package, so each feature owns its command file: ``register(subparsers)`` adds
top-level commands (``info``, ``record``, ``chords`` ...). Other installed packages add commands
through the entry-point group ``musicapp.commands`` (a callable taking the subparsers): the lab
(``lab/``, not shipped) adds ``train``, ``evaluate`` and ``bench`` that way.

A registered parser sets ``func`` (``args -> int``) with ``set_defaults``. Command modules import
only the standard library at module level; heavy imports (torch, librosa) happen inside ``func``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence

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
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log details to stderr as well as to the log file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the desktop application (the default)")
    gui.add_argument("files", nargs="*", help="audio files to open")
    gui.set_defaults(func=_run_gui)

    for module in _command_modules():
        if hasattr(module, "register"):
            module.register(sub)
    for plugin in _plugins():
        plugin(sub)
    from musicapp.cli._args import harden

    return harden(parser)  # nan, inf and negative counts refused in every command


def _plugins() -> list:
    """Callables of the entry-point group ``musicapp.commands`` (the lab, when installed)."""
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group="musicapp.commands"):
        try:
            found.append(ep.load())
        except ImportError as exc:  # an uninstalled or broken plug-in must not break the app
            print(f"musicapp: warning: command plug-in {ep.name!r} not loaded ({exc})", file=sys.stderr)
    return found


def _run_gui(args: argparse.Namespace) -> int:
    from musicapp.gui.app import main as gui_main

    return gui_main(list(getattr(args, "files", []) or []))


def _default_to_gui(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``musicapp`` and ``musicapp FILE...`` open the GUI (with the files). A first word that is
    neither a command nor an existing path or audio file name stays as it is, so argparse names
    the unknown command instead of the GUI opening with a file called ``trian``."""
    commands = set()
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        commands.update(getattr(action, "choices", {}) or {})
    words = [a for a in argv if a not in ("-v", "--verbose")]
    if not words:
        return [*argv, "gui"]
    first = words[0]
    from musicapp.filetypes import is_audio_name

    looks_like_file = os.path.exists(first) or is_audio_name(first)
    if not first.startswith("-") and first not in commands and looks_like_file:
        flags = [a for a in argv if a in ("-v", "--verbose")]
        return [*flags, "gui", *words]
    return argv


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP received by a command: raised like Ctrl+C's KeyboardInterrupt, so the
    command cleans up (the temporary file of a half-written export, worker processes) and keeps
    what Ctrl+C keeps (a recording's take) instead of dying in the middle of a write."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_on_termination() -> Callable[[], None]:
    """Turn SIGTERM/SIGHUP into :class:`Terminated` (where they still have their default
    action); returns the function that puts the previous handlers back."""
    import signal

    def handler(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    previous: list[tuple[int, object]] = []
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None or signal.getsignal(sig) is not signal.SIG_DFL:
            continue
        with contextlib.suppress(ValueError, OSError):  # not the main thread: the default
            previous.append((sig, signal.signal(sig, handler)))

    def restore() -> None:
        for sig, old in previous:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, old)

    return restore


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    argv = _default_to_gui(argv, parser)
    args = parser.parse_args(argv)
    from musicapp.logs import setup_logging

    setup_logging(verbose=bool(getattr(args, "verbose", False)))
    log = logging.getLogger("musicapp.cli")
    log.info("command: musicapp %s", " ".join(argv))
    # not for the GUI: a Python exception raised inside Qt's event loop ends nothing; the GUI
    # closes its window on SIGINT/SIGTERM/SIGHUP itself (musicapp.gui.app)
    restore = (lambda: None) if args.func is _run_gui else _raise_on_termination()
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except Terminated as exc:
        print("musicapp: terminated", file=sys.stderr)
        return 128 + exc.signum
    except MusicappError as exc:
        log.info("error: %s", exc)
        from musicapp.cli._text import shown

        print(f"musicapp: error: {shown(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("musicapp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`musicapp info ... | head -1`): exit quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a tool killed by the signal reports
    finally:
        restore()
