"""Training data for the chord model: corpus + curated table, labels, vocabulary, tune split."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.compose.labels import DEFAULT_BPM, derive_arousal, derive_valence
from musicapp.compose.theory import ChordToken, Key, canonical, parse_roman
from musicapp.compose.vocab import BOS, DUR_BEATS, EOS, PAD, SPECIALS, UNK, dur_class, ngram_hash
from musicapp.paths import resource_path

RESOURCES = resource_path("compose")
CORPUS_JSON = RESOURCES / "corpus_tokens.json"
CURATED_JSON = RESOURCES / "progressions.json"

_C = Key("C")


@dataclass
class Sequence:
    """One training/evaluation sequence with its derived labels."""

    source: str
    tune: str
    mode: str
    tokens: list[str]
    beats: list[float]
    bpm: float
    valence: float = 0.0
    arousal: float = 0.0
    bwv: str | None = None
    melody: tuple[int, ...] | None = None
    group: str = ""


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
    def build(seqs: list[Sequence], min_count: int = 2) -> Vocab:
        counts = Counter(t for s in seqs for t in s.tokens)
        toks = sorted(t for t, c in counts.items() if c >= min_count)
        return Vocab(list(SPECIALS) + toks)


def _recanon(token: str, mode: str) -> str:
    return canonical(ChordToken.parse(token), mode).token


def merge_same_root(tokens: list[str], beats: list[float]) -> tuple[list[str], list[float]]:
    """Merge consecutive chords on the same root (e.g. V then V7 from a passing seventh, or a
    4-3 suspension Vsus4 -> V) into one chord with the quality of the longer one (the later one
    on a tie) and the summed duration. Chordify-based analysis splits such harmonies at every
    non-chord-tone onset."""
    out_t: list[str] = []
    out_b: list[float] = []
    roots = [ChordToken.parse(t).root(_C)[1] for t in tokens]
    last_root = None
    for tok, b, r in zip(tokens, beats, roots, strict=True):
        if out_t and r == last_root:
            if b >= out_b[-1]:
                out_t[-1] = tok
            out_b[-1] += b
        else:
            out_t.append(tok)
            out_b.append(b)
        last_root = r
    return out_t, out_b


def load_sequences(corpus_json: Path = CORPUS_JSON, curated_json: Path = CURATED_JSON
                   ) -> list[Sequence]:
    """All sequences with labels: music21 corpus extraction plus the curated table."""
    seqs: list[Sequence] = []
    if corpus_json.exists():
        for r in json.loads(corpus_json.read_text())["records"]:
            toks, beats = merge_same_root([_recanon(t, r["mode"]) for t in r["tokens"]],
                                          [float(b) for b in r["beats"]])
            mel = r.get("melody")
            seqs.append(Sequence(r["source"], r["tune"], r["mode"], toks, beats,
                                 DEFAULT_BPM.get(r["source"], 80.0), bwv=r.get("bwv"),
                                 melody=tuple(mel) if mel else None))
    for p in json.loads(curated_json.read_text())["progressions"]:
        toks = [canonical(parse_roman(c), p["mode"]).token for c in p["chords"]]
        seqs.append(Sequence("curated", "curated: " + p["name"], p["mode"], toks,
                             [float(p["beats"])] * len(toks), float(p["bpm"])))
    for s in seqs:
        s.valence = derive_valence(s.tokens, s.beats, s.mode)
        s.arousal = derive_arousal(s.tokens, s.beats, s.bpm)
    assign_tune_groups(seqs)
    return seqs


def assign_tune_groups(seqs: list[Sequence], melody_len: int = 10) -> None:
    """Union settings of one tune: same normalised title, same BWV number, or the same opening
    melody (first ``melody_len`` intervals of the top part). Many chorale scores carry no title,
    so the melody fingerprint is what links their several harmonisations."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    keys_of: list[list[str]] = []
    for i, s in enumerate(seqs):
        keys = [f"seq:{i}"]
        if s.tune and not s.tune.startswith("bwv"):
            keys.append(f"title:{s.tune}")
        if s.bwv:
            keys.append(f"bwv:{s.bwv}")
        if s.melody and len(s.melody) >= melody_len:
            keys.append(f"mel:{s.melody[:melody_len]}")
        for k in keys[1:]:
            union(keys[0], k)
        keys_of.append(keys)
    named: dict[str, list[str]] = {}
    for k in list(parent):
        if not k.startswith("seq:"):
            named.setdefault(find(k), []).append(k)
    for s, keys in zip(seqs, keys_of, strict=True):
        members = sorted(named.get(find(keys[0]), []))
        s.group = members[0] if members else keys[0]


def split_of(tune: str, seed: int = 0) -> str:
    """Deterministic split by tune title: ~80% train, 10% valid, 10% test."""
    h = int(hashlib.sha256(f"{seed}:{tune}".encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 80 else ("valid" if h < 90 else "test")


def split_sequences(seqs: list[Sequence], seed: int = 0) -> dict[str, list[Sequence]]:
    """Group sequences into train/valid/test so that all settings of one tune share a split."""
    out: dict[str, list[Sequence]] = {"train": [], "valid": [], "test": []}
    for s in seqs:
        out[split_of(s.group or s.tune, seed)].append(s)
    return out


def encode_windows(seqs: list[Sequence], vocab: Vocab, window: int = 48,
                   curated_weight: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                      np.ndarray, np.ndarray]:
    """Cut sequences into training windows.

    Returns ``inputs`` (n, window) token ids starting with BOS, ``in_durs`` (n, window) duration
    classes of the input chords (``len(DUR_BEATS)`` = none, for BOS/PAD), ``targets`` (n, window)
    next-token ids (EOS at a sequence end, PAD after), ``durs`` (n, window) duration classes of the
    target chord (-1 where none), and ``conds`` (n, COND_DIM). Curated progressions are repeated
    ``curated_weight`` times because the table is small next to the chorales.
    """
    from musicapp.compose.labels import condition_vector

    none = len(DUR_BEATS)
    ins, ids_d, tgs, dus, cds = [], [], [], [], []
    for s in seqs:
        ids = vocab.encode(s.tokens)
        dcls = [dur_class(b) for b in s.beats]
        cond = condition_vector(s.valence, s.arousal, s.mode)
        reps = curated_weight if s.source == "curated" else 1
        for start in range(0, len(ids), window - 1):
            chunk = ids[start:start + window - 1]
            dchunk = dcls[start:start + window - 1]
            inp = [BOS, *chunk]
            tgt = [*chunk, EOS] if start + window - 1 >= len(ids) else [*chunk, PAD]
            dur = [*dchunk, -1]
            ind = [none, *dchunk][:window]
            ind = ind + [none] * (window - len(ind))
            inp = inp[:window] + [PAD] * (window - len(inp[:window]))
            tgt = tgt[:window] + [PAD] * (window - len(tgt[:window]))
            dur = dur[:window] + [-1] * (window - len(dur[:window]))
            for _ in range(reps):
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
