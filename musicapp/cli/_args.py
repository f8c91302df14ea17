"""argparse ``type=`` functions that validate options with a clear message: numbers, ranges, words,
file names and the library database.

``--tempo nan``, ``--candidates 100000000``, ``-o ""``, ``--mood ""`` or ``--bpm 100-80`` are
refused by argparse itself ("argument --tempo: must be a finite number in [20, 400], got 'nan'"),
exit 2, before any work. :func:`check_db` checks a ``--db`` when the command starts.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from collections.abc import Callable


def _fmt(x: float) -> str:
    return f"{x:g}"


def finite_float(
    lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> Callable[[str], float]:
    """A ``type=`` that accepts a finite float in ``[lo, hi]`` (``lo_open``/``hi_open`` exclude the ends)."""
    want = f"a finite number in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        ok = math.isfinite(x) and (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return x

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


def int_range(lo: int, hi: int) -> Callable[[str], int]:
    """A ``type=`` that accepts a whole number in ``[lo, hi]``."""
    want = f"a whole number from {lo} to {hi}"

    def parse(text: str) -> int:
        try:
            n = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return n

    parse.__name__ = "integer"
    return parse


def file_name(text: str) -> str:
    """A ``type=`` for output file names: refuses an empty name or one with a NUL byte."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty")
    if "\0" in text:
        raise argparse.ArgumentTypeError("the file name contains a NUL byte")
    return text


