"""Similar-track search: exact Hamming distance over packed binary codes, cosine re-ranking.

Codes are held in memory as an ``(n, words)`` uint64 matrix; a query is one XOR and one popcount
(``np.bitwise_count``) per word. The best ``rerank`` candidates (ties included, since they are
ordered by distance first) are re-ordered by embedding cosine when embeddings exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicapp.hashcode import hex_to_bytes
from musicapp.library.store import LibraryError

#: bits of the shipped model's sound code; two unrelated tracks differ in about half of them
CODE_BITS = 64


def similarity_percent(hamming: int, bits: int = CODE_BITS, cosine: float | None = None) -> float:
    """How alike two tracks sound beyond chance, 0-100: 100 for the same sound, 0 for no closer
    than two unrelated tracks.

    With the embeddings' ``cosine`` (what orders the results), the angle between the two
    embeddings is read on the same scale as the codes: a sign code differs in a fraction
    angle / pi of its bits, so ``1 - 2 angle / pi`` is the code formula ``1 - hamming / (bits / 2)``
    with the angle measured exactly (0 % at a right angle, where two unrelated tracks' centred
    embeddings sit). Without embeddings the code's Hamming distance gives it.
    """
    if cosine is not None and np.isfinite(cosine) and -1.0 <= cosine <= 1.0:
        angle = float(np.arccos(np.clip(cosine, -1.0, 1.0)))
        return max(0.0, 100.0 * (1.0 - 2.0 * angle / np.pi))
    return max(0.0, 100.0 * (1.0 - float(hamming) / (bits / 2)))


def pack_codes(codes: list[bytes] | np.ndarray, n_bits: int | None = None) -> np.ndarray:
    """Pack raw code bytes (big-endian bit order, as in the hex string) into uint64 words.

    Accepts a list of ``bytes`` or a 2-D array of 0/1 bits. Returns ``(n, ceil(bits / 64))``.
    """
    if isinstance(codes, np.ndarray) and codes.ndim == 2 and codes.dtype != np.uint8:
        bits = codes.astype(bool)
        raw = np.packbits(bits, axis=1)
    elif isinstance(codes, np.ndarray):
        raw = np.ascontiguousarray(codes, dtype=np.uint8)
    else:
        if not codes:
            return np.zeros((0, 1), np.uint64)
        raw = np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), -1)
    n_bytes = raw.shape[1]
    words = -(-n_bytes // 8)
    padded = np.zeros((raw.shape[0], words * 8), np.uint8)
    padded[:, :n_bytes] = raw
    return padded.view(">u8").astype(np.uint64)


def hamming_distances(db: np.ndarray, query: np.ndarray, scratch: dict | None = None) -> np.ndarray:
    """Hamming distance of every row of ``db`` (n, words) to ``query`` (words,).

    uint8 for codes of up to 255 bits, else uint16. ``scratch`` (a dict kept by the caller)
    holds reusable output buffers: allocating fresh 8 MB arrays per query costs more in page
    faults than the XOR and popcount themselves.
    """
    n, words = db.shape
    scratch = {} if scratch is None else scratch
    if scratch.get("n") != (n, words):
        scratch.clear()
        scratch["n"] = (n, words)
        scratch["xor"] = np.empty((n, words), np.uint64)
        scratch["cnt"] = np.empty((n, words), np.uint8)
        scratch["d"] = np.empty(n, np.uint8 if words * 64 <= 255 else np.uint16)
    if words == 1:  # 1-D loops: no broadcasting over a length-1 inner axis
        x = np.bitwise_xor(db.reshape(-1), query[0], out=scratch["xor"].reshape(-1))
        return np.bitwise_count(x, out=scratch["cnt"].reshape(-1))
    x = np.bitwise_xor(db, query[None, :], out=scratch["xor"])
    c = np.bitwise_count(x, out=scratch["cnt"])
    return c.sum(axis=1, dtype=scratch["d"].dtype, out=scratch["d"])


def _kth_distance(d: np.ndarray, k: int) -> int:
    """Smallest t with at least ``k`` distances <= t (binary search: ~7 vectorised counts,
    much faster than a histogram or a partial sort of 1e6 values)."""
    lo, hi = 0, int(d.max())
    while lo < hi:
        mid = (lo + hi) // 2
        if np.count_nonzero(d <= mid) >= k:
            hi = mid
        else:
            lo = mid + 1
    return lo


def hamming_topk(
    db: np.ndarray, query: np.ndarray, k: int, scratch: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and distances of the ``k`` nearest rows, exact, ties broken by row index."""
    d = hamming_distances(db, query, scratch)
    k = min(k, d.size)
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    cand = np.flatnonzero(d <= _kth_distance(d, k))
    order = np.lexsort((cand, d[cand]))[:k]
    idx = cand[order]
    return idx, d[idx].astype(np.int32)


