"""Similarity part of ``musicapp evaluate library``: mAP@10 of the tagger's hash codes.

Items: up to ``SEGMENTS_PER_TRACK`` 30 s segments of every real track (evenly spaced). Labels:
the Debian package (game soundtrack) of the track — one composer team and one style per game,
which is what "sounds like" means for a musician browsing a library. A query's relevant items
are the segments of OTHER tracks of the same package; segments of its own track are excluded
from the ranking (they would make the task trivial).

Methods at the same bit count B (the tagger's code length):
* ``codes``: the tagger's binary codes, Hamming distance (ties by item order);
* ``lsh``: sign of B Gaussian random projections of the centred embeddings;
* ``itq``: PCA to B dimensions + iterative quantisation (Gong & Lazebnik 2011, 50 iterations);
* ``cosine``: exact cosine of the real-valued embeddings (upper bound for hashing them).
LSH and ITQ are unsupervised and fitted on the evaluated embeddings themselves (transductive:
this favours them, not the codes).
"""

from __future__ import annotations

import hashlib
import os
from argparse import Namespace
from pathlib import Path

import numpy as np

SEGMENT_SECONDS = 30.0
SEGMENTS_PER_TRACK = 4


def average_precision_at_k(relevant: np.ndarray, k: int, n_relevant: int) -> float:
    """AP@k of one ranked relevance vector."""
    rel = relevant[:k].astype(np.float64)
    if n_relevant == 0:
        return float("nan")
    precision = np.cumsum(rel) / np.arange(1, rel.size + 1)
    return float(np.sum(precision * rel) / min(k, n_relevant))


def map_at_k(distance: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int = 10) -> float:
    """mAP@k for a full (n, n) distance matrix; items of the same ``group`` are excluded."""
    aps = []
    idx = np.arange(len(labels))
    for i in range(len(labels)):
        keep = groups != groups[i]
        cand = idx[keep]
        order = cand[np.lexsort((cand, distance[i, keep]))]
        rel = labels[order] == labels[i]
        ap = average_precision_at_k(rel, k, int(rel.sum()))
        if not np.isnan(ap):
            aps.append(ap)
    return float(np.mean(aps))


def hamming_matrix(bits: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances of 0/1 rows."""
    b = bits.astype(np.int32)
    return b @ (1 - b).T + (1 - b) @ b.T


def lsh_bits(emb: np.ndarray, n_bits: int, seed: int = 0) -> np.ndarray:
    """Random-hyperplane LSH of centred embeddings."""
    rng = np.random.default_rng(seed)
    x = emb - emb.mean(axis=0)
    return (x @ rng.standard_normal((x.shape[1], n_bits)) > 0).astype(np.uint8)


def itq_bits(emb: np.ndarray, n_bits: int, iterations: int = 50, seed: int = 0) -> np.ndarray:
    """PCA + ITQ rotation (n_bits <= embedding dimension)."""
    x = emb - emb.mean(axis=0)
    n_bits = min(n_bits, x.shape[1])
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    v = x @ vt[:n_bits].T
    rng = np.random.default_rng(seed)
    r, _ = np.linalg.qr(rng.standard_normal((n_bits, n_bits)))
    for _ in range(iterations):
        b = np.sign(v @ r)
        b[b == 0] = 1
        u, _, wt = np.linalg.svd(b.T @ v)
        r = (u @ wt).T
    return (v @ r > 0).astype(np.uint8)


def _segments(path: str, cache: Path) -> list[np.ndarray]:
    from musicapp.library._audio import load_mono
    from musicapp.params import MEL

    y = load_mono(path, MEL.sample_rate)
    seg = int(SEGMENT_SECONDS * MEL.sample_rate)
    n = max(1, min(SEGMENTS_PER_TRACK, y.size // seg))
    starts = np.linspace(0, max(0, y.size - seg), n).astype(int)
    return [y[s : s + seg] for s in starts]


def run_similarity(args: Namespace, log=print) -> dict:
    """Compute the mAP@10 table, or explain why the codes are not available."""
    from musicapp_lab.library.evaluate import find_tracks

    try:
        from musicapp.models.engine import TaggerEngine

        engine = TaggerEngine(device="cpu", threads=1)
    except Exception as exc:  # not importable yet, or no weights
        log(f"similarity: tagger engine unavailable ({exc}); skipped")
        return {"available": False, "reason": str(exc)}
    root = Path(args.data)
    tracks = find_tracks(root, args.min_seconds)
    if getattr(args, "packages", None):
        wanted = set(args.packages.split(","))
        tracks = [t for t in tracks if t[1] in wanted]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    codes, embs, labels, groups = [], [], [], []
    for g, (path, package, _) in enumerate(tracks):
        st = os.stat(path)
        key = hashlib.md5(f"{path}:{st.st_size}:{st.st_mtime_ns}:{engine.note}".encode())
        file = cache / f"sim_{key.hexdigest()}.npz"
        if file.exists():
            data = np.load(file)
            c, e = list(data["codes"]), list(data["embs"])
        else:
            c, e = [], []
            for seg in _segments(path, cache):
                r = engine.analyze(seg)
                if r.hash is None or r.embedding is None:
                    msg = f"the tagger gives no hash code/embedding ({r.model}; {engine.note})"
                    log(f"similarity: {msg}; skipped")
                    return {"available": False, "reason": msg}
                c.append(np.unpackbits(np.frombuffer(bytes.fromhex(r.hash), np.uint8)))
                e.append(np.asarray(r.embedding, np.float32))
            np.savez(file, codes=np.array(c), embs=np.array(e))
        codes += c
        embs += e
        labels += [package] * len(c)
        groups += [g] * len(c)
    bits = np.array(codes, np.uint8)
    emb = np.array(embs, np.float64)
    lab = np.array(labels)
    grp = np.array(groups)
    n_bits = bits.shape[1]
    norm = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)
    table = {
        "codes": map_at_k(hamming_matrix(bits), lab, grp),
        "lsh": map_at_k(hamming_matrix(lsh_bits(emb, n_bits)), lab, grp),
        "itq": map_at_k(hamming_matrix(itq_bits(emb, n_bits)), lab, grp),
        "cosine": map_at_k(-(norm @ norm.T), lab, grp),
    }
    rng = np.random.default_rng(0)
    table["random"] = map_at_k(rng.random((len(lab), len(lab))), lab, grp)
    log(
        f"\nSimilarity mAP@10 ({len(lab)} segments of {len(tracks)} tracks, "
        f"{len(set(labels))} packages, {n_bits}-bit codes, embedding dim {emb.shape[1]})"
    )
    log("| method | mAP@10 |\n|---|---|")
    for name, value in table.items():
        log(f"| {name} | {value:.3f} |")
    return {"available": True, "segments": len(lab), "n_bits": n_bits, "map@10": table}
