"""Training data for the chord model: the real-song corpus, labels, vocabulary, song split.

Reads ``resources/compose/chord_corpus.json.gz`` (built by ``musicapp build-chord-corpus``).

**Emotion labels (rule A, the training labels).** No permissively licensed corpus annotates
songs with emotions, so each sequence gets labels from two *annotated* properties of the song,
never from its chords:

* ``arousal = clip((bpm - 100) / 40, -1, 1)`` — the song's measured tempo (Billboard: line times
  and bar counts; POP909: beat times). This is the inverse of the product's tempo rule
  (``arrange.tempo_for_arousal``: 100 + 40 * arousal bpm). Sources without a tempo (the music21
  chorales and most OpenEWLD lead sheets) get the tempo assumed for their style
  (:data:`ASSUMED_BPM`).
* ``valence = clip(0.6 * (+1 major / -1 minor) + 0.4 * tanh((bpm - 100) / 40), -1, 1)`` — the
  annotated mode and the tempo, the two best-replicated cues of happy vs sad music
  (Gabrielsson & Lindström 2010).

The reranker (``generate.Generator.generate``) scores a loop's chord qualities (rule B,
``labels.derive_valence``) and the judge of the emotion evaluation is the audio tagger (neither
mode annotations nor tempo). Evaluation conditions come from style, mode and meter only
(:func:`group_conditions`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.compose.rhythm import Meter
from musicapp.compose.theory import ChordToken, Key
from musicapp.compose.vocab import BOS, EOS, PAD, SPECIALS, UNK, ngram_hash
from musicapp.paths import resource_path

RESOURCES = resource_path("compose")
CORPUS = RESOURCES / "chord_corpus.json.gz"
#: the source kept out of training for the cross-corpus test (``train --exclude-source``)
CROSS_SOURCE = "ewld"
#: tempo assumed where a source has none (quarter notes per minute)
ASSUMED_BPM = {"chorale": 70.0, "jazz": 100.0, "pop": 110.0, "cpop": 75.0}
N_DUR = 3  # bar-relative duration classes: shorter than a bar, one bar, longer

_C = Key("C")

__all__ = ["BOS", "EOS", "PAD", "UNK", "Sequence", "Vocab", "dur_class_bar", "encode_windows",
           "group_conditions", "load_sequences", "split_sequences"]


@dataclass
class Sequence:
    """One training/evaluation sequence with its labels."""

    source: str
    song: str
    style: str
    mode: str
    meter: str
    tokens: list[str]
    beats: list[float]
    bpm: float
    valence: float = 0.0
    arousal: float = 0.0
    tonic: str = "C"
    melody: list[list[int]] = field(default_factory=list)
    sections: list[list] = field(default_factory=list)

    @property
    def meter_family(self) -> str:
        return Meter.parse(self.meter).family

    @property
    def bar_beats(self) -> float:
        return Meter.parse(self.meter).bar_beats


@dataclass
class Vocab:
    """Token <-> id mapping; ids 0-3 are pad, bos, eos, unk."""

    itos: list[str] = field(default_factory=lambda: list(SPECIALS))

    def __post_init__(self) -> None:
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.stoi.get(t, UNK) for t in tokens]

    @staticmethod
    def build(seqs: list[Sequence], min_count: int = 5) -> Vocab:
        counts = Counter(t for s in seqs for t in s.tokens)
        toks = sorted(t for t, c in counts.items() if c >= min_count)
        return Vocab(list(SPECIALS) + toks)


def emotion_labels(mode: str, bpm: float) -> tuple[float, float]:
    """Rule A (see the module docstring): (valence, arousal) from mode and tempo."""
    t = (bpm - 100.0) / 40.0
    arousal = float(np.clip(t, -1.0, 1.0))
    valence = float(np.clip(0.6 * (1.0 if mode == "major" else -1.0) + 0.4 * math.tanh(t),
                            -1.0, 1.0))
    return valence, arousal


def dur_class_bar(beats: float, bar_beats: float) -> int:
    """0: shorter than a bar, 1: one bar, 2: longer."""
    return 0 if beats < bar_beats - 1e-9 else (1 if beats < bar_beats + 1e-9 else 2)


def merge_same_root(tokens: list[str], beats: list[float]) -> tuple[list[str], list[float]]:
    """Merge consecutive chords on the same root (passing sevenths and suspensions split one
    harmony in the automatic chorale analysis) into the longer one's quality."""
    out_t: list[str] = []
    out_b: list[float] = []
    last_root = None
    for tok, b in zip(tokens, beats, strict=True):
        r = ChordToken.parse(tok).root(_C)[1]
        if out_t and r == last_root:
            if b >= out_b[-1]:
                out_t[-1] = tok
            out_b[-1] += b
        else:
            out_t.append(tok)
            out_b.append(b)
        last_root = r
    return out_t, out_b


