"""The one result of analysing a track: :class:`TrackAnalysis`.

Produced by :mod:`musicapp.pipeline` and used unchanged by the CLI (``analyze --json``), the GUI's
analysis worker and the library indexer (which stores :meth:`TrackAnalysis.to_dict`). It holds
the tagger's fields (moods, valence/arousal, genres, hash code ...), the music analysis' fields
(key, tempo, beats, chords ...), decoder warnings and, per part, the reason a part did not run or
failed. Silence and too-short input are explicit: ``status`` says so and no part reports values.

The JSON form is flat (the parts' fields at the top level) so that stored analyses and scripts
keep working; :meth:`TrackAnalysis.from_dict` reads it back. This module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Top-level fields that belong to the tagger part (everything not listed here or in
#: :data:`META_FIELDS` belongs to the music analysis). Extend when the tagger gains a field.
TAG_FIELDS = frozenset({
    "moods", "valence", "arousal", "energy", "genres", "hash", "embedding", "segments", "model",
    "device", "mood_reference", "curves", "model_version", "moods_status",
})
#: Fields describing the track and the run rather than a part's findings.
META_FIELDS = frozenset({"path", "format", "duration_s", "status", "level_dbfs", "warnings",
                         "errors", "schema"})
SCHEMA = 2

def json_default(obj: Any) -> Any:
    """``json.dumps(..., default=json_default)``: numpy arrays and scalars as plain JSON values,
    anything else as its text (an analysis must always be writable)."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


#: ``status`` values.
OK, SILENCE, TOO_SHORT = "ok", "silence", "too short"


@dataclass
class TrackAnalysis:
    """What musicapp found in one track (see the module documentation)."""

    duration_s: float
    path: str | None = None
    format: str | None = None
    status: str = OK
    level_dbfs: float | None = None
    tags: dict[str, Any] | None = None
    music: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    feature_maps: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    # ---- convenient typed access ---------------------------------------------------------
    @property
    def silent(self) -> bool:
        """True when the track is silence or too short: nothing musical is reported."""
        return self.status != OK

    @property
    def key(self) -> dict[str, Any] | None:
        """``{"tonic", "mode", "confidence", ...}`` or None."""
        return (self.music or {}).get("key")

    @property
    def tempo_bpm(self) -> float | None:
        """The tempo a musician would count, or None (silence, no beat, failure)."""
        value = (self.music or {}).get("tempo_bpm")
        return None if value is None else float(value)

    @property
    def meter(self) -> str | None:
        """Time signature such as ``"4/4"``, or None."""
        return (self.music or {}).get("meter")

    @property
    def chords(self) -> list[dict[str, Any]]:
        """``[{"start", "end", "label"}, ...]`` (Harte labels)."""
        return list((self.music or {}).get("chords") or [])

    @property
    def beats(self) -> list[float]:
        """Beat times in seconds."""
        return list((self.music or {}).get("beats") or [])

    @property
    def downbeats(self) -> list[float]:
        """Downbeat times in seconds."""
        return list((self.music or {}).get("downbeats") or [])

    @property
    def moods(self) -> list[dict[str, Any]]:
        """``[{"tag", "percentile", "score", ...}, ...]``."""
        return list((self.tags or {}).get("moods") or [])

    @property
    def hash(self) -> str | None:
        """The 64-bit binary code as hex, or None."""
        return (self.tags or {}).get("hash")

    def get(self, name: str, default: Any = None) -> Any:
        """A field of the flat form by name (``"valence"``, ``"key_timeline"``, ...)."""
        return self.to_dict().get(name, default)

    # ---- (de)serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The flat JSON form (``musicapp analyze --json``, the library's stored analysis)."""
        out: dict[str, Any] = {"schema": SCHEMA}
        if self.path is not None:
            out["path"] = self.path
        if self.format is not None:
            out["format"] = self.format
        out["duration_s"] = round(float(self.duration_s), 3)
        out["status"] = self.status
        if self.level_dbfs is not None:
            out["level_dbfs"] = round(float(self.level_dbfs), 1)
        if self.tags:
            out.update(self.tags)
        if self.music:
            out.update(self.music)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.errors:
            out["errors"] = dict(self.errors)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackAnalysis:
        """Read the flat form back (also the older stored form without ``schema``/``status``)."""
        if not isinstance(data, dict):
            raise ValueError(f"an analysis must be a JSON object, not {type(data).__name__}")
        tags = {k: v for k, v in data.items() if k in TAG_FIELDS}
        music = {k: v for k, v in data.items() if k not in TAG_FIELDS and k not in META_FIELDS}
        errors = data.get("errors") or {}
        if isinstance(errors, list):  # older GUI form: a list of messages
            errors = {f"part{i}": str(m) for i, m in enumerate(errors)}
        warnings = data.get("warnings") or []
        return cls(
            duration_s=float(data.get("duration_s") or 0.0),
            path=data.get("path"),
            format=data.get("format"),
            status=str(data.get("status") or OK),
            level_dbfs=data.get("level_dbfs"),
            tags=tags or None,
            music=music or None,
            warnings=[str(w) for w in warnings] if isinstance(warnings, list) else [str(warnings)],
            errors={str(k): str(v) for k, v in dict(errors).items()},
        )
