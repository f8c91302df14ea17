"""Pitch-class names, chord qualities and Harte-style labels shared by the analysis modules."""

from __future__ import annotations

import numpy as np

from musicapp.pitch import CHROMATIC_NAMES as PITCH_NAMES  # key-free names (musicapp.pitch)

MODES = ("major", "minor")

# Chord qualities recognised, as intervals (semitones above the root).
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "dim": (0, 3, 6),
    "sus4": (0, 5, 7),
    "sus2": (0, 2, 7),
    "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
}
#: Harte bass degree of each chord-tone interval (for inversions, e.g. ``C:maj/3``).
INTERVAL_DEGREES = {3: "b3", 4: "3", 5: "4", 6: "b5", 7: "5", 9: "bb7", 10: "b7", 11: "7", 2: "2"}
QUALITY_NAMES = tuple(QUALITIES)
N_CHORDS = 12 * len(QUALITY_NAMES)  # index N_CHORDS is "N" (no chord)


def chord_label(index: int) -> str:
    """Harte label of chord ``index`` (root * n_qualities + quality), ``N`` for the last index."""
    if index >= N_CHORDS or index < 0:
        return "N"
    root, q = divmod(index, len(QUALITY_NAMES))
    return f"{PITCH_NAMES[root]}:{QUALITY_NAMES[q]}"


def chord_index(root: int, quality: str) -> int:
    """Index of the chord with pitch-class ``root`` and ``quality``."""
    return (root % 12) * len(QUALITY_NAMES) + QUALITY_NAMES.index(quality)


def chord_pitch_classes(root: int, quality: str) -> list[int]:
    """Pitch classes of a chord."""
    return [(root + i) % 12 for i in QUALITIES[quality]]


def key_label(tonic: int, mode: str) -> str:
    """mir_eval key string, e.g. ``"Eb minor"``."""
    return f"{PITCH_NAMES[tonic % 12]} {mode}"


def quality_from_pitch_classes(root: int, pcs: set[int]) -> str | None:
    """Best Harte quality for a pitch-class set over ``root`` (None when nothing fits)."""
    rel = {(p - root) % 12 for p in pcs}
    if {4, 7} <= rel or rel == {0, 4} or (4 in rel and 8 not in rel and 6 not in rel):
        if 10 in rel:
            return "7"
        if 11 in rel:
            return "maj7"
        return "maj"
    if 3 in rel and 6 in rel and 7 not in rel:
        if 10 in rel:
            return "hdim7"
        if 9 in rel:
            return "dim7"
        return "dim"
    if 3 in rel:
        if 10 in rel:
            return "min7"
        return "min"
    if 5 in rel and 7 in rel:
        return "sus4"
    if 2 in rel and 7 in rel:
        return "sus2"
    if 4 in rel and 8 in rel:
        return "aug"
    return None


def templates(bass_weight: float = 0.0) -> np.ndarray:
    """Binary chroma templates, shape (N_CHORDS, 12), each row unit-norm."""
    t = np.zeros((N_CHORDS, 12), dtype=np.float32)
    for root in range(12):
        for q in QUALITY_NAMES:
            for pc in chord_pitch_classes(root, q):
                t[chord_index(root, q), pc] = 1.0
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    return t