def load_sequences(corpus: Path = CORPUS) -> list[Sequence]:
    """All records of the corpus file with their labels."""
    doc = json.loads(gzip.decompress(Path(corpus).read_bytes()))
    seqs = []
    for r in doc["records"]:
        toks, beats = r["tokens"], [float(b) for b in r["beats"]]
        if r["source"] == "music21":
            toks, beats = merge_same_root(toks, beats)
        try:
            Meter.parse(r["meter"])
        except Exception:
            continue
        bpm = float(r["bpm"]) if r.get("bpm") else ASSUMED_BPM[r["style"]]
        s = Sequence(r["source"], r["song"], r["style"], r["mode"], r["meter"], toks, beats,
                     bpm, tonic=r["tonic"], melody=r.get("melody") or [],
                     sections=r.get("sections") or [])
        s.valence, s.arousal = emotion_labels(s.mode, s.bpm)
        seqs.append(s)
    return seqs


def split_of(song: str, seed: int = 0) -> str:
    """Deterministic split by song: ~80% train, 10% valid, 10% test."""
    h = int(hashlib.sha256(f"{seed}:{song}".encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 80 else ("valid" if h < 90 else "test")


def split_sequences(seqs: list[Sequence], seed: int = 0,
                    exclude_source: str | None = None) -> dict[str, list[Sequence]]:
    """train/valid/test by song (every record of a song in one split); with ``exclude_source``
    that source's records all go to ``"cross"`` and none to the other splits."""
    out: dict[str, list[Sequence]] = {"train": [], "valid": [], "test": [], "cross": []}
    for s in seqs:
        if exclude_source and s.source == exclude_source:
            out["cross"].append(s)
        else:
            out[split_of(s.song, seed)].append(s)
    return out


def group_conditions(train: list[Sequence]) -> dict[str, list[float]]:
    """Mean training (valence, arousal) per ``style|mode|meter family`` — the condition used to
    evaluate a test sequence (never derived from its own chords or tempo)."""
    acc: dict[str, list[list[float]]] = {}
    for s in train:
        acc.setdefault(f"{s.style}|{s.mode}|{s.meter_family}", []).append([s.valence,
                                                                            s.arousal])
        acc.setdefault(f"*|{s.mode}|*", []).append([s.valence, s.arousal])
    return {k: [float(x) for x in np.mean(v, axis=0)] for k, v in acc.items()}


def eval_condition(s: Sequence, groups: dict[str, list[float]], style: str | None = "own"
                   ) -> np.ndarray:
    """Condition vector for evaluating ``s``: its style (or ``style``), mode and meter, with the
    group's mean labels."""
    from musicapp.compose.conditioning import condition_vector

    st = s.style if style == "own" else style
    v, a = groups.get(f"{st}|{s.mode}|{s.meter_family}", groups[f"*|{s.mode}|*"])
    return condition_vector(v, a, s.mode, st, s.meter_family)


def encode_windows(seqs: list[Sequence], vocab: Vocab, window: int = 64
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut sequences into training windows.

    Returns ``inputs`` (n, window) token ids starting with BOS, ``in_durs`` (n, window)
    bar-relative duration classes of the input chords (``N_DUR`` = none, for BOS/PAD),
    ``targets`` (n, window) next-token ids (EOS at a sequence end, PAD after), ``durs`` (n,
    window) duration classes of the target chord (-1 where none), and ``conds`` (n, COND_DIM).
    """
    from musicapp.compose.conditioning import condition_vector

    ins, ids_d, tgs, dus, cds = [], [], [], [], []
    for s in seqs:
        ids = vocab.encode(s.tokens)
        bar = s.bar_beats
        dcls = [dur_class_bar(b, bar) for b in s.beats]
        cond = condition_vector(s.valence, s.arousal, s.mode, s.style, s.meter_family)
        for start in range(0, len(ids), window - 1):
            chunk = ids[start:start + window - 1]
            dchunk = dcls[start:start + window - 1]
            inp = [BOS, *chunk]
            tgt = [*chunk, EOS] if start + window - 1 >= len(ids) else [*chunk, PAD]
            dur = [*dchunk, -1]
            ind = [N_DUR, *dchunk][:window]
            ind = ind + [N_DUR] * (window - len(ind))
            inp = inp[:window] + [PAD] * (window - len(inp[:window]))
            tgt = tgt[:window] + [PAD] * (window - len(tgt[:window]))
            dur = dur[:window] + [-1] * (window - len(dur[:window]))
            ins.append(inp)
            ids_d.append(ind)
            tgs.append(tgt)
            dus.append(dur)
            cds.append(cond)
    return (np.asarray(ins, dtype=np.int64), np.asarray(ids_d, dtype=np.int64),
            np.asarray(tgs, dtype=np.int64),
            np.asarray(dus, dtype=np.int64), np.asarray(cds, dtype=np.float32))


def ngram_hashes(seqs: list[Sequence], n: int = 8) -> np.ndarray:
    """Sorted unique hashes of every ``n``-gram of the sequences."""
    hs = {ngram_hash(s.tokens[i:i + n]) for s in seqs for i in range(len(s.tokens) - n + 1)}
    return np.array(sorted(hs), dtype=np.int64)
