"""In-memory landmark index, offset-histogram voting, and signature verification.

Two stages:

1. **Candidates from landmarks.** Every reference hash is held sorted with its track id and
   anchor time, with a direct-address table, so a query's peak pairs are two gathers each. The
   query's pairs are re-hashed at several time-stretch factors (tempo changes of up to +-5 % keep
   the frequencies but scale the times); for each factor the matches vote for
   ``(track, reference_time - query_time)``, counted in a window of +-``OFFSET_TOLERANCE`` frames.
   The best-voted (track, offset, stretch) triples over all factors are the candidates.
   When no candidate verifies confidently, the query's hashes are looked up again together with
   their one-step neighbours (``f1``, ``f2``, ``dt`` +-1), which recovers pairs whose peaks the
   noise moved by a bin or a frame (``match`` describes the order of these stages).
2. **Verification by signature.** Each candidate is scored by comparing the track's stored
   band-energy signs with the query's soft values at that alignment (``signature.QueryScorer``),
   at +-``VERIFY_SHIFT`` frames around the voted offset. The best verified candidate is the match.
   Its score is its standardised agreement ``z`` (``signature.QueryScorer.score``) measured
   against ``NULL_ALIGNMENTS`` random alignments of the same query: ``(z - mean) / spread``, a
   number of standard deviations above what this query reaches by chance. The acceptance
   threshold applies to it, the same for any query length and kind of music.

Why both: at 0-5 dB SNR a peak pair survives only if both of its peaks do, so the right track
often collects only a handful of aligned votes, no more than a wrong one; yet those few votes
(exact or tolerant) usually put it among the candidates, and the signature, which uses every
band of every frame, then separates it from the wrong ones and from non-library recordings far
better than a vote count (see musicapp/library/README.md for the figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from musicapp.library import fingerprint as fp
from musicapp.library import signature as sig

# Tried in this order (nearest to 1 first); the 1 % steps leave at most 0.5 % of time-scale
# error, i.e. +-25 ms of drift over a 10 s query measured from its centre.
DEFAULT_STRETCHES: tuple[float, ...] = tuple(
    sorted(np.round(np.linspace(0.94, 1.06, 13), 4).tolist(), key=lambda s: abs(s - 1.0))
)
# Stop trying stretch factors once a track has this many aligned votes: no other alignment can
# then beat it.
EARLY_EXIT_VOTES = 60
OFFSET_TOLERANCE = 2  # frames
MAX_HASH_HITS = 2000  # ignore hashes that are this common in the index ("stop words")
CANDIDATES_PER_STRETCH = 24  # best (track, offset) vote windows kept per stretch factor
MAX_CANDIDATES = 64  # verified per query (best-voted first, one per track and offset)
MIN_CANDIDATE_VOTES = 2
VERIFY_SHIFT = 2  # frames searched each side of a candidate's voted offset
# Random (track, offset) alignments scored like the candidates: their mean and spread are the
# query's own null distribution, and the match score is the best candidate's z in units of it.
# Without this, sparse or strongly periodic queries (whose signature bits are correlated over
# longer stretches) reach higher z against unrelated tracks than dense ones do.
NULL_ALIGNMENTS = 48
MIN_NULL_SPREAD = 0.25
# A score that ends the search (about 1.5 times the calibrated acceptance threshold). Below it
# the next stage runs, ending with tolerant look-ups: at 0-5 dB SNR many of the right track's
# peaks move by one bin or frame, so its exact hashes are lost but their neighbours are not.
CONFIDENT_SCORE = 7.0


def stretch_pivot(peaks: fp.Peaks) -> float:
    """Frame about which query times are stretched: the clip centre, so offsets drift least."""
    return float(np.median(peaks.times)) if len(peaks) else 0.0


@dataclass
class Match:
    """The best candidate for a query."""

    track_id: int
    score: float  # signature z in units of the query's null spread (~0-4 for unrelated audio)
    agreement: float  # signature agreement in [-1, 1] (1 = identical, ~0 = unrelated)
    votes: int  # aligned landmark votes of this candidate
    offset_s: float  # where the query starts in the reference track
    stretch: float  # query time-scale factor that matched best
    second_score: float  # best verification score of any other track (for diagnostics)

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "track_id": self.track_id,
            "score": round(self.score, 3),
            "agreement": round(self.agreement, 4),
            "votes": self.votes,
            "offset_s": round(self.offset_s, 3),
            "stretch": self.stretch,
            "second_score": round(self.second_score, 3),
        }


@dataclass
class Candidate:
    """One (track, alignment) proposed by the landmark votes."""

    track_id: int
    offset: float  # frames: reference time - stretched query time
    stretch: float
    votes: int


class FingerprintIndex:
    """Sorted arrays of (hash, track, time) plus every track's signature, built from fingerprints."""

    def __init__(self) -> None:
        self.hashes = np.zeros(0, np.uint32)
        self.tracks = np.zeros(0, np.int32)
        self.times = np.zeros(0, np.int32)
        self.starts = np.zeros(2**fp.HASH_BITS + 1, np.uint32)
        self.signatures = np.zeros(0, np.uint32)  # all tracks' words, concatenated
        self.signature_span: dict[int, tuple[int, int]] = {}  # track -> (first word, word count)
        self.query_density = fp.QUERY_PEAKS_PER_SECOND
        self.query_fan_out = fp.QUERY_FAN_OUT

    @classmethod
    def build(cls, items: Iterable[tuple[int, fp.Fingerprint]]) -> FingerprintIndex:
        """Build from ``(track_id, fingerprint)`` pairs."""
        hs, ts, ids, sigs = [], [], [], []
        index = cls()
        position = 0
        for track_id, fingerprint in items:
            hs.append(np.asarray(fingerprint.hashes, np.uint32))
            ts.append(np.asarray(fingerprint.times, np.int32))
            ids.append(np.full(len(fingerprint), track_id, np.int32))
            sigs.append(np.asarray(fingerprint.signature, np.uint32))
            index.signature_span[int(track_id)] = (position, sigs[-1].size)
            position += sigs[-1].size
        if hs:
            h = np.concatenate(hs)
            order = np.argsort(h, kind="stable")
            index.hashes = h[order]
            index.times = np.concatenate(ts)[order]
            index.tracks = np.concatenate(ids)[order]
            index.signatures = np.concatenate(sigs)
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
        return int(
            self.hashes.nbytes
            + self.tracks.nbytes
            + self.times.nbytes
            + self.starts.nbytes
            + self.signatures.nbytes
        )

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

    def candidates(
        self,
        peaks: fp.Peaks,
        stretches: Sequence[float] = DEFAULT_STRETCHES,
        early_exit: int | None = EARLY_EXIT_VOTES,
        tolerant: bool = False,
    ) -> tuple[list[Candidate], float]:
        """Best-voted alignments over the stretch factors, and the stretch pivot (frames).

        At most ``MAX_CANDIDATES``, most votes first, one per track and offset (+-4 frames).
        ``tolerant`` looks up every query hash with its one-step neighbours too (27 times the
        work; see ``fingerprint.QueryPairs.hashes``).
        """
        found: list[tuple[int, int, int, float]] = []  # (votes, track, offset, stretch)
        if len(peaks) < 2 or len(self) == 0:
            return [], 0.0
        pivot = stretch_pivot(peaks)
        pairs = fp.QueryPairs.from_peaks(peaks, self.query_fan_out, min(stretches))
        for s in stretches:
            q_hashes, q_times = pairs.hashes(float(s), pivot, tolerant)
            if q_hashes.size == 0:
                continue
            tracks, offsets = self._lookup(q_hashes, q_times)
            if tracks.size == 0:
                continue
            shift = int(offsets.min()) - OFFSET_TOLERANCE
            span = int(offsets.max()) - shift + OFFSET_TOLERANCE + 1
            keys = tracks * span + (offsets - shift)
            uniq, cnt = np.unique(keys, return_counts=True)
            # Votes within +-OFFSET_TOLERANCE of each key (same track, since keys are padded).
            cum = np.r_[0, np.cumsum(cnt)]
            lo = np.searchsorted(uniq, uniq - OFFSET_TOLERANCE, side="left")
            hi = np.searchsorted(uniq, uniq + OFFSET_TOLERANCE, side="right")
            window = cum[hi] - cum[lo]
            top = np.flatnonzero(window >= MIN_CANDIDATE_VOTES)
            if top.size > CANDIDATES_PER_STRETCH:
                top = top[np.argpartition(-window[top], CANDIDATES_PER_STRETCH)[:CANDIDATES_PER_STRETCH]]
            for k in top:
                found.append((int(window[k]), int(uniq[k] // span), int(uniq[k] % span + shift), float(s)))
            if early_exit is not None and found and max(f[0] for f in found) >= early_exit:
                break
        found.sort(key=lambda f: (-f[0], abs(f[3] - 1.0)))
        chosen: list[Candidate] = []
        seen: set[tuple[int, int]] = set()
        for votes, track, offset, stretch in found:
            key = (track, int(round(offset / 4.0)))
            if key in seen or (track, key[1] - 1) in seen or (track, key[1] + 1) in seen:
                continue
            seen.add(key)
            chosen.append(Candidate(track, float(offset), stretch, votes))
            if len(chosen) >= MAX_CANDIDATES:
                break
        return chosen, pivot

    def verify(
        self, scorer: sig.QueryScorer, cands: Sequence[Candidate], pivot: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per candidate, at its best shift within +-``VERIFY_SHIFT`` frames: the standardised
        signature score ``z``, the agreement in [-1, 1], and the shift (see ``signature``)."""
        if not cands:
            return np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.arange(scorer.n_frames, dtype=np.float64)
        shifts = np.arange(-VERIFY_SHIFT, VERIFY_SHIFT + 1)
        rows_frames, rows_words, rows_valid = [], [], []
        for c in cands:
            first, length = self.signature_span.get(c.track_id, (0, 0))
            ref = np.rint((q - pivot) * c.stretch + pivot + c.offset).astype(np.int64)
            ref = ref[None, :] + shifts[:, None]  # (shifts, frames)
            valid = (ref >= 0) & (ref < length)
            words = self.signatures[first + np.clip(ref, 0, max(length - 1, 0))] if length else ref * 0
            rows_frames.append(np.broadcast_to(q.astype(np.int64), ref.shape))
            rows_words.append(words)
            rows_valid.append(valid)
        agreement, z = scorer.score(
            np.concatenate(rows_words), np.concatenate(rows_frames), np.concatenate(rows_valid)
        )
        # Require the alignment to cover at least half the query: a few frames at a track's
        # edge must not decide.
        covered = np.concatenate(rows_valid).sum(axis=1) >= scorer.n_frames // 2
        z = np.where(covered, z, -np.inf).reshape(len(cands), shifts.size)
        best = z.argmax(axis=1)
        rows = np.arange(len(cands))
        return z[rows, best], agreement.reshape(len(cands), shifts.size)[rows, best], shifts[best]

    def _null_alignments(self, n_frames: int) -> list[Candidate]:
        """Seeded random alignments (track chosen by length, any offset): the query's null."""
        if not self.signature_span:
            return []
        rng = np.random.default_rng(n_frames)
        ids = np.fromiter(self.signature_span, dtype=np.int64)
        lengths = np.array([self.signature_span[int(i)][1] for i in ids], dtype=np.float64)
        if lengths.sum() <= 0:
            return []
        picks = rng.choice(ids.size, size=NULL_ALIGNMENTS, p=lengths / lengths.sum())
        out = []
        for k in picks:
            hi = max(1.0, lengths[k] - n_frames / 2)
            out.append(Candidate(int(ids[k]), float(rng.uniform(-n_frames / 2, hi)), 1.0, 0))
        return out

    def match(
        self,
        peaks: fp.Peaks,
        values: np.ndarray,
        stretches: Sequence[float] = DEFAULT_STRETCHES,
        thorough: bool = True,
    ) -> Match | None:
        """Best verified candidate for a query given its peaks and signature values.

        Candidates are proposed and verified in stages, stopping at the first that yields a score
        of at least ``CONFIDENT_SCORE``: exact hashes at stretch 1, then at the other stretch
        factors; then, if ``thorough``, tolerant hash look-ups in the same two steps. Most
        recordings (no tempo change, moderate noise) are settled by the first stage; recordings
        that match nothing go through all four, which is the slowest case.
        """
        scorer = sig.QueryScorer(values)
        pivot = stretch_pivot(peaks)
        null, _, _ = self.verify(scorer, self._null_alignments(scorer.n_frames), pivot)
        null = null[np.isfinite(null)]
        if null.size >= 8:
            centre, spread = float(np.mean(null)), max(float(np.std(null)), MIN_NULL_SPREAD)
        else:
            centre, spread = 0.0, 1.0
        best: Match | None = None
        for tolerant in (False, True) if thorough else (False,):
            for stage in (stretches[:1], stretches[1:]):
                if not stage:
                    continue
                found = self._best_candidate(peaks, scorer, stage, tolerant, centre, spread)
                if found is not None and (best is None or found.score > best.score):
                    best = found
                if best is not None and best.score >= CONFIDENT_SCORE:
                    return best
        return best

    def _best_candidate(
        self,
        peaks: fp.Peaks,
        scorer: sig.QueryScorer,
        stretches: Sequence[float],
        tolerant: bool,
        centre: float,
        spread: float,
    ) -> Match | None:
        cands, pivot = self.candidates(peaks, stretches, tolerant=tolerant)
        if not cands:
            return None
        z, agreement, shifts = self.verify(scorer, cands, pivot)
        scores = (z - centre) / spread
        if not np.any(np.isfinite(scores)):
            # no alignment covers half the query (a clip much longer than the tracks it
            # overlaps): no candidate, rather than a score of -inf in the output
            return None
        best = int(np.argmax(scores))
        c = cands[best]
        # Reference frame of the query's first frame under this alignment.
        start = (0.0 - pivot) * c.stretch + pivot + c.offset + float(shifts[best])
        others = [float(s) for s, o in zip(scores, cands, strict=True)
                  if o.track_id != c.track_id and np.isfinite(s)]
        return Match(
            track_id=c.track_id,
            score=float(scores[best]),
            agreement=float(agreement[best]),
            votes=c.votes,
            offset_s=start * fp.FRAME_SECONDS,
            stretch=c.stretch,
            second_score=max(others) if others else 0.0,
        )

    def match_samples(self, y: np.ndarray, stretches: Sequence[float] = DEFAULT_STRETCHES) -> Match | None:
        """Match 8 kHz mono samples."""
        return self.match(fp.find_peaks(y, self.query_density), sig.query_values(y), stretches)
