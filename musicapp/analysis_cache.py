"""A cache of track analyses keyed by file content.

Re-opening a track, ``musicapp chords --from-audio`` on a file analysed before and ``musicapp
library similar FILE`` for an outside file all reuse the stored :class:`TrackAnalysis` instead of
analysing again. The key is the BLAKE2b digest of the file's bytes together with a version string
(the result's schema, the package version, this cache's format, the tagger's
``musicapp.models.engine.MODEL_VERSION``, the size and date of every shipped model file, a digest
of the source of every module that shapes a result - the decoder and its damage/truncation
rules, the parameters, the analysis, the models' code, see :data:`RESULT_SOURCES` - and the
versions of the libraries that decode and compute), so an edited file, a new release, a changed
rule (even between releases) or a retrained model never reads a stale entry.

Entries are JSON files under ``<user data dir>/cache/analysis/``. Each is written to a temporary
file in the same folder and renamed into place, so concurrent writers (the GUI's worker, a CLI run
beside it) never leave a half-written entry: a reader sees the old entry, the new one or none.
The folder is kept under a size limit by removing the least recently used entries; temporaries
left by a killed writer count towards it and are removed once stale (:data:`STALE_TMP_S`).

A result is stored only when the file still has the bytes it had before the analysis (a file
rewritten while it was analysed - a DAW re-rendering it, a download still running - must not
leave the old content's key serving the new content's result). Symbolic links inside the cache
folder are never followed: a linked subfolder or entry is a miss, is replaced by a real one when
writing, and the size trim only deletes regular files that really lie inside the cache folder.

Results with a failed part are not stored (the failure may be transient); silence and too-short
results are (they are facts about the file). This module imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from musicapp.paths import NotARegularFile, read_regular_file
from musicapp.track_analysis import SCHEMA, TrackAnalysis, json_default

log = logging.getLogger(__name__)

#: the ``status`` values an analysis can have (``musicapp.track_analysis`` and
#: ``musicapp.pipeline.DAMAGED``); an entry with another one is damaged
RESULT_STATES = frozenset({"ok", "silence", "too short", "damaged"})

#: bump when the stored form changes
CACHE_FORMAT = 2
#: the parts of the package (relative to its folder) whose code shapes an analysis: a change to
#: any ``.py`` file in them gives a new :func:`pipeline_version` (the GUI, CLI and library do not)
RESULT_SOURCES = (
    "pipeline.py", "track_analysis.py", "params.py", "moods.py", "pitch.py", "hashcode.py",
    "audio", "analysis", "features", "models",
)
#: libraries whose version can change what is decoded or computed
RESULT_LIBRARIES = ("soundfile", "av", "soxr", "numpy", "scipy", "librosa", "torch", "numba")
#: default size limit of the cache folder
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: a temporary (``.<key>.*.tmp``) older than this is left by a killed writer: the trim removes it
STALE_TMP_S = 3600.0
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Folder of the analysis cache (``<user data dir>/cache/analysis``; not created here)."""
    from musicapp.paths import user_data_dir

    return user_data_dir() / "cache" / "analysis"


def source_digest(root: str | Path, parts: tuple[str, ...] = RESULT_SOURCES) -> str:
    """BLAKE2b-64 hex digest of the names and bytes of every ``.py`` file in ``parts`` (files
    or folders, searched recursively) under ``root``; missing parts are skipped."""
    root = Path(root)
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        base = root / part
        files = [base] if base.is_file() else sorted(base.rglob("*.py")) if base.is_dir() else []
        for f in files:
            with contextlib.suppress(OSError):
                data = f.read_bytes()
                h.update(f"{f.relative_to(root).as_posix()}:{len(data)}:".encode())
                h.update(data)
    return h.hexdigest()


def _library_versions() -> str:
    from importlib import metadata

    out = []
    for name in RESULT_LIBRARIES:
        try:
            out.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}=-")
    return ",".join(out)


