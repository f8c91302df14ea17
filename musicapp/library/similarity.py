"""Similar-track search: exact Hamming distance over packed binary codes, cosine re-ranking.

Codes are held in memory as an ``(n, words)`` uint64 matrix; a query is one XOR and one popcount
(``np.bitwise_count``) per word. The best ``rerank`` candidates (ties included, since they are
ordered by distance first) are re-ordered by embedding cosine when embeddings exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicapp.library.store import LibraryError


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


def hamming_distances(db: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance of every row of ``db`` (n, words) to ``query`` (words,)."""
    x = np.bitwise_xor(db, query[None, :])
    return (
        np.bitwise_count(x).sum(axis=1, dtype=np.int32)
        if x.shape[1] > 1
        else np.bitwise_count(x[:, 0]).astype(np.int32)
    )


def hamming_topk(db: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and distances of the ``k`` nearest rows (ties broken by index), exact."""
    d = hamming_distances(db, query)
    k = min(k, d.size)
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    part = np.argpartition(d, k - 1)[:k] if k < d.size else np.arange(d.size)
    # Include every row tied with the k-th distance so the tie-break is deterministic.
    kth = d[part].max()
    cand = np.flatnonzero(d <= kth)
    order = np.lexsort((cand, d[cand]))[:k]
    idx = cand[order]
    return idx, d[idx]


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
        if exclude is not None and exclude in self.position:
            rows = rows[rows != self.position[exclude]]
        if rows.size == 0:
            return []
        n_cand = max(k, rerank) if embedding is not None and self.emb is not None else k
        sub, dist = hamming_topk(self.packed[rows], code, n_cand)
        cand = rows[sub]
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
    return pack_codes([bytes.fromhex(hex_code)])[0]
