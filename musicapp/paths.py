"""Where musicapp finds its shipped resources and keeps the user's data.

The top-level ``resources/`` folder of the source tree is the single source of truth; the wheel
packages it as ``musicapp/resources`` (see ``pyproject.toml``), and it is read through
:mod:`importlib.resources` so that an installed wheel, an editable install and a PyInstaller
bundle all find the same files.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
#: Where the folder lies outside an installed wheel: beside the package in a PyInstaller bundle,
#: one level up in a source checkout.
_FALLBACKS = (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources")


def resources_root() -> Path:
    """The folder holding ``models/`` and ``compose/`` (``MUSICAPP_RESOURCES`` overrides it)."""
    override = os.environ.get("MUSICAPP_RESOURCES")
    if override:
        return Path(override)
    try:
        root = resources.files("musicapp.resources")
        path = Path(str(root))
        if (path / "models").is_dir():
            return path
    except (ModuleNotFoundError, TypeError):  # not installed as a package (bundle, source tree)
        pass
    for candidate in _FALLBACKS:
        if (candidate / "models").is_dir():
            return candidate
    return _FALLBACKS[-1]


def resource_path(*parts: str) -> Path:
    """Path of a shipped resource, e.g. ``resource_path("models", "hashnet.safetensors")``."""
    return resources_root().joinpath(*parts)


def user_cache_dir() -> Path:
    """The per-user cache folder (``~/.cache/musicapp`` on Linux): rebuildable files such as
    numba's compiled kernels and the analysis filter banks. Not created here."""
    from platformdirs import user_cache_dir as _user_cache_dir

    return Path(_user_cache_dir("musicapp"))


def user_data_dir() -> Path:
    """The per-user data folder (library database, logs, caches): ``$MUSICAPP_DATA_DIR`` or the
    platform's (``~/.local/share/musicapp`` on Linux). Not created here."""
    override = os.environ.get("MUSICAPP_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir as _user_data_dir

    return Path(_user_data_dir("musicapp", appauthor=False))


class NotARegularFile(OSError):
    """The path is a FIFO, device, socket or folder: it has no content to read as a file."""


#: the largest file :func:`read_regular_file` reads (the caches hold a few MB per entry)
MAX_READ_BYTES = 256 * 2**20


def read_regular_file(path: str | Path, max_bytes: int = MAX_READ_BYTES, *,
                      follow_links: bool = True) -> bytes:
    """The bytes of ``path`` if it is a regular file (the cache folders are writable by anyone
    running as the user: a FIFO planted there must not hang the app, ``/dev/zero`` must not fill
    memory). Opened without blocking and checked with ``fstat`` before reading.

    Raises:
        FileNotFoundError: no such file.
        NotARegularFile: a FIFO, device, socket or folder, or a file larger than ``max_bytes``
            (a planted multi-GB file must not exhaust memory); with ``follow_links=False`` also
            a symbolic link.
    """
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:  # a symbolic link in the last component fails to open (ELOOP)
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise NotARegularFile(f"{path}: a symbolic link, not a file")
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with open(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(f"{path}: not a regular file")
        if st.st_size > max_bytes:
            raise NotARegularFile(f"{path}: {st.st_size} bytes, more than {max_bytes} expected")
        return fh.read(max_bytes + 1)