def text(what: str) -> Callable[[str], str]:
    """A ``type=`` for a word or phrase (a mood, a key, a meter, a device name): refuses an empty
    or blank value (``--mood ''`` was silently ignored) and a NUL byte; returns it stripped."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"the {what} is empty")
        if "\0" in value:
            raise argparse.ArgumentTypeError(f"the {what} contains a NUL byte")
        return value.strip()

    parse.__name__ = what
    return parse


#: a number in a range argument: digits with an optional fraction and exponent, or a word that
#: float() takes (nan, inf), so that such a word is named in the message rather than mis-split
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf(?:inity)?)"
_SEP = r"-|\.\.|–|—|to"


def value_range(unit: str, hi: float, *, example: str) -> Callable[[str], str]:
    """A ``type=`` for a filter range like ``--bpm 80-100`` or ``--duration 60..300``.

    ``LOW-HIGH`` (or ``LOW..HIGH``) with ``0 <= LOW <= HIGH <= hi`` and ``HIGH > 0``, or one
    number ``N > 0``, read as the values that round to it (``N-0.5`` to ``N+0.5``: an analysed
    tempo is rarely a whole number, so ``--bpm 90`` matching only exactly 90.0 found nothing).
    A reversed range (``100-80``), ``0-0``, negative, NaN or infinite ends and words are refused
    with the reason. Returns the range as ``"LOW-HIGH"`` with plain decimals, the form
    :func:`musicapp.library.api.parse_range` reads.
    """
    import re

    pattern = re.compile(rf"\s*({_NUM})\s*(?:(?:{_SEP})\s*({_NUM})\s*)?", re.IGNORECASE)
    want = f"LOW-HIGH or one number, in {unit}, e.g. {example}"

    def parse(value: str) -> str:
        m = pattern.fullmatch(value)
        if m is None:
            raise argparse.ArgumentTypeError(f"must be {want}, got {value!r}")
        ends = [float(g) for g in m.groups() if g is not None]
        if not all(math.isfinite(x) for x in ends):
            raise argparse.ArgumentTypeError(f"{value!r}: the ends must be finite numbers ({want})")
        if any(x < 0 for x in ends):
            raise argparse.ArgumentTypeError(f"{value!r}: a {unit} range cannot be negative ({want})")
        if any(x > hi for x in ends):
            raise argparse.ArgumentTypeError(f"{value!r}: above the largest {_fmt(hi)} {unit}")
        if len(ends) == 1:
            if ends[0] <= 0:
                raise argparse.ArgumentTypeError(f"{value!r}: must be above 0 {unit} ({want})")
            lo, high = max(0.0, ends[0] - 0.5), ends[0] + 0.5
        else:
            lo, high = ends
            if lo > high:
                raise argparse.ArgumentTypeError(
                    f"{value!r}: the range runs backwards (LOW above HIGH); did you mean "
                    f"{_fmt(high)}-{_fmt(lo)}?")
            if high <= 0:
                raise argparse.ArgumentTypeError(f"{value!r}: matches nothing; the high end "
                                                 f"must be above 0 {unit}")
        return f"{lo:.6f}-{high:.6f}"

    parse.__name__ = "range"
    return parse


#: how files the user keeps start (RIFF/WAVE, FLAC, MP3 with a tag, Ogg, AIFF, MIDI); the MP4
#: family has "ftyp" at offset 4
_OTHER_MAGIC = (b"RIFF", b"fLaC", b"ID3", b"OggS", b"FORM", b"MThd")


def _refuse_audio_as_db(value: str) -> None:
    """``--db song.wav``: ``library check --repair`` renamed the song to
    ``song.wav.damaged-TIME`` and put an empty library in its place; ``add`` started a library
    named like a song."""
    from pathlib import Path

    from musicapp.errors import MusicappError
    from musicapp.filetypes import is_audio_name

    path = Path(value)
    head = b""
    try:
        if path.is_file():
            with path.open("rb") as fh:
                head = fh.read(12)
    except OSError:
        pass
    looks_audio = head.startswith(_OTHER_MAGIC) or head[4:8] == b"ftyp"
    if is_audio_name(path) or path.suffix.lower() in (".mid", ".midi") or looks_audio:
        raise MusicappError(f"--db {value}: an audio or MIDI file, not a library database "
                            "(the library is an SQLite file such as library.sqlite3); it is "
                            "left untouched")


def check_db(value: str | None, *, creates: bool) -> None:
    """Check a ``--db`` before the library is opened; raises :class:`MusicappError` (printed as
    "musicapp: error: ...", exit 2) naming the problem.

    The database's folder must exist: a typo in it used to create the folders and a new, empty
    library there. Only a command that ``creates`` a library (``library add``) takes a file that
    does not exist yet; ``library list --db lbrary.sqlite3`` created an empty one and said it was
    empty. The default location (``None``, or ``--db`` naming it) is the app's own and is
    created when needed.
    """
    import os
    from pathlib import Path

    from musicapp.errors import MusicappError
    from musicapp.library.store import default_db_path, refuse_special_file

    if value is None:
        return
    p = Path(value)
    try:
        refuse_special_file(p)  # a FIFO, socket, device, dangling link or link loop
    except MusicappError as exc:
        raise MusicappError(f"--db {exc}") from None
    _refuse_audio_as_db(value)
    if p.is_dir():
        raise MusicappError(f"--db {value}: is a folder; give the database file, e.g. "
                            f"{p / default_db_path().name}")
    default = default_db_path()
    if os.path.abspath(p) == os.path.abspath(default):
        return
    folder = p.parent
    if not folder.is_dir():
        if folder.exists() or folder.is_symlink():
            raise MusicappError(f"--db {value}: {folder} is not a folder")
        missing = folder
        while not missing.parent.is_dir() and missing.parent != missing:
            missing = missing.parent
        raise MusicappError(f"--db {value}: folder {missing} does not exist (a typo would start "
                            "a new, empty library there); create the folder first or check "
                            "the path")
    if not creates and not p.exists():
        raise MusicappError(f"--db {value}: no library database here (`musicapp library add "
                            f"FOLDER --db {value}` starts one)")
    foreign = _foreign_tables(p)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise MusicappError(f"--db {value}: the SQLite database of another program (tables: "
                            f"{shown}), not a musicapp library; it is left untouched")


def _foreign_tables(path: object) -> list[str]:
    """The tables of an existing SQLite file that holds tables but no musicapp library (no
    ``tracks`` table): opening it as a library added musicapp's tables to another program's
    database (``library list --db places.sqlite``). Empty when the file is missing, empty, a
    library, or unreadable (a damaged library is for ``library check``)."""
    import sqlite3
    from pathlib import Path
    from urllib.parse import quote

    p = Path(str(path))
    try:
        if not p.is_file() or p.stat().st_size == 0:
            return []
        with p.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\0":
                return []
        uri = "file:" + quote(os.fsencode(str(p.resolve())).decode("latin-1"), safe="/")
        con = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=1.0)
        try:
            names = [str(r[0]) for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        finally:
            con.close()
    except (OSError, sqlite3.Error, UnicodeError):
        return []
    return [] if not names or "tracks" in names else sorted(names)


def _plain_minimum(kind: type, default: object) -> float | None:
    """The smallest value a plain ``type=int``/``type=float`` option takes, read from its default
    (see :func:`harden`): 1 for a whole number whose default is at least 1 (a count), else 0, and
    no minimum where the default is negative."""
    values = list(default) if isinstance(default, list | tuple) else [default]
    for i, v in enumerate(values):  # argparse passes a string default through the type too
        if isinstance(v, str):
            with contextlib.suppress(ValueError):
                values[i] = float(v)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(values) and default is not None:
        return 0.0
    if any(v < 0 for v in numbers):
        return None
    return 1.0 if kind is int and numbers and min(numbers) >= 1 else 0.0


def _hardened(kind: type, minimum: float | None) -> Callable[[str], float]:
    """A plain ``int``/``float`` type with the checks of :func:`harden`."""
    what = "a whole number" if kind is int else "a finite number"
    want = what if minimum is None else f"{what} of at least {_fmt(minimum)}"

    def parse(value: str) -> float:
        try:
            x = kind(value.strip() if kind is int else value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {value!r}") from None
        if not math.isfinite(x) or (minimum is not None and x < minimum):
            raise argparse.ArgumentTypeError(f"must be {want}, got {value!r}")
        return x

    parse.__name__ = kind.__name__
    return parse


def _not_blank(option: str) -> Callable[[str], str]:
    """A ``type=`` for a plain text option (see :func:`harden`): refuses a blank value, keeps
    any other as given."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"the value of {option} is empty")
        return value

    parse.__name__ = "text"
    return parse


