"""Files the app writes: check every output before writing any, and honour the user's umask.

Exports are written to a temporary file (``mkstemp``, mode 0600) and renamed into place; without
:func:`apply_umask` every MIDI/WAV export would end up readable by its owner only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from musicapp.errors import FileExistsRefusal, MusicappError


def current_umask() -> int:
    """The process umask (read from ``/proc/self/status`` where possible, without changing it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no other portable way to read it
    os.umask(mask)
    return mask


def apply_umask(path: str | Path, mode: int = 0o666) -> None:
    """Give ``path`` the permissions a plain ``open()`` would have (``mode & ~umask``)."""
    os.chmod(path, mode & ~current_umask())


def check_output(path: str | Path, *, overwrite: bool, flag: str = "--overwrite") -> Path:
    """Check that ``path`` can be written, without writing it.

    Refuses an empty name, a directory, an existing file without ``overwrite`` (naming ``flag``),
    a missing folder, and a folder where no file can be created (read-only, ``/proc``, ``/sys``,
    no permission): a temporary file is created and removed there to be sure.

    Raises:
        FileExistsRefusal: the file exists and ``overwrite`` is false.
        MusicappError: any other reason the file cannot be written.
    """
    if not str(path).strip():
        raise MusicappError("an output file name is empty")
    p = Path(path)
    if p.is_dir():
        raise MusicappError(f"{p}: is a directory, not a file name")
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise FileExistsRefusal(f"{p}: already exists; use {flag} to replace it")
    folder = p.parent
    if not folder.is_dir():
        raise MusicappError(f"{p}: folder {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name[:40]}.", suffix=".check", dir=folder)
    except OSError as exc:
        raise MusicappError(f"{p}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return p


def check_outputs(paths: Iterable[str | Path | None], *, overwrite: bool, flag: str = "--overwrite") -> None:
    """:func:`check_output` for every given path (``None`` skipped); two outputs may not share a file."""
    seen: dict[str, str] = {}
    for path in paths:
        if path is None:
            continue
        check_output(path, overwrite=overwrite, flag=flag)
        key = os.path.realpath(path)
        if key in seen:
            raise MusicappError(f"{path}: the same file is named for two outputs")
        seen[key] = str(path)
