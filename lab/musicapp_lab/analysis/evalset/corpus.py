"""Pieces from music21's bundled corpus that have expert Roman-numeral analyses.

20 Bach chorales (Riemenschneider 1-20, analyses by A. Jones, proofread by D. Tymoczko) and 48
Monteverdi madrigals (books 3-5). The score is rendered at a fixed tempo; the analysis gives the
ground-truth keys and chords (converted to Harte labels). Chorales also give a quarter-note beat
grid; the madrigals (half-note tactus, free meter) are scored for key and chords only.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np

from musicapp.analysis.labels import PITCH_NAMES, quality_from_pitch_classes
from musicapp_lab.analysis.evalset.piece import Piece
from musicapp_lab.analysis.render import Note

ENSEMBLES = [
    ("organ", [19, 19, 19, 19]),
    ("strings", [40, 41, 42, 42]),
    ("choir", [52, 52, 52, 52]),
    ("piano", [0, 0, 0, 0]),
    ("winds", [73, 68, 71, 70]),
    ("brass", [56, 60, 57, 58]),
    ("mixed", [68, 41, 0, 32]),
]


def _corpus_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def analysis_files() -> list[Path]:
    """All RomanText analyses of the corpus, chorales first, in a stable order."""
    base = _corpus_dir()
    chorales = sorted((base / "bach" / "choraleAnalyses").glob("riemenschneider*.rntxt"))
    madrigals = sorted((base / "monteverdi").glob("madrigal.*.rntxt"),
                       key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)])
    return chorales + madrigals


def _score_for(rntxt: Path) -> Path | None:
    text = rntxt.read_text(errors="replace")
    if "choraleAnalyses" in str(rntxt):
        m = re.search(r"^BWV:\s*([\d.]+)", text, re.M)
        if not m:
            return None
        bwv = m.group(1).strip()
        bach = _corpus_dir() / "bach"
        for cand in [f"bwv{bwv}.mxl", f"bwv{bwv}.xml", f"bwv{bwv}.krn"]:
            if (bach / cand).is_file():
                return bach / cand
        hits = sorted(bach.glob(f"bwv{bwv}.*.mxl"))
        return hits[0] if hits else None
    score = rntxt.with_suffix(".mxl")
    return score if score.is_file() else None


def _mode(key) -> str:
    return "minor" if key.mode == "minor" else "major"


def load_corpus_piece(rntxt: Path, seed: int) -> Piece | None:
    """Build a :class:`Piece` from an analysis and its score; None when they cannot be aligned."""
    from music21 import converter, roman

    score_path = _score_for(rntxt)
    if score_path is None:
        return None
    rng = np.random.default_rng([seed, zlib.crc32(rntxt.name.encode())])
    analysis = converter.parse(str(rntxt), format="romantext")
    score = converter.parse(str(score_path))
    is_chorale = "choraleAnalyses" in str(rntxt)
    qpm = float(rng.uniform(72, 100)) if is_chorale else float(rng.uniform(120, 160))
    spq = 60.0 / qpm
    ensemble_name, programs_list = ENSEMBLES[int(rng.integers(0, len(ENSEMBLES)))]

    notes: list[Note] = []
    programs: dict[int, int] = {}
    parts = list(score.parts)[:8]
    end_q = 0.0
    pcs_timeline: list[tuple[float, float, set[int]]] = []
    for pi, part in enumerate(parts):
        chan = pi if pi < 9 else pi + 1
        programs[chan] = programs_list[pi % len(programs_list)]
        for n in part.flatten().notes:
            off = float(n.getOffsetInHierarchy(part))
            ql = float(n.quarterLength)
            if ql <= 0:
                continue
            for p in n.pitches:
                notes.append(Note(off * spq, (off + ql) * spq - 0.01, chan, int(p.midi), 80))
                pcs_timeline.append((off, off + ql, {int(p.midi) % 12}))
            end_q = max(end_q, off + ql)
    if not notes:
        return None

    rns = list(analysis.recurse().getElementsByClass(roman.RomanNumeral))
    if not rns:
        return None
    segs: list[tuple[float, float, str, tuple[int, str]]] = []
    for i, r in enumerate(rns):
        q0 = float(r.getOffsetInHierarchy(analysis))
        q1 = float(rns[i + 1].getOffsetInHierarchy(analysis)) if i + 1 < len(rns) else end_q
        if q1 <= q0:
            continue
        root = r.root().pitchClass
        quality = quality_from_pitch_classes(root, set(r.pitchClasses))
        label = f"{PITCH_NAMES[root]}:{quality}" if quality else "X"
        segs.append((q0, min(q1, end_q), label, (r.key.tonic.pitchClass, _mode(r.key))))
    if not segs:
        return None

    # Alignment check: the analysis must explain the score. A 1/8-quarter piano roll of pitch
    # classes is matched against each chord span's best major/minor triad; the analysis is shifted
    # by up to +-2 quarters to the best agreement, and skipped when agreement stays below 0.7
    # (misaligned analyses: pickups, repeats, editorial differences).
    res = 8
    n_steps = int(np.ceil(end_q * res)) + 1
    roll = np.zeros((12, n_steps))
    for a, b, pcs in pcs_timeline:
        for pc in pcs:
            roll[pc, int(a * res):max(int(a * res) + 1, int(b * res))] += 1.0
    cum = np.concatenate([np.zeros((12, 1)), np.cumsum(roll, axis=1)], axis=1)

    def agreement(shift: float) -> float:
        ok = tot = 0.0
        for q0, q1, label, _ in segs:
            if label == "X" or label.split(":")[1] not in ("maj", "min", "7", "min7", "maj7"):
                continue
            i0 = int(np.clip((q0 + shift) * res, 0, n_steps))
            i1 = int(np.clip((q1 + shift) * res, 0, n_steps))
            if i1 <= i0:
                continue
            hist = cum[:, i1] - cum[:, i0]
            root = PITCH_NAMES.index(label.split(":")[0])
            third = 3 if label.split(":")[1].startswith("min") else 4
            best = max(
                (hist[r] + hist[(r + t) % 12] + hist[(r + 7) % 12], r, t)
                for r in range(12) for t in (3, 4))
            tot += q1 - q0
            ok += (q1 - q0) * (best[1] == root and best[2] == third)
        return ok / tot if tot else 0.0

    shifts = np.arange(-2.0, 2.01, 0.5)
    scores = [agreement(float(sh)) for sh in shifts]
    best_shift = float(shifts[int(np.argmax(scores))])
    if max(scores) < 0.7:
        return None
    if best_shift:
        segs = [(max(0.0, q0 + best_shift), min(end_q, q1 + best_shift), lab, k)
                for q0, q1, lab, k in segs]
        segs = [s for s in segs if s[1] > s[0]]

    chords = [(q0 * spq, q1 * spq, label) for q0, q1, label, _ in segs]
    key_segments: list[tuple[float, float, int, str]] = []
    for q0, q1, _, key in segs:
        if key_segments and (key_segments[-1][2], key_segments[-1][3]) == key:
            key_segments[-1] = (key_segments[-1][0], q1 * spq, key[0], key[1])
        else:
            key_segments.append((q0 * spq, q1 * spq, key[0], key[1]))
    global_key = segs[0][3]
    duration = end_q * spq

    beats = downbeats = None
    tempo = meter = None
    if is_chorale:
        ts = score.recurse().getElementsByClass("TimeSignature")
        ts0 = ts[0] if ts else None
        if ts0 is not None and ts0.denominator == 4 and ts0.numerator in (3, 4):
            bpb = ts0.numerator
            measures = list(parts[0].getElementsByClass("Measure"))
            downbeat_q = []
            for m in measures:
                off = float(m.offset)
                if m.paddingLeft and m.paddingLeft > 0:
                    continue
                downbeat_q.append(off)
            first = downbeat_q[0] if downbeat_q else 0.0
            beat_q = np.arange(first - bpb, end_q - 1e-6, 1.0)
            beat_q = beat_q[beat_q >= -1e-6]
            beats = [float(b * spq) for b in beat_q]
            downbeats = [float(d * spq) for d in downbeat_q]
            tempo = qpm
            meter = f"{bpb}/4"
    name = rntxt.stem if is_chorale else rntxt.name.replace(".rntxt", "")
    return Piece(
        name=f"{'chorale' if is_chorale else 'madrigal'}-{name}",
        source="chorale" if is_chorale else "madrigal",
        notes=notes,
        programs=programs,
        key=global_key,
        key_segments=key_segments,
        chords=chords,
        beats=beats,
        downbeats=downbeats,
        tempo=tempo,
        meter=meter,
        duration=duration,
        description=f"{score_path.name} {ensemble_name} q={qpm:.0f}",
    )