def harden(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every option of ``parser`` and its subcommands (the lab's plug-in commands too)
    declared with a plain ``type=int`` or ``type=float`` the checks a musician expects: ``nan``
    and ``inf`` (which ``float()`` accepts) are refused, and so are negative values where the
    default is not negative (counts, durations, seeds: ``--seconds -5``) and a whole number 0
    where the default is at least 1 (``--repeats 0``). A text option with no ``type`` refuses
    a blank value (``--cache ''`` named the current folder). Options that need other bounds or
    words declare them with :func:`finite_float`, :func:`int_range`, :func:`text` or their own
    ``type``, which this leaves alone."""
    seen: set[int] = set()

    def walk(p: argparse.ArgumentParser) -> None:
        if id(p) in seen:
            return
        seen.add(id(p))
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            elif action.type in (int, float):
                action.type = _hardened(action.type, _plain_minimum(action.type, action.default))
            elif (action.type is None and action.option_strings and action.nargs in (None, "?")
                  and isinstance(action, argparse._StoreAction | argparse._AppendAction)
                  and not (isinstance(action.default, str) and not action.default.strip())):
                action.type = _not_blank(action.option_strings[-1])

    walk(parser)
    return parser


#: file name endings of the kinds of file the commands write or read, for :func:`output_file`
#: (the usual ending first)
_KINDS: dict[str, tuple[str, ...]] = {
    "MIDI": (".mid", ".midi", ".smf", ".kar"),
    "WAV": (".wav", ".wave"),
    "JAMS": (".jams",),
    "CSV": (".csv", ".tsv"),
}
_OTHER_SUFFIXES = frozenset({".json", ".jsonl", ".txt", ".sf2", ".sf3", ".png", ".jpg", ".jpeg",
                             ".pdf", ".sqlite3", ".db", ".safetensors", ".pt", ".py", ".sh"})


def check_output_kind(path: str | None, kind: str, flag: str) -> None:
    """Refuse an output of ``kind`` (``"MIDI"``, ``"WAV"``, ``"JAMS"``, ``"CSV"``) whose name ends
    like another kind of file: ``-o idea.wav`` wrote MIDI data into a .wav the DAW then could not
    read, ``--wav take.mp3`` WAV data into an .mp3, and ``--midi other-song.flac --overwrite``
    would replace a track. A name with no known ending is accepted as it is. Called after
    :func:`musicapp.outputs.check_outputs` (which names an output that is an input first).

    Raises:
        MusicappError: naming the option, the ending and the usual one.
    """
    from musicapp.errors import MusicappError
    from musicapp.filetypes import AUDIO_EXTENSIONS

    if not path:
        return
    own = frozenset(_KINDS[kind])
    others = (AUDIO_EXTENSIONS | _OTHER_SUFFIXES | frozenset().union(*_KINDS.values())) - own
    suffix = os.path.splitext(str(path).rstrip())[1].lower()
    if suffix in others:
        hint = next((f"; did you mean {k_flag}?" for k, k_flag in _FLAG_HINTS.get(flag, ())
                     if suffix in _KINDS[k]), "")
        raise MusicappError(f"{path}: {flag} writes a {kind} file, and this name ends in {suffix} "
                            f"(name it *{_KINDS[kind][0]}){hint}")


#: for a name of the wrong kind, the option that writes that kind (chords: -o and --wav)
_FLAG_HINTS: dict[str, tuple[tuple[str, str], ...]] = {
    "-o/--output": (("WAV", "--wav"),),
    "--wav": (("MIDI", "-o"),),
}
