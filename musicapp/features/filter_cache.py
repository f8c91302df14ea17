"""An on-disk cache of filter banks, so that a fresh process needs no librosa.

The tagger's and the analysis's Mel filter banks and the CQT's per-octave sparse filters are
built with librosa's filter
functions. Importing those (they pull in scipy.signal and numba) and building the CQT filters
costs about 3 s in a fresh process - in the batch path, every worker process paid it on its first
track. The banks depend only on their parameters and on the librosa/numpy/scipy versions, so the
first process stores them (``.npz``, the exact arrays) and later processes load them in
milliseconds. A cache that cannot be read or written only means the banks are built in-process,
as before. ``MUSICAPP_FILTER_CACHE`` names another folder (``0`` turns the disk cache off).

Each file also holds a digest of its arrays (names, dtypes, shapes and bytes): a file whose
arrays do not match it - damaged, or a foreign ``.npz`` under the right name with arrays of
another shape or dtype - is rebuilt, never used (such arrays gave wrong moods, errors, or a
segmentation fault in the sparse product).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 2  # bump when what is stored under a name changes (2: with the digest)
DIGEST = "__digest__"  # the stored digest's name in the file
_memo: dict[str, dict[str, np.ndarray]] = {}


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("librosa", "numpy", "scipy"):
        try:
            parts.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package}=?")
    return ",".join(parts)


def digest(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The SHA-256 of ``arrays`` (each name, dtype, shape and C-order bytes, names sorted), as
    a uint8 array."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        h.update(repr((name, a.dtype.str, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8)


def cache_folder() -> Path | None:
    """Where the banks are stored (None: disk cache off)."""
    chosen = os.environ.get("MUSICAPP_FILTER_CACHE")
    if chosen == "0":
        return None
    if chosen:
        return Path(chosen)
    from musicapp import __version__
    from musicapp.paths import user_cache_dir

    return user_cache_dir() / f"filters-{__version__}"


def cached(name: str, key: tuple, build: Callable[[], dict[str, np.ndarray]],
           valid: Callable[[dict[str, np.ndarray]], bool] = lambda arrays: True,
           ) -> dict[str, np.ndarray]:
    """The arrays ``build()`` returns for ``key``, from this process's memo, the disk or
    ``build()`` (then stored). A stored file that fails ``valid`` is rebuilt. The arrays are
    shared: callers must not modify them."""
    digest = hashlib.sha256(repr((FORMAT, name, key, _versions())).encode()).hexdigest()[:20]
    label = f"{name}-{digest}"
    if label in _memo:
        return _memo[label]
    folder = cache_folder()
    arrays = _load(folder / f"{label}.npz") if folder is not None else None
    if arrays is not None and not valid(arrays):
        log.warning("filter cache %s incomplete; rebuilding", folder / f"{label}.npz")
        arrays = None
    if arrays is None:
        arrays = {k: np.asarray(v) for k, v in build().items()}
        if folder is not None:
            _store(folder / f"{label}.npz", arrays)
    _memo[label] = arrays
    return arrays


def _load(path: Path) -> dict[str, np.ndarray] | None:
    import io

    from musicapp.paths import read_regular_file

    try:
        with np.load(io.BytesIO(read_regular_file(path)), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        return None
    except Exception as exc:  # damaged or foreign file: rebuild (and overwrite it)
        log.warning("filter cache %s unreadable (%s); rebuilding", path, exc)
        return None
    stored = arrays.pop(DIGEST, None)
    if stored is None or not np.array_equal(stored, digest(arrays)):
        log.warning("filter cache %s does not match its digest; rebuilding", path)
        return None
    return arrays


def _store(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically (a temporary file renamed into place), so a concurrent reader sees the
    whole file or none; failures are logged, never raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays, **{DIGEST: digest(arrays)})
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        log.info("filter cache %s not written (%s)", path, exc)
