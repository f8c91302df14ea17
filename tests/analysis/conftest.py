"""Shared fixtures: short rendered progressions with known key, tempo, meter and chords."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.analysis.evalset.piece import Piece
from musicapp_lab.analysis.evalset.progressions import make_progression_piece
from musicapp_lab.analysis.render import find_soundfont, render_notes

TEST_SEED = 4242  # neither an evaluation nor a development seed

try:
    find_soundfont()
    HAVE_SF = True
except Exception:
    HAVE_SF = False

needs_soundfont = pytest.mark.skipif(not HAVE_SF, reason="GM soundfont not installed")


def steady_piece(tempo: float, tonic: int, mode: str, beats_per_bar: int = 4,
                 max_seconds: float = 30.0) -> Piece:
    """A non-modulating generated piece with drums and bass, cut to ``max_seconds``."""
    for index in range(200):
        p = make_progression_piece(TEST_SEED, index, tempo=tempo, tonic=tonic, mode=mode,
                                   beats_per_bar=beats_per_bar)
        has_drums = any(n.channel == 9 for n in p.notes)
        has_bass = any(n.channel == 1 for n in p.notes)
        if len(p.key_segments) == 1 and has_drums and has_bass:
            return cut(p, max_seconds)
    raise AssertionError("no steady piece found")


def cut(p: Piece, seconds: float) -> Piece:
    """The first ``seconds`` of a piece (notes and ground truth)."""
    p.notes = [n for n in p.notes if n.start < seconds]
    p.chords = [(a, min(b, seconds), lab) for a, b, lab in p.chords if a < seconds]
    p.beats = [b for b in (p.beats or []) if b < seconds]
    p.downbeats = [b for b in (p.downbeats or []) if b < seconds]
    p.duration = min(p.duration, seconds)
    return p


def render(p: Piece, sr: int = 22050) -> np.ndarray:
    """Render a piece to mono float32."""
    return render_notes(p.notes, p.programs, sample_rate=sr)
