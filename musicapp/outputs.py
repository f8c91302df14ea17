"""Files the app writes: check every output before writing any, write each one atomically, and
honour the user's umask.

:func:`write_atomically` is the one way the core replaces a file (analysis exports, composer
MIDI, WAV files, model weights and their checksums): the data goes to a temporary file
(``mkstemp``, mode 0600) beside the target that is flushed to disk and renamed into place, so a
reader, a crash or a full disk sees either the old file or the complete new one. Without
:func:`apply_umask` every export would end up readable by its owner only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable
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


_SPECIAL_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def write_target(path: str | Path) -> Path:
    """The file a write to ``path`` replaces: the file a symbolic link points to (the user's
    link stays a link), else ``path`` itself."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def special_file_reason(path: str | Path) -> str | None:
    """Why ``path`` (symlinks followed) cannot be replaced by a file write, or ``None``.

    The atomic write renames a new regular file onto the name: for ``/dev/null``,
    ``/dev/stdout`` or a FIFO that would replace the device node, the ``/dev/stdout`` link or
    the pipe itself (as root, the system's), so such targets, and anything in ``/proc`` and
    ``/sys``, are refused.
    """
    p = Path(path)
    if p.is_symlink() and Path(os.path.abspath(p)).parts[1:2] == ("dev",):
        return "is a link in /dev (a stream or device), not a regular file; " \
               "musicapp writes regular files only"
    target = Path(os.path.abspath(write_target(p)))
    if target.parts[1:2] in (("proc",), ("sys",)):
        return "cannot write in /proc or /sys (system files, not a regular file); " \
               "musicapp writes regular files only"
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return None  # missing (or unreadable: reported by the write itself)
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return (f"is {kind}, not a regular file; musicapp writes regular files only "
                    "(replacing it would remove the device or pipe)")
    return None


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
    folder = _refuse_before_writing(p, p, overwrite=overwrite, flag=flag, error=MusicappError)
    probe = folder / f"{_temp_prefix(p)}{secrets.token_hex(4)}.check"
    try:  # removed even when a signal (SIGTERM, Ctrl+C) lands while it exists
        _create_exclusive(probe)
    except OSError as exc:
        raise MusicappError(f"{p}: cannot write in {folder} ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return p


def _refuse_before_writing(p: Path, shown: Path, *, overwrite: bool, flag: str,
                           error: type[MusicappError]) -> Path:
    """The checks shared by :func:`check_output` and :func:`write_atomically`: ``p`` is no
    device, FIFO, socket or system file, does not exist unless ``overwrite``, and the folder of
    the file it names (``shown`` in that message) exists. Returns that folder."""
    special = special_file_reason(p)
    if special:
        raise error(f"{p}: {special}")
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise FileExistsRefusal(f"{p}: already exists; use {flag} to replace it")
    folder = write_target(p).parent
    if not folder.is_dir():
        raise error(f"{shown}: folder {folder} does not exist")
    return folder


def check_outputs(paths: Iterable[str | Path | None], *, overwrite: bool, flag: str = "--overwrite",
                  inputs: Iterable[str | Path | None] = ()) -> None:
    """:func:`check_output` for every given path (``None`` skipped); two outputs may not share a
    file, and no output may be one of the ``inputs`` (the user's own track or clip: refused even
    with ``--overwrite``, through a symbolic or a hard link too)."""
    sources = [Path(i) for i in inputs if i]
    seen: dict[str, str] = {}
    for path in paths:
        if path is None:
            continue
        for source in sources:
            if same_file(path, source):
                raise MusicappError(f"{path}: is the input file {source}; choose another name for "
                                    "the output (the input is never overwritten)")
        check_output(path, overwrite=overwrite, flag=flag)
        key = os.path.realpath(path)
        if key in seen:
            raise MusicappError(f"{path}: the same file is named for two outputs")
        seen[key] = str(path)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two names reach one file: the same path once symbolic links and ``..`` are
    resolved, or (both existing) the same inode, i.e. hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: not the same file
        return False


def free_bytes(folder: str | Path) -> int | None:
    """Bytes an unprivileged writer may still use in ``folder``'s file system (None: unknown)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return None
    return st.f_bavail * st.f_frsize


def human_size(n: int) -> str:
    """``n`` bytes for people (KB/MB/GB)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _fsync_path(path: str | Path, *, folder: bool = False) -> None:
    """Flush ``path`` (a file, or with ``folder`` a directory entry list) to disk."""
    flags = os.O_RDONLY if folder else os.O_RDWR
    if folder:
        flags |= getattr(os, "O_DIRECTORY", 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place(tmp: str, out: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` onto ``out``; without ``overwrite`` never replace a file that
    appeared meanwhile (a hard link fails atomically where the name exists)."""
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise FileExistsRefusal(f"{out}: appeared while writing; not replaced") from None
    except OSError as exc:  # no hard links here (FAT, some network shares): check, then rename
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK, errno.ENOSYS):
            raise
        if out.exists() or out.is_symlink():
            raise FileExistsRefusal(f"{out}: appeared while writing; not replaced") from None
        os.replace(tmp, out)
    else:
        os.unlink(tmp)


def _create_exclusive(path: Path) -> None:
    """Create ``path`` empty, readable by its owner only; FileExistsError if it exists."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    os.close(os.open(path, flags, 0o600))


def _temp_prefix(out: Path, pid: int | None = None) -> str:
    """``.NAME.PID.``: hidden, and naming the process that writes it (see
    :func:`remove_stale_temporaries`)."""
    return f".{out.name[:40]}.{os.getpid() if pid is None else pid}."


#: a temporary this much older than now may be removed when its writer is gone (a live writer on
#: another machine sharing the folder, whose pid means nothing here, is never that slow)
STALE_AFTER_S = 600.0


def remove_stale_temporaries(out: Path, min_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete the temporary files a killed writer left beside ``out`` (``kill -9`` or a power
    cut between creating the temporary and renaming it); returns them.

    Only regular files named exactly as this module names its temporaries for ``out``
    (``.NAME.PID.<8 hex digits>.tmp.EXT``), older than ``min_age_s`` and whose writing process no
    longer exists are removed: a user's file that merely looks similar, a live writer's
    temporary, or one a writer elsewhere is still filling, is kept.
    """
    import re
    import time

    removed = []
    pattern = re.compile(rf"\.{re.escape(out.name[:40])}\.(\d+)\.[0-9a-f]{{8}}\.tmp"
                         rf"{re.escape(out.suffix)}")
    try:
        entries = list(os.scandir(out.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found is None or _process_exists(int(found.group(1))):
            continue
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= min_age_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _process_exists(pid: int) -> bool:
    if pid <= 0 or os.name == "nt":  # on Windows os.kill(pid, 0) would end the process
        return True  # cannot tell: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep the file
    return True


def write_atomically(
    path: str | Path,
    write: Callable[[str], None],
    *,
    overwrite: bool,
    kind: str = "",
    error: type[MusicappError] = MusicappError,
    flag: str = "--overwrite",
    fsync: bool = True,
    mode: int = 0o666,
    need_bytes: int | None = None,
    catch: tuple[type[BaseException], ...] = (),
) -> Path:
    """Replace ``path`` with what ``write(tmp)`` writes to a temporary file, all or nothing.

    ``write`` receives the name of an empty temporary file in ``path``'s folder (so the rename
    never crosses file systems) and writes the whole content to it by name. Then the file is
    flushed to disk (``fsync``, unless ``fsync=False``), given the mode a plain ``open()`` would
    give (``mode & ~umask``, not mkstemp's 0600) and renamed onto ``path`` with ``os.replace``
    (the folder is flushed too). Whatever happens, the temporary file is gone afterwards, and on
    failure ``path`` is exactly as before. A ``path`` that is a symbolic link stays one: the
    file it points to is replaced. Devices, FIFOs, sockets, links in ``/dev`` (``/dev/stdout``)
    and files in ``/proc`` or ``/sys`` are refused (:func:`special_file_reason`).

    Args:
        path: the target file.
        write: called once with the temporary file's name.
        overwrite: replace an existing ``path``; when false an existing file is refused before
            anything is written, and one that appears while writing is not replaced.
        kind: what the file is, for messages ("MIDI" gives "cannot write the MIDI file").
        error: the exception type raised for a file that cannot be written (a
            :class:`~musicapp.errors.MusicappError` subclass, e.g. ``ModelError``).
        flag: the option named in the refusal to overwrite.
        fsync: flush to disk before the rename (durable across a power cut).
        mode: permissions before the umask is applied.
        need_bytes: about how large the file will be; when a write fails and the folder has
            less room than that, the message says the disk is full and how much is free (some
            writers, like libsndfile, report a full disk only as "System error.").
        catch: exception types besides ``OSError`` that ``write`` raises for a failed write
            (e.g. ``soundfile.LibsndfileError``); they are reported as ``error`` too.

    Raises:
        FileExistsRefusal: ``path`` exists (or appeared while writing) and ``overwrite`` is false.
        MusicappError: (``error``) ``path`` is a device, FIFO or socket (see
            :func:`special_file_reason`), the folder is missing or the file cannot be written (full
            disk, file size limit, permissions); the message names ``path`` and the reason.
        Anything else ``write`` raises passes through unchanged (the temporary file is removed).
    """
    given = Path(path)
    what = f"the {kind} file" if kind else "the file"
    out = write_target(given)  # through a symbolic link: its file is replaced, the link kept
    folder = _refuse_before_writing(given, out, overwrite=overwrite, flag=flag, error=error)
    remove_stale_temporaries(out)
    tmp = ""
    try:  # from before the temporary exists: a signal at any point still removes it
        for _attempt in range(100):  # the name is known before the file exists
            tmp = str(folder / f"{_temp_prefix(out)}{secrets.token_hex(4)}.tmp{out.suffix}")
            try:
                _create_exclusive(Path(tmp))
                break
            except FileExistsError:
                tmp = ""  # someone else's: never removed by the finally below
            except OSError as exc:
                tmp = ""
                raise error(f"{out}: cannot write in {folder} ({exc.strerror or exc})") from None
        else:
            raise error(f"{out}: cannot write in {folder} (no free temporary file name)")
        write(tmp)
        if fsync:
            _fsync_path(tmp)
        os.chmod(tmp, mode & ~current_umask())
        _place(tmp, out, overwrite)
    except (OSError, *catch) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if tmp:  # the free space without the half-written file (it was counted: "0 bytes free")
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
        free = free_bytes(folder) if need_bytes is not None else None
        if free is not None and need_bytes is not None and free < need_bytes + 4096:
            reason = (f"no space left on the device: {human_size(free)} free, the file needs "
                      f"about {human_size(need_bytes)}")
        raise error(f"{out}: cannot write {what} ({reason}); nothing was changed") from None
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
    if fsync:
        with contextlib.suppress(OSError):  # not every system can open a folder (Windows)
            _fsync_path(folder, folder=True)
    return given
