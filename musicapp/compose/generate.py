"""Constrained sampling of chord loops from ChordGRU, with reranking and regeneration.

Constraints are enforced by masking the model's distribution at every step, so a generated loop
satisfies them by construction:

* ``start_on_tonic``: the first chord is a tonic chord of the mode (I, Imaj7, Iadd9, Isus2 in
  major; i, i7, isus2 in minor);
* ``cadence``: the last chord leads back to the tonic when the loop repeats — a dominant
  (V, V7, V9, Vsus4, vii°, vii°7, viiø7; v in minor), a plagal IV/iv, or the bVII "backdoor";
* ``no_repeats``: no chord equals the one before it (including the wrap from the last to the first);
* ``locked``: user-locked chords are kept at their positions; the chord before a locked one is
  sampled with a one-step look-ahead (weighted by P(locked | prefix, candidate)) so that filling
  between two locked chords leads smoothly into the second;
* ``max_nondiatonic``: at most this many chords outside the mode's scale (locks included).

Several candidates are sampled (temperature, top-p) and reranked by the model's mean
log-likelihood plus the fit of the loop's rule-based valence to the requested valence.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from musicapp.compose.labels import condition_vector, derive_valence
from musicapp.compose.model import ChordModel
from musicapp.compose.theory import ChordToken, Key
from musicapp.compose.vocab import BOS, DUR_BEATS, EOS, PAD, UNK
from musicapp.errors import MusicappError

TONIC = {"major": frozenset({"I:maj", "I:maj7", "I:add9", "I:sus2"}),
         "minor": frozenset({"I:min", "I:m7", "I:sus2"})}
CADENTIAL = {
    "major": frozenset({"V:maj", "V:7", "V:9", "V:sus4", "VII:dim", "VII:dim7", "VII:m7b5",
                        "IV:maj", "IV:maj7", "IV:add9", "IV:min", "bVII:maj"}),
    "minor": frozenset({"V:maj", "V:7", "V:9", "V:sus4", "V:min", "VII:dim", "VII:dim7",
                        "IV:min", "IV:m7", "bVII:maj"}),
}


_CONTROLLER: list = []


def single_thread_blas():
    """Context manager limiting BLAS to one thread (threadpoolctl, when installed).

    The GRU's matrices are tiny; on a busy 2-core machine a multi-threaded BLAS made one step
    ~30x slower (14 ms instead of 0.4 ms), so inference runs single-threaded.
    """
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _CONTROLLER.append(None)
    ctl = _CONTROLLER[0]
    return ctl.limit(limits=1, user_api="blas") if ctl is not None else contextlib.nullcontext()


class ConstraintError(MusicappError):
    """The requested constraints cannot be satisfied together."""


@dataclass
class Constraints:
    """What every generated loop must satisfy (see module docstring)."""

    length: int = 8
    start_on_tonic: bool = True
    cadence: bool = True
    no_repeats: bool = True
    max_nondiatonic: int | None = 2
    locked: dict[int, str] = field(default_factory=dict)  # 0-based position -> token/roman


@dataclass
class Progression:
    """A generated loop: tokens relative to ``key``, beats per chord, scores."""

    key: Key
    tokens: list[ChordToken]
    beats: list[float]
    valence: float
    arousal: float
    loglik: float = 0.0
    fit: float = 0.0
    score: float = 0.0

    @property
    def names(self) -> list[str]:
        return [t.name(self.key) for t in self.tokens]

    @property
    def romans(self) -> list[str]:
        return [t.roman(self.key.mode) for t in self.tokens]

    @property
    def harte(self) -> list[str]:
        return [t.harte(self.key) for t in self.tokens]


class Generator:
    """Samples constrained loops from a :class:`ChordModel`."""

    def __init__(self, model: ChordModel | None = None) -> None:
        self.model = model or ChordModel.load()
        self.V = len(self.model.itos)
        self.parsed: list[ChordToken | None] = []
        for s in self.model.itos:
            try:
                self.parsed.append(ChordToken.parse(s) if ":" in s else None)
            except MusicappError:
                self.parsed.append(None)
        self._masks: dict[str, dict[str, np.ndarray]] = {}

    def masks(self, mode: str) -> dict[str, np.ndarray]:
        """Boolean masks over the vocabulary for one mode."""
        if mode not in self._masks:
            ok = np.array([p is not None for p in self.parsed])
            ok[[PAD, BOS, EOS, UNK]] = False
            names = self.model.itos
            self._masks[mode] = {
                "valid": ok,
                "tonic": ok & np.array([n in TONIC[mode] for n in names]),
                "cadence": ok & np.array([n in CADENTIAL[mode] for n in names]),
                "nondiatonic": ok & np.array([p is not None and not p.is_diatonic(mode)
                                              for p in self.parsed]),
            }
        return self._masks[mode]

    def _resolve_locks(self, locked: dict[int, str], length: int, mode: str
                       ) -> dict[int, tuple[str, int]]:
        out: dict[int, tuple[str, int]] = {}
        for pos, text in locked.items():
            if not 0 <= pos < length:
                raise ConstraintError(f"locked position {pos + 1} outside a loop of {length}")
            tok = ChordToken.parse(text) if isinstance(text, str) else text
            out[pos] = (tok.token, self.model.stoi.get(tok.token, UNK))
        return out

    def sample(self, valence: float, arousal: float, key: Key, constraints: Constraints,
               *, n: int = 8, temperature: float = 1.0, top_p: float = 0.95,
               rng: np.random.Generator | None = None) -> list[Progression]:
        """Sample ``n`` loops in one batch (unsorted)."""
        with single_thread_blas():
            return self._sample(valence, arousal, key, constraints, n=n,
                                temperature=temperature, top_p=top_p, rng=rng)

    def _sample(self, valence: float, arousal: float, key: Key, constraints: Constraints,
                *, n: int, temperature: float, top_p: float,
                rng: np.random.Generator | None) -> list[Progression]:
        rng = rng or np.random.default_rng(0)
        c = constraints
        L, mode = c.length, key.mode
        if L < 2:
            raise ConstraintError("a loop needs at least 2 chords")
        m = self.masks(mode)
        locks = self._resolve_locks(c.locked, L, mode)
        lock_nd = sum(1 for t, _ in locks.values() if not ChordToken.parse(t).is_diatonic(mode))
        budget = None
        if c.max_nondiatonic is not None:
            budget = c.max_nondiatonic - lock_nd
            if budget < 0:
                raise ConstraintError(f"{lock_nd} locked non-diatonic chords exceed the cap of "
                                      f"{c.max_nondiatonic}")
        cond = np.repeat(condition_vector(valence, arousal, mode)[None, :], n, axis=0)
        h = self.model.init_state(cond)
        cp = self.model.cond_proj(cond)
        prev = np.full(n, BOS)
        prev_dur = np.full(n, self.model.dur_none)
        ids = np.zeros((n, L), dtype=np.int64)
        tok_str: list[list[str]] = [[""] * L for _ in range(n)]
        durs = np.zeros((n, L), dtype=np.int64)
        loglik = np.zeros(n)
        nd_used = np.zeros(n, dtype=np.int64)
        inv_t = 1.0 / max(temperature, 1e-3)
        for pos in range(L):
            lp, dlp, h = self.model.step(prev, prev_dur, cp, h)
            # durations: sampled from the duration head at the same temperature
            dp = np.exp(dlp * inv_t)
            dp /= dp.sum(axis=1, keepdims=True)
            durs[:, pos] = (rng.random((n, 1)) > np.cumsum(dp, axis=1)).sum(axis=1)
            durs[:, pos] = np.minimum(durs[:, pos], len(DUR_BEATS) - 1)
            prev_dur = durs[:, pos]
            if pos in locks:
                text, tid = locks[pos]
                ids[:, pos] = tid
                for b in range(n):
                    tok_str[b][pos] = text
                loglik += lp[:, tid]
                prev = np.full(n, tid)
                continue
            allowed = np.repeat(m["valid"][None, :], n, axis=0)
            if pos == 0 and c.start_on_tonic:
                allowed &= m["tonic"][None, :]
            if pos == L - 1 and c.cadence:
                allowed &= m["cadence"][None, :]
            if c.no_repeats:
                if pos > 0:
                    allowed[np.arange(n), ids[:, pos - 1]] = False
                if pos == L - 1:
                    allowed[np.arange(n), ids[:, 0]] = False
                if pos + 1 in locks:
                    allowed[:, locks[pos + 1][1]] = False
                if pos == L - 1 and 0 in locks:
                    allowed[:, locks[0][1]] = False
            if budget is not None:
                over = nd_used >= budget
                allowed[over] &= ~m["nondiatonic"][None, :]
            bad = ~allowed.any(axis=1)
            if bad.any():
                raise ConstraintError(f"no chord satisfies the constraints at position {pos + 1}")
            logits = lp * inv_t
            if pos + 1 in locks and locks[pos + 1][1] != UNK:
                logits = logits + self._lookahead(h, prev_dur, cp, locks[pos + 1][1]) * inv_t
            logits = np.where(allowed, logits, -np.inf)
            choice = _sample_top_p(logits, top_p, rng)
            ids[:, pos] = choice
            for b in range(n):
                tok_str[b][pos] = self.model.itos[choice[b]]
            nd_used += m["nondiatonic"][choice]
            loglik += lp[np.arange(n), choice]
            prev = choice
        out = []
        for b in range(n):
            toks = [ChordToken.parse(s) for s in tok_str[b]]
            beats = [DUR_BEATS[d] for d in durs[b]]
            out.append(Progression(key, toks, beats, valence, arousal, float(loglik[b] / L)))
        return out

    def _lookahead(self, h: np.ndarray, dur: np.ndarray, cp: np.ndarray, target: int
                   ) -> np.ndarray:
        """log P(target | prefix, candidate) for every candidate token (B, V)."""
        n = h.shape[0]
        cand = np.arange(self.V)
        out = np.empty((n, self.V))
        for b in range(n):
            hb = np.repeat(h[b:b + 1], self.V, axis=0)
            cb = np.repeat(cp[b:b + 1], self.V, axis=0)
            lp, _, _ = self.model.step(cand, np.full(self.V, dur[b]), cb, hb)
            out[b] = lp[:, target]
        return out

    def generate(self, valence: float, arousal: float, key: Key,
                 constraints: Constraints | None = None, *, seed: int = 0, candidates: int = 8,
                 temperature: float = 1.0, top_p: float = 0.95, fit_weight: float = 1.0,
                 variety_weight: float = 1.5, avoid_copies: bool = True) -> Progression:
        """Best of ``candidates`` sampled loops; deterministic for a seed.

        Score = mean log-likelihood per chord + ``fit_weight`` * (-|valence of the loop by the
        labelling rule - requested valence|) + ``variety_weight`` * (distinct chords / length);
        the variety term counters the likelihood's preference for tonic-dominant see-saws.
        With ``avoid_copies`` a candidate containing an 8-chord phrase found verbatim in the
        training data is ranked below every original candidate.
        """
        c = constraints or Constraints()
        rng = np.random.default_rng(seed)
        cands = self.sample(valence, arousal, key, c, n=candidates, temperature=temperature,
                            top_p=top_p, rng=rng)
        for p in cands:
            v = derive_valence([t.token for t in p.tokens], p.beats, key.mode)
            p.fit = -abs(v - valence)
            variety = len({t.token for t in p.tokens}) / len(p.tokens)
            p.score = p.loglik + fit_weight * p.fit + variety_weight * variety
            if avoid_copies and self.model.copies_training([t.token for t in p.tokens]):
                p.score -= 1000.0
        return max(cands, key=lambda p: p.score)

    def regenerate(self, prog: Progression, positions: list[int] | None = None, *,
                   from_position: int | None = None, constraints: Constraints | None = None,
                   seed: int = 1, **kw) -> Progression:
        """Regenerate some chords and keep the rest: ``positions`` (e.g. one chord) or every
        chord from ``from_position`` on ("regenerate the rest")."""
        L = len(prog.tokens)
        if from_position is not None:
            redo = set(range(from_position, L))
        else:
            redo = set(positions or [])
        c = constraints or Constraints(length=L)
        c = Constraints(length=L, start_on_tonic=c.start_on_tonic, cadence=c.cadence,
                        no_repeats=c.no_repeats, max_nondiatonic=c.max_nondiatonic,
                        locked={i: prog.tokens[i].token for i in range(L) if i not in redo}
                        | {i: t for i, t in c.locked.items() if i in redo})
        if c.max_nondiatonic is not None:
            nd = sum(1 for i in c.locked if not ChordToken.parse(c.locked[i]).is_diatonic(
                prog.key.mode))
            c.max_nondiatonic = max(c.max_nondiatonic, nd)
        new = self.generate(prog.valence, prog.arousal, prog.key, c, seed=seed, **kw)
        return new


def _sample_top_p(logits: np.ndarray, top_p: float, rng: np.random.Generator) -> np.ndarray:
    """Nucleus sampling per row of (B, V) logits (−inf = masked)."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    order = np.argsort(-p, axis=1)
    ps = np.take_along_axis(p, order, axis=1)
    cum = np.cumsum(ps, axis=1)
    keep = (cum - ps) < top_p  # always keeps the most probable
    ps = np.where(keep, ps, 0.0)
    ps /= ps.sum(axis=1, keepdims=True)
    u = rng.random((p.shape[0], 1))
    idx = (u > np.cumsum(ps, axis=1)).sum(axis=1)
    idx = np.minimum(idx, p.shape[1] - 1)
    # guard against float round-off picking a zero-probability slot
    chosen = order[np.arange(p.shape[0]), idx]
    bad = ~np.isfinite(logits[np.arange(p.shape[0]), chosen])
    if bad.any():
        chosen[bad] = order[bad, 0]
    return chosen
