"""A safe on-disk cache for librosa's numba-compiled kernels.

numba writes compiled code next to librosa's sources by default, and two processes compiling the
same kernel at once can leave an index that points at the other one's machine code: every later
process then segfaults in that kernel (issue 14, C10). Two measures prevent it:

* :func:`configure` (run when ``musicapp`` is imported) hooks numba's first import, which then
  finds ``NUMBA_CACHE_DIR`` pointing at a per-user, per-version folder unless the user set one;
* the first import of librosa in a process runs :func:`ensure_warm`: if the cache has not been
  filled yet, it takes an exclusive file lock and compiles every kernel the app uses
  (:func:`musicapp.warmup.warm_up`) while other first-use processes wait, then marks the cache
  warm. Later processes only check the mark (one ``stat``).

``MUSICAPP_JIT_WARMUP=0`` turns the locked warm-up off (the cache folder is still set).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
from pathlib import Path

#: Bumped whenever :func:`musicapp.warmup.warm_up` compiles new kernels (a new mark file).
WARMUP_VERSION = 2
_MARK = f"warm-{WARMUP_VERSION}.ok"
_LOCK = "warm.lock"
_state = {"hooked": False, "warming": False, "compiled": False}


def default_cache_dir() -> Path:
    """The per-user, per-version folder for numba's cache (``~/.cache/musicapp/numba-py311-0.1.0``)."""
    from musicapp import __version__
    from musicapp.paths import user_cache_dir

    tag = f"numba-py{sys.version_info.major}{sys.version_info.minor}-{__version__}"
    return user_cache_dir() / tag


def cache_dir() -> Path:
    """The folder numba caches into in this process (``NUMBA_CACHE_DIR`` or the default)."""
    return Path(os.environ.get("NUMBA_CACHE_DIR") or default_cache_dir())


def configure() -> None:
    """Hook the first imports of numba and librosa (cheap: nothing is imported here).

    numba's cache folder (``NUMBA_CACHE_DIR``, unless the user set one) is chosen when numba is
    first imported, and librosa's first import fills the cache (:func:`ensure_warm`). The folder
    is not computed now: finding it imports platformdirs, which the GUI's start-up does not need.
    """
    wants_dir = "numba" not in sys.modules and not os.environ.get("NUMBA_CACHE_DIR")
    warm = (os.environ.get("MUSICAPP_JIT_WARMUP", "1") != "0"
            and "librosa" not in sys.modules)
    if _state["hooked"] or not (wants_dir or warm):
        return
    sys.meta_path.insert(0, _OnFirstImport(set_dir=wants_dir, warm=warm))
    _state["hooked"] = True


def _set_cache_dir() -> None:
    if not os.environ.get("NUMBA_CACHE_DIR"):
        with contextlib.suppress(Exception):  # never let the cache set-up break an import
            os.environ["NUMBA_CACHE_DIR"] = str(default_cache_dir())


def compiled_here() -> bool:
    """Whether this process filled the cache (ran the locked warm-up)."""
    return bool(_state["compiled"])


def is_warm() -> bool:
    """Whether the cache in :func:`cache_dir` was filled by a completed warm-up."""
    return (cache_dir() / _MARK).is_file()


def ensure_warm() -> bool:
    """Fill the cache once, under an exclusive file lock; return True if this call compiled it.

    Processes that arrive while another one compiles wait for the lock, then find the mark and
    return at once, so no two processes ever compile the same kernels into the cache together.
    A failure is reported on stderr and never raised: the caller goes on and compiles lazily.
    """
    if _state["warming"] or is_warm():
        return False
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(folder / _LOCK, "a+b")  # noqa: SIM115 - closed below
    except OSError as exc:
        print(f"musicapp: warning: JIT cache folder {folder} unusable ({exc})", file=sys.stderr)
        return False
    try:
        _lock(fh)
        if is_warm():
            return False
        _state["warming"] = True
        from musicapp.warmup import warm_up

        warm_up()
        (folder / _MARK).write_text("ok\n", encoding="ascii")
        _state["compiled"] = True
        return True
    except Exception as exc:
        print(f"musicapp: warning: JIT warm-up failed ({type(exc).__name__}: {exc})", file=sys.stderr)
        return False
    finally:
        _state["warming"] = False
        fh.close()  # releases the lock


def _lock(fh) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)
    else:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)


class _OnFirstImport(importlib.abc.MetaPathFinder):
    """Sets numba's cache folder just before numba's first import, and runs
    :func:`ensure_warm` right after librosa's first import, in this process."""

    def __init__(self, set_dir: bool, warm: bool) -> None:
        self.pending = {name for name, on in (("numba", set_dir), ("librosa", warm)) if on}

    def find_spec(self, name, path=None, target=None):
        if name not in self.pending:
            return None
        self.pending.discard(name)
        if not self.pending and self in sys.meta_path:
            sys.meta_path.remove(self)  # nothing left to watch
        if name == "numba":
            _set_cache_dir()  # numba reads it when its config module runs
            return None  # the normal finders import numba
        if self in sys.meta_path:  # keeps the lookup below from recursing
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            sys.meta_path.insert(0, self)
        else:
            spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _WarmingLoader(spec.loader)
        return spec


class _WarmingLoader(importlib.abc.Loader):
    def __init__(self, real: importlib.abc.Loader) -> None:
        self.real = real

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module) -> None:
        self.real.exec_module(module)
        ensure_warm()

    def __getattr__(self, name: str):
        return getattr(self.real, name)  # resource readers, get_data ... of the real loader
