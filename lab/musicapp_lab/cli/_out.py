"""The one way the lab writes an output named by ``-o/--out/--json`` and similar options.

A lab command never replaces an existing file silently (a trained model or an evaluation log
is hours of work): without ``--force`` an existing output is refused before anything runs, with
"OUT exists; pass --force to replace it" (printed by the CLI as ``musicapp: error: ...``, exit
2). Every file is written through :func:`musicapp.outputs.write_atomically`, so a crash, a full
disk or Ctrl+C leaves either the old file or the complete new one, never half of one.

Only the standard library is imported at module level (``musicapp.outputs`` loads inside).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
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


def refuse_existing(path: str | Path, *, force: bool) -> Path:
    """Raise :func:`refusal` when ``path`` exists (or is a dangling link) and not ``force``;
    the cheap check a writing function makes before its work (the folder may not exist yet)."""
    p = Path(path)
    if (p.exists() or p.is_symlink()) and not force:
        raise refusal(p)
    return p


def check_out(path: str | Path | None, *, force: bool) -> Path | None:
    """Check before any work that ``path`` may be written (``None``: nothing to check).

    Raises:
        FileExistsRefusal: ``path`` exists (or is a dangling link) and ``force`` is false.
        MusicappError: ``path`` cannot be written (a folder, a device, a missing folder...).
    """
    if path is None:
        return None
    from musicapp.outputs import check_output

    p = Path(path)
    if not p.is_dir():
        refuse_existing(p, force=force)
    return check_output(p, overwrite=True, flag="--force")


def check_outs(paths: Iterable[str | Path | None], *, force: bool) -> None:
    """:func:`check_out` for each path (``None`` skipped)."""
    for path in paths:
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
