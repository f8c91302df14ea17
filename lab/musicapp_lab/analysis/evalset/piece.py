"""A symbolic piece with its ground truth, and its JSON form in the on-disk cache."""

from __future__ import annotations

from dataclasses import dataclass, field

from musicapp_lab.analysis.render import Note


@dataclass
class Piece:
    """Notes to render plus the ground truth the analysis is scored against.

    ``beats``/``downbeats``/``tempo``/``meter`` are None where the source has no reliable beat
    grid (then the piece is scored only for key and chords). ``key`` is None where the source
    notates no reliable key (then the piece is not scored for key; ``key_segments`` is empty).
    """

    name: str
    source: str
    notes: list[Note]
    programs: dict[int, int]
    key: tuple[int, str] | None
    key_segments: list[tuple[float, float, int, str]]
    chords: list[tuple[float, float, str]]
    beats: list[float] | None
    downbeats: list[float] | None
    tempo: float | None
    meter: str | None
    duration: float
    description: str = ""
    extra: dict = field(default_factory=dict)

    def truth(self) -> dict:
        """Ground truth as a JSON-ready dict (everything except the notes)."""
        return {
            "name": self.name,
            "source": self.source,
            "key": None if self.key is None else [self.key[0], self.key[1]],
            "key_segments": [list(s) for s in self.key_segments],
            "chords": [list(c) for c in self.chords],
            "beats": self.beats,
            "downbeats": self.downbeats,
            "tempo": self.tempo,
            "meter": self.meter,
            "duration": self.duration,
            "description": self.description,
            "constant_tempo": bool(self.extra.get("constant_tempo", self.tempo is not None)),
            **({"key_signature": self.extra["key_signature"]}
               if "key_signature" in self.extra else {}),
        }
