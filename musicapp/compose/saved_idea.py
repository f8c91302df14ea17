"""The composer's current idea on disk: a plain, versioned JSON file in the user data folder.

The composer writes its idea (the progression, the locks, its settings, the arrangement it holds
and the MIDI clip it started from, if any) whenever it changes and on close, and restores it on
the next start, so nothing the user made is lost.

The file is ``<user data dir>/composer/idea.json`` (:func:`default_path`), written atomically
(a temporary file in the same folder, then :func:`os.replace`). Several windows or app instances
share that one file and the last writer wins; before a writer replaces a file that it did not
write or read itself (another instance's idea, or an unreadable file), that file is copied to
``composer/previous/`` (the newest :data:`KEEP_PREVIOUS` are kept), so one instance never
silently destroys another's work. Clearing the idea moves the file there too.

JSON only (no pickle); a file of another format, a newer version or with wrong fields raises
:class:`SavedIdeaError` and is never half-read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from musicapp.errors import MusicappError

log = logging.getLogger(__name__)

FORMAT = "musicapp-composer-idea"
VERSION = 1
#: how many replaced or cleared ideas ``composer/previous/`` keeps
KEEP_PREVIOUS = 20
#: a saved idea is a few kB; anything far larger is not one
MAX_BYTES = 4 * 2**20


class SavedIdeaError(MusicappError):
    """The saved idea cannot be read (corrupt, another program's, another version)."""


@dataclass
class SavedIdea:
    """What the composer holds, in plain data (the JSON ``idea`` object).

    ``progression`` is None before the first progression; it is a dict with ``key``
    (``{"tonic", "mode"}``), ``chords`` (``[{"token", "degree", "alter", "quality",
    "of_degree", "of_alter", "beats", "name"}]``), ``valence``, ``arousal``, ``meter``
    ("4/4"), ``style``, ``loglik``, ``fit``, ``score``, ``notes``. ``settings`` holds the
    composer's choices (emotion source, mood, pad, picture, key, length, surprise, tempo,
    pattern, sound, seed). ``arrangement`` is the voicing, bass and melody as shown (notes as
    ``[start beat, beats, pitch, velocity]``); ``clip`` the MIDI clip the idea started from.
    """

    progression: dict | None = None
    locked: list[int] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    arrangement: dict | None = None
    clip: str | None = None
    #: ISO 8601 UTC time of the save (set by :func:`save`)
    saved_at: str = ""


def default_path() -> Path:
    """``<user data dir>/composer/idea.json``."""
    from musicapp.paths import user_data_dir

    return user_data_dir() / "composer" / "idea.json"


# ---------------------------------------------------------------------- plain data
def progression_to_dict(prog) -> dict:
    """A :class:`musicapp.compose.generate.Progression` as plain JSON data."""
    return {
        "key": {"tonic": prog.key.tonic, "mode": prog.key.mode},
        "chords": [{"token": t.token, "degree": t.degree, "alter": t.alter, "quality": t.quality,
                    "of_degree": t.of_degree, "of_alter": t.of_alter, "beats": float(b),
                    "name": n}
                   for t, b, n in zip(prog.tokens, prog.beats, prog.names, strict=True)],
        "valence": float(prog.valence), "arousal": float(prog.arousal),
        "meter": prog.meter.text, "style": prog.style,
        "loglik": float(prog.loglik), "fit": float(prog.fit), "score": float(prog.score),
        "notes": [str(n) for n in prog.notes],
        # chords the user typed, played as typed (position -> token; see Progression.typed)
        "typed": {str(i): t.token for i, t in sorted(prog.typed.items())},
    }


def progression_from_dict(data: dict):
    """The :class:`~musicapp.compose.generate.Progression` of :func:`progression_to_dict`
    (raises :class:`SavedIdeaError` naming the bad field)."""
    from musicapp.compose.generate import Progression
    from musicapp.compose.rhythm import Meter
    from musicapp.compose.theory import ChordToken, Key

    try:
        key = Key(_str(data["key"]["tonic"]), _str(data["key"]["mode"]))
        chords = data["chords"]
        if not isinstance(chords, list) or not chords:
            raise SavedIdeaError("the progression has no chords")
        tokens, beats = [], []
        for c in chords:
            tokens.append(ChordToken(_int(c["degree"]), _int(c["alter"]), _str(c["quality"]),
                                     None if c["of_degree"] is None else _int(c["of_degree"]),
                                     _int(c["of_alter"])))
            b = _num(c["beats"])
            if not 0 < b <= 64:
                raise SavedIdeaError(f"a chord lasts {b} beats")
            beats.append(b)
        meter = Meter.parse(_str(data["meter"]))
        style = data.get("style")
        typed = data.get("typed") or {}
        if not isinstance(typed, dict):
            raise SavedIdeaError("the typed chords are not a mapping")
        kept: dict[int, ChordToken] = {}
        for pos, tok in typed.items():
            if not (isinstance(pos, str) and pos.isdecimal() and int(pos) < len(tokens)):
                raise SavedIdeaError(f"a typed chord at position {pos!r} outside the progression")
            kept[int(pos)] = ChordToken.parse(_str(tok))
        return Progression(key, tokens, beats, _num(data["valence"]), _num(data["arousal"]),
                           loglik=_num(data.get("loglik", 0.0)), fit=_num(data.get("fit", 0.0)),
                           score=_num(data.get("score", 0.0)), meter=meter,
                           style=None if style is None else _str(style),
                           notes=[_str(n) for n in data.get("notes", [])], typed=kept)
    except SavedIdeaError:
        raise
    except MusicappError as exc:
        raise SavedIdeaError(f"bad progression: {exc}") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise SavedIdeaError(f"bad progression: missing or wrong field {exc}") from exc


def arrangement_to_dict(arr) -> dict:
    """An :class:`musicapp.compose.arrange.Arrangement`'s notes as plain JSON data."""
    def notes(items) -> list[list[float]]:
        return [[float(n.start), float(n.dur), int(n.pitch), int(n.velocity)] for n in items]

    return {"tempo_bpm": float(arr.tempo_bpm), "pattern": arr.pattern,
            "voicings": [[int(p) for p in v] for v in arr.voicings],
            "chords": notes(arr.chords), "bass": notes(arr.bass), "melody": notes(arr.melody)}


# ---------------------------------------------------------------------- file
def encode(idea: SavedIdea) -> bytes:
    """The file's bytes (UTF-8 JSON on one line, sorted keys, so equal ideas give equal bytes;
    unindented, json's C encoder writes it about 20 times faster)."""
    doc = {"format": FORMAT, "version": VERSION, "saved_at": idea.saved_at,
           "idea": {"progression": idea.progression, "locked": sorted(int(i) for i in idea.locked),
                    "settings": idea.settings, "arrangement": idea.arrangement,
                    "clip": idea.clip}}
    return (json.dumps(doc, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")


def decode(raw: bytes) -> SavedIdea:
    """The idea in ``raw`` (raises :class:`SavedIdeaError` saying what is wrong)."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SavedIdeaError(f"not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SavedIdeaError("not a musicapp composer idea")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SavedIdeaError(f"unknown version {version!r}")
    if version != VERSION:
        newer = "a newer" if version > VERSION else "an older"
        raise SavedIdeaError(f"written by {newer} musicapp (version {version}, this one reads "
                             f"{VERSION})")
    body = doc.get("idea")
    if not isinstance(body, dict):
        raise SavedIdeaError("no idea in the file")
    prog = body.get("progression")
    if prog is not None:
        if not isinstance(prog, dict):
            raise SavedIdeaError("bad progression")
        n = len(progression_from_dict(prog).tokens)  # validates
    else:
        n = 0
    locked = body.get("locked", [])
    if not isinstance(locked, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i in locked):
        raise SavedIdeaError(f"bad locks {locked!r}")
    settings = body.get("settings", {})
    if not isinstance(settings, dict):
        raise SavedIdeaError("bad settings")
    arrangement = body.get("arrangement")
    if arrangement is not None and not isinstance(arrangement, dict):
        raise SavedIdeaError("bad arrangement")
    clip = body.get("clip")
    if clip is not None and not isinstance(clip, str):
        raise SavedIdeaError("bad clip")
    saved_at = doc.get("saved_at", "")
    return SavedIdea(prog, sorted(set(locked)), settings, arrangement, clip,
                     saved_at if isinstance(saved_at, str) else "")


class IdeaFile:
    """One composer's view of the shared idea file: it remembers the bytes it last wrote or
    read, so that replacing anything else first keeps a copy in ``previous/``."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.known: bytes | None = None

    @property
    def previous_dir(self) -> Path:
        """Where replaced and cleared ideas are kept."""
        return self.path.parent / "previous"

    def load(self) -> SavedIdea | None:
        """The saved idea, or None when there is none. Raises :class:`SavedIdeaError` for an
        unreadable one (left in place; the next :meth:`save` keeps a copy of it)."""
        from musicapp.paths import NotARegularFile, read_regular_file

        try:
            raw = read_regular_file(self.path, MAX_BYTES)
        except FileNotFoundError:
            return None
        except NotARegularFile as exc:
            raise SavedIdeaError(str(exc)) from exc
        except OSError as exc:
            raise SavedIdeaError(f"cannot read it: {exc}") from exc
        idea = decode(raw)
        self.known = raw
        return idea

    def save(self, idea: SavedIdea, *, durable: bool = False) -> Path:
        """Write ``idea`` atomically (temporary file + :func:`os.replace`); ``durable`` also
        flushes it to the disk (on close). Sets ``idea.saved_at``. Returns the path."""
        idea.saved_at = datetime.now(UTC).isoformat(timespec="seconds")
        raw = encode(idea)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._keep_foreign()
        _write_bytes(self.path, raw, durable=durable)
        self.known = raw
        return self.path

    def clear(self) -> Path | None:
        """Remove the saved idea, keeping it in ``previous/``; returns the copy's path."""
        kept = self._set_aside(self._read_current())
        self.path.unlink(missing_ok=True)
        self.known = None
        return kept

    def _read_current(self) -> bytes | None:
        try:
            return self.path.read_bytes() if self.path.is_file() else None
        except OSError:
            return None

    def _keep_foreign(self) -> None:
        """Copy the file on disk aside when it is not what this composer last wrote or read
        (another instance's idea, or a file that could not be read)."""
        current = self._read_current()
        if current is not None and current != self.known:
            where = self._set_aside(current)
            log.warning("composer idea %s was written elsewhere (another window or instance, "
                        "or unreadable); kept a copy as %s", self.path, where)

    def _set_aside(self, raw: bytes | None) -> Path | None:
        if not raw:
            return None
        self.previous_dir.mkdir(parents=True, exist_ok=True)
        now = time.time_ns()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now / 1e9)) + f".{now % 10**9:09d}"
        digest = hashlib.sha256(raw).hexdigest()[:10]
        target = self.previous_dir / f"idea-{stamp}-{digest}.json"  # names sort by age
        if not target.exists():
            _write_bytes(target, raw, durable=False)
        old = sorted(self.previous_dir.glob("idea-*.json"))
        for extra in old[:-KEEP_PREVIOUS]:
            if extra != target:
                extra.unlink(missing_ok=True)
        return target


def _write_bytes(path: Path, raw: bytes, *, durable: bool) -> None:
    """Replace ``path`` by ``raw`` all or nothing (:func:`musicapp.outputs.write_atomically`);
    ``durable`` also flushes it to the disk."""
    from musicapp.outputs import write_atomically

    write_atomically(path, lambda tmp: Path(tmp).write_bytes(raw), overwrite=True,
                     kind="composer idea", error=SavedIdeaError, fsync=durable)


def saved_time_text(saved_at: str) -> str:
    """``saved_at`` in local time, "27 Nov 23:41" (the text itself when it is not a time)."""
    try:
        t = datetime.fromisoformat(saved_at)
    except ValueError:
        return saved_at or "an unknown time"
    return t.astimezone().strftime("%d %b %H:%M")


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise SavedIdeaError(f"{v!r}: expected text")
    return v


def _int(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise SavedIdeaError(f"{v!r}: expected a whole number")
    return v


def _num(v: Any) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v != v \
            or v in (float("inf"), float("-inf")):
        raise SavedIdeaError(f"{v!r}: expected a number")
    return float(v)