@cache
def pipeline_version() -> str:
    """What the analysis depends on besides the file: schema, release, models (size, date), the
    code that shapes a result (:func:`source_digest`) and the libraries' versions."""
    import musicapp
    from musicapp import __version__
    from musicapp.paths import resource_path

    h = hashlib.blake2b(digest_size=8)
    models = resource_path("models")
    with contextlib.suppress(OSError):
        for entry in sorted(models.iterdir()):
            if entry.suffix in (".safetensors", ".npz", ".json"):
                st = entry.stat()
                h.update(f"{entry.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    from musicapp.models.engine import MODEL_VERSION  # code changes that move the tags

    code = source_digest(Path(musicapp.__file__).parent)
    libs = hashlib.blake2b(_library_versions().encode(), digest_size=6).hexdigest()
    return (f"s{SCHEMA}-v{__version__}-c{CACHE_FORMAT}-t{MODEL_VERSION}-m{h.hexdigest()}"
            f"-p{code}-l{libs}")


def content_digest(path: str | Path) -> str:
    """BLAKE2b-160 hex digest of the file's bytes.

    Only regular files are read: the file is opened without blocking and checked with ``fstat``,
    so a FIFO (which would block for ever) or ``/dev/zero`` (which never ends) raises
    :class:`NotARegularFile` instead of hanging.
    """
    h = hashlib.blake2b(digest_size=20)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(f"{path}: not a regular file")
        while block := fh.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def cache_key(path: str | Path, version: str | None = None) -> str:
    """The entry name for ``path``: digest of its bytes and of the pipeline version."""
    digest = content_digest(path)
    ver = hashlib.blake2b((version or pipeline_version()).encode(), digest_size=6).hexdigest()
    return f"{digest}-{ver}"


class AnalysisCache:
    """Analyses stored by file content (see the module documentation)."""

    def __init__(self, folder: str | Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 version: str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.max_bytes = int(max_bytes)
        self.version = version or pipeline_version()

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def key(self, path: str | Path) -> str:
        """The cache key of ``path`` (reads the whole file)."""
        return cache_key(path, self.version)

    def get(self, path: str | Path, key: str | None = None) -> TrackAnalysis | None:
        """The stored analysis of ``path``'s content, or None (missing, damaged, other version).

        The returned result names ``path`` (the same bytes may have been analysed elsewhere).
        """
        try:
            key = key or self.key(path)
        except OSError:
            return None
        entry = self._entry(key)
        if not self._real_subfolder(entry.parent):
            return None  # missing, or a link/file planted in its place: never followed
        try:
            data = json.loads(_read_entry(entry).decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            log.warning("unreadable cache entry %s: %s", entry, exc)
            with contextlib.suppress(OSError):
                entry.unlink()
            return None
        if not isinstance(data, dict) or data.get("version") != self.version:
            return None
        try:
            result = TrackAnalysis.from_dict(data["analysis"])
            result.to_dict()  # every field usable (a hand-edited entry: a miss, not a crash later)
            if result.status not in RESULT_STATES:
                raise ValueError(f"unknown status {result.status!r}")
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            log.warning("damaged cache entry %s: %s", entry, exc)
            with contextlib.suppress(OSError):
                entry.unlink()
            return None
        result.path = str(Path(path))
        with contextlib.suppress(OSError, NotImplementedError):
            os.utime(entry, follow_symlinks=False)  # least recently used goes first when trimming
        return result

    def _real_subfolder(self, folder: Path) -> bool:
        """Whether ``folder`` (a subfolder of the cache) is a real folder, not a link."""
        try:
            return stat.S_ISDIR(os.lstat(folder).st_mode)
        except OSError:
            return False

    def _make_subfolder(self, folder: Path) -> None:
        """Create the subfolder ``folder``; a link or file planted in its place is removed
        (the link itself, never what it points to)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            log.warning("replacing %s in the analysis cache (not a real folder)", folder)
            folder.unlink()
        folder.mkdir(exist_ok=True)

    def put(self, path: str | Path, analysis: TrackAnalysis, key: str | None = None) -> bool:
        """Store ``analysis`` for ``path``'s content; False when it was not stored (a failed
        part, an unwritable folder, a file that changed). Never raises for a cache problem.

        ``key``: the key taken before the analysis. The file is then hashed again and nothing is
        stored when its bytes changed meanwhile (the result may be of the old bytes, the new ones
        or a mix; the old key must not serve it). Without ``key`` it is taken now.
        """
        if analysis.errors:
            return False
        try:
            if key is not None:
                now = self.key(path)
                if now != key:
                    log.info("not caching the analysis of %s: the file changed while it was "
                             "analysed", path)
                    return False
            key = key or self.key(path)
            entry = self._entry(key)
            self._make_subfolder(entry.parent)
            payload = json.dumps({"version": self.version, "stored": time.time(),
                                  "analysis": analysis.to_dict()}, default=json_default)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:12]}.", suffix=".tmp", dir=entry.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(payload)
                os.replace(tmp, entry)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not store an analysis in the cache: %s", exc)
            return False
        self.trim()
        return True

    def _files(self) -> list[tuple[Path, os.stat_result, bool]]:
        """``(path, lstat, is_temporary)`` of every entry and writer's temporary: regular files
        in real subfolders of the cache folder (links are never followed)."""
        out: list[tuple[Path, os.stat_result, bool]] = []
        try:
            subs = [e for e in os.scandir(self.folder) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return out
        for sub in subs:
            try:
                names = list(os.scandir(sub.path))
            except OSError:
                continue
            for e in names:
                is_tmp = e.name.startswith(".") and e.name.endswith(".tmp")
                if not (is_tmp or e.name.endswith(".json")):
                    continue
                with contextlib.suppress(OSError):
                    st = e.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):
                        out.append((Path(e.path), st, is_tmp))
        return out

    def _inside(self, p: Path) -> bool:
        """Whether ``p`` resolves to a file in a subfolder of the (resolved) cache folder."""
        try:
            return Path(os.path.realpath(p)).parent.parent == Path(os.path.realpath(self.folder))
        except OSError:
            return False

    def _remove(self, p: Path) -> bool:
        """Delete ``p`` if it is a regular file really inside the cache folder."""
        try:
            if not stat.S_ISREG(os.lstat(p).st_mode) or not self._inside(p):
                log.warning("not removing %s: not a file inside the analysis cache", p)
                return False
            p.unlink()
            return True
        except OSError:
            return False

    def entries(self) -> list[Path]:
        """Every stored entry."""
        return [p for p, _, tmp in self._files() if not tmp]

    def size_bytes(self) -> int:
        """Bytes used by the entries and writers' temporaries."""
        return sum(st.st_size for _, st, _ in self._files())

    def trim(self) -> int:
        """Remove stale temporaries (older than :data:`STALE_TMP_S`, left by a killed writer),
        then least recently used entries until the folder is under the limit (temporaries
        count towards it); returns how many files were removed."""
        now = time.time()
        total = 0
        removed = 0
        stats = []
        for p, st, tmp in self._files():
            if tmp and now - st.st_mtime > STALE_TMP_S and self._remove(p):
                removed += 1
                continue
            total += st.st_size
            if not tmp:  # a young temporary may be a writer at work: counted, not removed
                stats.append((st.st_mtime, st.st_size, p))
        for _, size, p in sorted(stats, key=lambda s: s[0]):
            if total <= self.max_bytes:
                break
            if self._remove(p):
                removed += 1
                total -= size
        return removed

    def clear(self) -> None:
        """Remove every entry."""
        for p in self.entries():
            self._remove(p)


def _read_entry(entry: Path) -> bytes:
    """The bytes of the cache entry ``entry``: a regular file, not a link (``O_NOFOLLOW``),
    at most :data:`musicapp.paths.MAX_READ_BYTES`. Raises like :func:`read_regular_file`."""
    return read_regular_file(entry, follow_links=False)


def analyze_cached(path: str | Path, *, store: AnalysisCache | None = None,
                   analyze: Callable[..., TrackAnalysis] | None = None,
                   progress: Callable[[float, str], None] | None = None,
                   **kwargs: Any) -> TrackAnalysis:
    """The analysis of ``path`` from the cache, or computed with
    :func:`musicapp.pipeline.analyze_path` (``analyze`` overrides it) and stored.

    Only whole analyses are cached: pass no ``tags``/``music``/``feature_maps`` options.
    """
    store = store if store is not None else AnalysisCache()
    try:
        key = store.key(path)
    except OSError:
        key = None  # unreadable: let the pipeline report it in its own words
    if key is not None:
        hit = store.get(path, key)
        if hit is not None:
            if progress is not None:
                progress(1.0, "from the cache")
            return hit
    if analyze is None:
        from musicapp.pipeline import analyze_path as analyze
    result = analyze(path, progress=progress, **kwargs)
    if key is not None:
        store.put(path, result, key)
    return result


def cached_analyser(path: str) -> dict[str, Any]:
    """:func:`analyze_cached` as the flat dict (the library's ``Analyser`` signature)."""
    return analyze_cached(path).to_dict()
