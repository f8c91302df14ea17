"""Shared builders for compose tests (no model needed)."""

from __future__ import annotations

from musicapp.compose.generate import Progression
from musicapp.compose.theory import ChordToken, Key


def progression(tokens: list[str], key: str = "C", beats: list[float] | None = None,
                valence: float = 0.3, arousal: float = 0.0) -> Progression:
    """A Progression built from Roman numerals (read in the key's mode) or tokens."""
    k = Key.parse(key)
    toks = [ChordToken.parse(t, k.mode) for t in tokens]
    return Progression(k, toks, beats or [4.0] * len(toks), valence, arousal)
