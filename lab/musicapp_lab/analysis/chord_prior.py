"""Derive the chord-transition and key-mode prior shipped in resources/analysis/chord_prior.json.

Sources (local copies the user points to; nothing is downloaded):

* McGill Billboard (CC0): ``billboard-2.0.1-lab/NNNN/full.lab`` (timed Harte chords);
* POP909 (MIT): ``NNN/chord_midi.txt`` and ``NNN/key_audio.txt`` of the *development* songs only
  (song number divisible by 4), so the realistic evaluation songs never inform the decoder.

The table is P(next quality, root interval | current quality) over the analysis vocabulary
(:data:`musicapp.analysis.labels.QUALITY_NAMES`), from consecutive distinct chords (N skipped),
add-one smoothed; plus the share of minor keys.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from musicapp.analysis.labels import QUALITY_NAMES
from musicapp.pitch import PitchError, note_pc

#: Harte qualities (before any "/bass") mapped onto the analysis vocabulary; others are skipped.
REDUCE = {
    "maj": "maj", "min": "min", "7": "7", "maj7": "maj7", "min7": "min7", "dim": "dim",
    "sus4": "sus4", "sus2": "sus2", "hdim7": "hdim7", "dim7": "dim7", "maj6": "maj",
    "min6": "min", "9": "7", "maj9": "maj7", "min9": "min7", "11": "7", "13": "7",
    "min11": "min7", "sus4(b7)": "sus4", "sus4(b7,9)": "sus4", "aug": "maj", "minmaj7": "min",
    "7(#9)": "7", "7(b9)": "7", "maj(9)": "maj", "min(9)": "min", "sus2(b7)": "sus2",
}


def reduce_label(label: str) -> tuple[int, int] | None:
    """(root pitch class, index in QUALITY_NAMES) of a Harte label, None for N/X/unknown."""
    if not label or label in ("N", "X") or ":" not in label:
        return None
    root, _, rest = label.partition(":")
    quality = rest.split("/")[0]
    q = REDUCE.get(quality)
    if q is None and "(" in quality:
        q = REDUCE.get(quality.split("(")[0])
    if q is None:
        return None
    try:
        return note_pc(root), QUALITY_NAMES.index(q)
    except PitchError:
        return None


def _labels(path: Path, column: int = 2) -> list[str]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) > column:
            out.append(parts[column])
    return out


def count_transitions(sequences: list[list[str]]) -> np.ndarray:
    """Counts (n_q, 12, n_q): current quality, root interval to the next chord, next quality."""
    nq = len(QUALITY_NAMES)
    counts = np.zeros((nq, 12, nq))
    for seq in sequences:
        chords = [c for c in (reduce_label(x) for x in seq) if c is not None]
        dedup = [c for i, c in enumerate(chords) if i == 0 or c != chords[i - 1]]
        for (r1, q1), (r2, q2) in itertools.pairwise(dedup):
            counts[q1, (r2 - r1) % 12, q2] += 1
    return counts


def build_prior(billboard: Path | None, pop909: Path | None) -> dict:
    """The prior as a JSON-ready dict; raises FileNotFoundError when a given copy is absent."""
    from musicapp_lab.analysis.evalset.pop909 import song_split

    sequences: list[list[str]] = []
    sources = {}
    n_minor = n_keys = 0
    if billboard is not None:
        labs = sorted(Path(billboard).glob("*/full.lab"))
        if not labs:
            raise FileNotFoundError(f"{billboard}: no NNNN/full.lab files (the "
                                    "billboard-2.0.1-lab folder of McGill Billboard)")
        sequences += [_labels(p) for p in labs]
        sources["mcgill_billboard"] = {"songs": len(labs), "licence": "CC0"}
    if pop909 is not None:
        songs = sorted(d for d in Path(pop909).iterdir() if d.name.isdigit()
                       and song_split(d.name) == "dev" and (d / "chord_midi.txt").is_file())
        if not songs:
            raise FileNotFoundError(f"{pop909}: no POP909 song folders with chord_midi.txt")
        sequences += [_labels(d / "chord_midi.txt") for d in songs]
        for d in songs:
            for lab in _labels(d / "key_audio.txt"):
                n_keys += 1
                n_minor += lab.endswith(":min")
        sources["pop909_dev_songs"] = {"songs": len(songs), "licence": "MIT"}
    if not sequences:
        raise FileNotFoundError("no source given: pass --billboard and/or --pop909")
    counts = count_transitions(sequences)
    probs = (counts + 1.0) / (counts + 1.0).sum(axis=(1, 2), keepdims=True)
    return {
        "qualities": list(QUALITY_NAMES),
        "transitions": int(counts.sum()),
        "log_p_next": np.round(np.log(probs), 4).tolist(),  # [q1][interval][q2]
        "minor_key_share": round(n_minor / n_keys, 4) if n_keys else None,
        "sources": sources,
    }


def write_prior(out: Path, billboard: Path | None, pop909: Path | None, *,
                force: bool = False) -> Path:
    """Build the prior and write it (JSON, atomically) to ``out``; an existing ``out`` is
    refused before any counting unless ``force``."""
    from musicapp_lab.cli._out import refuse_existing, write_text

    refuse_existing(out, force=force)
    prior = build_prior(billboard, pop909)
    return write_text(out, json.dumps(prior, separators=(",", ":")) + "\n", force=force,
                      kind="JSON")
