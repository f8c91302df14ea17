"""In-memory landmark index and offset-histogram voting.

The index holds every reference hash sorted, with its track id and anchor time, so that a query
is a few ``searchsorted`` calls. A query's peaks are paired at several time-stretch factors (tempo
changes of up to +-5 % keep the frequencies but scale the times); for each factor the matches vote
for ``(track, reference_time - query_time)`` and the score of a track is its largest vote count in
an offset window of +-``OFFSET_TOLERANCE`` frames. The best score over the factors wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from musicapp.library import fingerprint as fp

# Tried in this order (nearest to 1 first); the 1 % steps leave at most 0.5 % of time-scale
# error, i.e. +-25 ms of drift over a 10 s query measured from its centre.
DEFAULT_STRETCHES: tuple[float, ...] = tuple(
    sorted(np.round(np.linspace(0.94, 1.06, 13), 4).tolist(), key=lambda s: abs(s - 1.0))
)
# Stop trying stretch factors once a track has this many aligned votes: far above any score a
# non-library query reaches, so the decision cannot change.
EARLY_EXIT_SCORE = 60
OFFSET_TOLERANCE = 2  # frames
MAX_HASH_HITS = 2000  # ignore hashes that are this common in the index ("stop words")


@dataclass
class Match:
    """The best candidate for a query."""

    track_id: int
    score: int  # aligned hash votes
    offset_s: float  # where the query starts in the reference track
    stretch: float  # query time-scale factor that matched best
    second_score: int  # best score of any other track (for diagnostics)

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "track_id": self.track_id,
            "score": self.score,
            "offset_s": round(self.offset_s, 3),
            "stretch": self.stretch,
            "second_score": self.second_score,
        }


class FingerprintIndex:
    """Sorted arrays of (hash, track, time) built from per-track fingerprints."""

    def __init__(self) -> None:
        self.hashes = np.zeros(0, np.uint32)
        self.tracks = np.zeros(0, np.int32)
        self.times = np.zeros(0, np.int32)
        self.starts = np.zeros(2**fp.HASH_BITS + 1, np.uint32)
        self.query_density = fp.QUERY_PEAKS_PER_SECOND
        self.query_fan_out = fp.QUERY_FAN_OUT

    @classmethod
    def build(cls, items: Iterable[tuple[int, np.ndarray, np.ndarray]]) -> FingerprintIndex:
        """Build from ``(track_id, hashes, times)`` triples."""
        hs, ts, ids = [], [], []
        for track_id, hashes, times in items:
            hs.append(np.asarray(hashes, np.uint32))
            ts.append(np.asarray(times, np.int32))
            ids.append(np.full(len(hashes), track_id, np.int32))
        index = cls()
        if hs:
            h = np.concatenate(hs)
            order = np.argsort(h, kind="stable")
            index.hashes = h[order]
            index.times = np.concatenate(ts)[order]
            index.tracks = np.concatenate(ids)[order]
        # Direct-address table: the entries of hash v are [starts[v], starts[v + 1]). 16 MB for
        # 22-bit hashes; a lookup is two gathers instead of two binary searches.
        counts = np.bincount(index.hashes, minlength=2**fp.HASH_BITS)
        index.starts = np.zeros(counts.size + 1, np.uint32 if index.hashes.size < 2**32 else np.int64)
        np.cumsum(counts, out=index.starts[1:])
        return index

    def __len__(self) -> int:
        return int(self.hashes.size)

    @property
    def nbytes(self) -> int:
        """Memory held by the index arrays."""
        return int(self.hashes.nbytes + self.tracks.nbytes + self.times.nbytes + self.starts.nbytes)

    def _lookup(self, q_hashes: np.ndarray, q_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = self.starts[q_hashes].astype(np.int64)
        counts = self.starts[q_hashes + 1].astype(np.int64) - lo
        keep = (counts > 0) & (counts <= MAX_HASH_HITS)
        lo, counts, q_times = lo[keep], counts[keep], q_times[keep]
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
        idx = starts + np.arange(total)
        offsets = self.times[idx].astype(np.int64) - np.repeat(q_times, counts)
        return self.tracks[idx].astype(np.int64), offsets

    def scores(
        self,
        peaks: fp.Peaks,
        stretches: Sequence[float] = DEFAULT_STRETCHES,
        early_exit: int | None = EARLY_EXIT_SCORE,
    ) -> dict[int, tuple[int, float, float]]:
        """Best ``(score, offset_frames, stretch)`` per matched track over the stretch factors."""
        best: dict[int, tuple[int, float, float]] = {}
        if len(peaks) < 2 or len(self) == 0:
            return best
        # Stretch about the clip centre so that the offsets drift least.
        centre = float(np.median(peaks.times))
        pairs = fp.QueryPairs.from_peaks(peaks, self.query_fan_out, min(stretches))
        for s in stretches:
            q_hashes, q_times = pairs.hashes(float(s), centre)
            if q_hashes.size == 0:
                continue
            tracks, offsets = self._lookup(q_hashes, q_times)
            if tracks.size == 0:
                continue
            shift = int(offsets.min()) - OFFSET_TOLERANCE
            span = int(offsets.max()) - shift + OFFSET_TOLERANCE + 1
            keys = tracks * span + (offsets - shift)
            uniq, cnt = np.unique(keys, return_counts=True)
            # Sum counts within +-OFFSET_TOLERANCE of each key (same track, since keys are padded).
            cum = np.r_[0, np.cumsum(cnt)]
            lo = np.searchsorted(uniq, uniq - OFFSET_TOLERANCE, side="left")
            hi = np.searchsorted(uniq, uniq + OFFSET_TOLERANCE, side="right")
            window = cum[hi] - cum[lo]
            trk = uniq // span
            # Max window per track.
            order = np.lexsort((-window, trk))
            trk_o = trk[order]
            first = np.r_[True, trk_o[1:] != trk_o[:-1]]
            for k in np.flatnonzero(first):
                t_id = int(trk_o[k])
                score = int(window[order[k]])
                if t_id not in best or score > best[t_id][0]:
                    offset = float(uniq[order[k]] % span + shift)
                    best[t_id] = (score, offset, float(s))
            if early_exit is not None and best and max(v[0] for v in best.values()) >= early_exit:
                break
        return best

    def match(self, peaks: fp.Peaks, stretches: Sequence[float] = DEFAULT_STRETCHES) -> Match | None:
        """Best-scoring track for the query peaks, or None when nothing matched at all."""
        best = self.scores(peaks, stretches)
        if not best:
            return None
        ranked = sorted(best.items(), key=lambda kv: kv[1][0], reverse=True)
        track_id, (score, offset, stretch) = ranked[0]
        second = ranked[1][1][0] if len(ranked) > 1 else 0
        return Match(
            track_id=track_id,
            score=score,
            offset_s=offset * fp.FRAME_SECONDS,
            stretch=stretch,
            second_score=second,
        )

    def match_samples(self, y: np.ndarray, stretches: Sequence[float] = DEFAULT_STRETCHES) -> Match | None:
        """Match 8 kHz mono samples."""
        return self.match(fp.find_peaks(y, self.query_density), stretches)