@dataclass
class Hit:
    """One search result."""

    track_id: int
    hamming: int
    cosine: float | None

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "track_id": self.track_id,
            "hamming": self.hamming,
            "cosine": None if self.cosine is None else round(self.cosine, 5),
            "similarity_percent": round(similarity_percent(self.hamming, cosine=self.cosine), 1),
        }


class CodeIndex:
    """Packed codes (and optional embeddings) of the library tracks."""

    def __init__(
        self,
        track_ids: np.ndarray,
        packed: np.ndarray,
        n_bits: int,
        embeddings: dict[int, np.ndarray] | None = None,
    ) -> None:
        self.track_ids = np.asarray(track_ids, np.int64)
        self.packed = packed
        self.n_bits = n_bits
        self.position = {int(t): i for i, t in enumerate(self.track_ids)}
        self._scratch: dict = {}
        self.emb: np.ndarray | None = None
        if embeddings:
            dims = {v.size for v in embeddings.values()}
            dim = max(dims, key=lambda d: sum(v.size == d for v in embeddings.values()))
            mat = np.zeros((len(self.track_ids), dim), np.float32)
            self.has_emb = np.zeros(len(self.track_ids), bool)
            for i, t in enumerate(self.track_ids):
                v = embeddings.get(int(t))
                if v is not None and v.size == dim:
                    mat[i] = v / (np.linalg.norm(v) + 1e-12)
                    self.has_emb[i] = True
            self.emb = mat

    @classmethod
    def from_store(cls, store) -> CodeIndex:
        """Load the codes and embeddings of a ``Store``."""
        ids, raw, bits = store.codes()
        return cls(ids, pack_codes(raw), bits, store.embeddings())

    def __len__(self) -> int:
        return int(self.track_ids.size)

    def search(
        self,
        code: np.ndarray,
        k: int = 10,
        *,
        embedding: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
        exclude: int | None = None,
        rerank: int = 300,
    ) -> list[Hit]:
        """The ``k`` best tracks for a packed ``code`` (and optional embedding).

        ``allowed``: track ids that pass the filters (None = all). ``exclude``: a track id to
        leave out (the query itself).
        """
        if len(self) == 0:
            raise LibraryError("the library has no hash codes yet (is the tagger installed?)")
        rows = np.arange(len(self))
        if allowed is not None:
            rows = rows[np.isin(self.track_ids, np.asarray(allowed, np.int64))]
        if rows.size == 0:
            return []
        n_cand = max(k, rerank) if embedding is not None and self.emb is not None else k
        skip = self.position.get(exclude) if exclude is not None else None
        db = self.packed if rows.size == len(self) else self.packed[rows]
        sub, dist = hamming_topk(
            db, code, n_cand + (skip is not None), self._scratch if db is self.packed else None
        )
        cand = rows[sub]
        if skip is not None:
            keep = cand != skip
            cand, dist = cand[keep][:n_cand], dist[keep][:n_cand]
        cos: np.ndarray | None = None
        if embedding is not None and self.emb is not None:
            q = np.asarray(embedding, np.float32)
            q = q / (np.linalg.norm(q) + 1e-12)
            if q.size == self.emb.shape[1]:
                cos = self.emb[cand] @ q
                cos = np.where(self.has_emb[cand], cos, -2.0)
                order = np.lexsort((dist, -cos))
                cand, dist, cos = cand[order], dist[order], cos[order]
        cand, dist = cand[:k], dist[:k]
        return [
            Hit(int(self.track_ids[c]), int(d), None if cos is None else float(cos[i]))
            for i, (c, d) in enumerate(zip(cand, dist, strict=True))
        ]


def code_from_hex(hex_code: str) -> np.ndarray:
    """Packed uint64 words of one hex code string."""
    return pack_codes([hex_to_bytes(hex_code)])[0]
