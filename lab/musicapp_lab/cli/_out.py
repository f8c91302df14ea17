"""The one way the lab writes an output named by ``-o/--out/--json`` and similar options.

A lab command never replaces an existing file silently (a trained model or an evaluation log
is hours of work): without ``--force`` an existing output is refused before anything runs, with
"OUT exists; pass --force to replace it" (printed by the CLI as ``musicapp: error: ...``, exit
2). A target that is no regular file (a folder, a device such as ``/dev/full``, a FIFO, a
socket) is refused first, with or without ``--force``, naming what it is; two outputs of one
command may not be the same file (:func:`refuse_same_file`). Every file is written through
:func:`musicapp.outputs.write_atomically`, so a crash, a full disk or Ctrl+C leaves either the
old file or the complete new one, never half of one.

Only the standard library is imported at module level (``musicapp.outputs`` loads inside).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from musicapp.errors import FileExistsRefusal

FORCE_HELP = "replace output files that already exist (default: refuse them)"


def add_force(parser: argparse.ArgumentParser) -> None:
    """Add ``--force`` (replace existing outputs) to ``parser``."""
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


def refusal(path: str | Path) -> FileExistsRefusal:
    """The error for an existing output written without ``--force``."""
    from musicapp.errors import FileExistsRefusal

    return FileExistsRefusal(f"{path} exists; pass --force to replace it")


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """For a lab module's own ``main`` (``python -m ...``): a ``MusicappError`` (a refused
    output among them) is printed as ``musicapp: error: ...`` and exits with status 2, as the
    ``musicapp`` command does, instead of a traceback."""
    from musicapp.errors import MusicappError

    try:
        yield
    except MusicappError as exc:
        print(f"musicapp: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def refuse_non_file(path: str | Path) -> Path:
    """Raise a ``MusicappError`` naming what ``path`` is when it exists but is no regular file
    (a folder, a character or block device, a FIFO, a socket, a file in /proc or /sys): such a
    target is never written, so "exists; pass --force" would be the wrong advice."""
    from musicapp.errors import MusicappError
    from musicapp.outputs import special_file_reason

    p = Path(path)
    if p.is_dir():
        raise MusicappError(f"{p}: is a directory, not a file name")
    reason = special_file_reason(p)
    if reason:
        raise MusicappError(f"{p}: {reason}")
    return p


def refuse_existing(path: str | Path, *, force: bool) -> Path:
    """Raise when ``path`` is no regular file (:func:`refuse_non_file`), then :func:`refusal`
    when it exists (or is a dangling link) and not ``force``; the cheap check a writing function
    makes before its work (the folder may not exist yet)."""
    p = refuse_non_file(path)
    if (p.exists() or p.is_symlink()) and not force:
        raise refusal(p)
    return p


def same_file(a: str | Path, b: str | Path) -> bool:
    """:func:`musicapp.outputs.same_file`: whether two names reach one file (links resolved,
    or the same inode)."""
    from musicapp.outputs import same_file as product_same_file

    return product_same_file(a, b)


def refuse_same_file(outputs: Mapping[str, str | Path | None] | Iterable[str | Path | None],
                     *, inputs: Iterable[tuple[str, str | Path | None]] = ()) -> None:
    """Refuse one file named for two outputs of a command (or an output that is one of its
    ``inputs``), through symbolic and hard links too, whatever ``--force`` says: the second
    write would destroy the first (a log appended to the weights file that then replaces it).

    ``outputs`` maps each option to its path (``{"-o/--output": out, "--log": log}``) so the
    message names both options; a plain iterable of paths is named "two outputs". ``inputs``:
    ``(option, path)`` pairs of the files the command reads. ``None`` and empty paths are
    skipped.

    Raises:
        MusicappError: two outputs, or an output and an input, are the same file.
    """
    from musicapp.errors import MusicappError

    named = (list(outputs.items()) if isinstance(outputs, Mapping)
             else [("", p) for p in outputs])
    sources = [(option, p) for option, p in inputs if p]
    seen: list[tuple[str, str | Path]] = []
    for option, path in named:
        if not path or not str(path).strip():
            continue
        for source_option, source in sources:
            if same_file(path, source):
                raise MusicappError(f"{path}: {option or 'an output'} is the input file "
                                    f"{source} ({source_option}); choose another name for the "
                                    "output (an input is never overwritten)")
        for other_option, other in seen:
            if same_file(path, other):
                both = (f"{other_option} and {option}" if option and other_option
                        else "two outputs")
                where = "" if str(path) == str(other) else f" (as {other})"
                raise MusicappError(f"{path}: the same file is named for {both}{where}; "
                                    "choose a different file for each")
        seen.append((option, path))


def check_out(path: str | Path | None, *, force: bool) -> Path | None:
    """Check before any work that ``path`` may be written (``None``: nothing to check).

    Raises:
        MusicappError: ``path`` is no regular file (a folder, a device, a FIFO...), checked
            first; or cannot be written (a missing or read-only folder...).
        FileExistsRefusal: ``path`` exists (or is a dangling link) and ``force`` is false.
    """
    if path is None:
        return None
    from musicapp.outputs import check_output

    p = refuse_existing(path, force=force)
    return check_output(p, overwrite=True, flag="--force")


def check_outs(paths: Mapping[str, str | Path | None] | Iterable[str | Path | None], *,
               force: bool, inputs: Iterable[tuple[str, str | Path | None]] = ()) -> None:
    """:func:`refuse_same_file` for all the outputs of one command (a mapping from option to
    path names the options in the message), then :func:`check_out` for each (``None``
    skipped)."""
    items = list(paths.values()) if isinstance(paths, Mapping) else list(paths)
    refuse_same_file(paths if isinstance(paths, Mapping) else items, inputs=inputs)
    for path in items:
        check_out(path, force=force)


def write_out(path: str | Path, write: Callable[[str], None], *, force: bool,
              kind: str = "") -> Path:
    """Write ``path`` atomically through ``write(tmp_name)``; refuse an existing file unless
    ``force``. Creates the missing parent folder. Returns ``path``."""
    from musicapp.outputs import write_atomically

    p = refuse_existing(path, force=force)
    p.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(p, write, overwrite=force, kind=kind, flag="--force")


def write_bytes(path: str | Path, data: bytes, *, force: bool, kind: str = "") -> Path:
    """Write ``data`` to ``path`` (see :func:`write_out`)."""

    def save(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return write_out(path, save, force=force, kind=kind)


def write_text(path: str | Path, text: str, *, force: bool, kind: str = "") -> Path:
    """Write ``text`` (UTF-8) to ``path`` (see :func:`write_out`)."""
    return write_bytes(path, text.encode("utf-8"), force=force, kind=kind)


def write_json(path: str | Path, obj: Any, *, force: bool, **dump_options: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` (see :func:`write_out`); ``dump_options`` go to
    :func:`json.dumps` (``indent``, ``default``, ``separators``...)."""
    return write_text(path, json.dumps(obj, **dump_options), force=force, kind="JSON")


def save_figure(fig: Any, path: str | Path, *, force: bool, **savefig_options: Any) -> Path:
    """Save a matplotlib figure to ``path`` (format from its suffix; see :func:`write_out`)."""
    p = Path(path)
    fmt = p.suffix.lstrip(".").lower() or "png"

    def save(tmp: str) -> None:
        fig.savefig(tmp, format=fmt, **savefig_options)

    return write_out(p, save, force=force, kind="plot")
