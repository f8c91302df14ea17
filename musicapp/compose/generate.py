"""Constrained sampling of chord loops from ChordGRU, with reranking and regeneration.

Constraints are enforced by masking the model's distribution at every step, so a generated loop
satisfies them by construction:

* ``start_on_tonic``: the first chord is a tonic chord of the mode (I, Imaj7, Iadd9, Isus2 in
  major; i, i7, isus2 in minor);
* ``cadence``: the last chord leads back to the tonic when the loop repeats — a dominant
  (V, V7, V9, Vsus4, vii°, vii°7, viiø7; v in minor), a plagal IV/iv, or the bVII (bVII7)
  "backdoor" —
  unless the chord before it is a locked dominant (V7, V7/vi, vii°7/V ...; see
  :func:`cadence_required`): the user has chosen where the loop's end goes, and the last chord
  is left to the model, which mostly resolves the dominant (V7/vi -> vi) or resolves it
  deceptively, where the rule allowed only V/IV/bVII there (V7/vi -> V7 or IV);
* ``no_repeats``: no chord equals the one before it (including the wrap from the last to the first);
* ``locked``: user-locked chords are kept at their positions; the chord before a locked one is
  sampled with a one-step look-ahead (weighted by P(locked | prefix, candidate)) so that filling
  between two locked chords leads smoothly into the second;
* ``max_nondiatonic``: at most this many chords outside the mode's scale (locks included);
* ``bars``: with one or two chords per bar chosen by the model ("auto"), the loop lasts a
  musical number of bars: the one asked for, else a power of two (2, 4, 8, 16 ...; a phrase, so
  the loop repeats cleanly in a DAW). An 8-chord loop was 4, 6 or 8 bars before, and the 6-bar
  loops (a third of the ideas) do not fit a 4- or 8-bar song section;
* ``strong_dim_min_p``: a diminished chord (vii°, vii°7, viiø7, ii° ... and applied ones) as the
  second chord or on a bar line only where the model itself gives it at least this probability,
  except in the styles where such chords are idiomatic (:data:`DIM_STYLES`: jazz, chorale).
  Sampling at temperature 1 with top-p 0.95 keeps chords of 1-2 % probability, and the variety
  term of the reranking then favours them: POP909-113's default idea (G major, "any" style)
  was G F#dim G C ... with P(vii° | I) = 0.02. A diminished chord on a weak half bar (a passing
  chord) stays allowed.

Several candidates are sampled (temperature, top-p) and reranked by the model's mean
log-likelihood plus the fit of the loop's rule-based valence to the requested valence.

In the jazz style the chosen loop's plain triads are then read as their seventh chords
(:func:`musicapp.compose.jazz.seventh_of`: i7, iiø7, V7 ... in minor as in major), wherever the
seventh chord keeps every constraint (a lock is never changed); regeneration and the ranked
alternatives read them the same way. A jazz loop in minor ends on the dominant
(:data:`JAZZ_CADENTIAL`: V7, vii°7; not the plagal iv7 or bVII7) and a iv7 right before the
dominant is played as iiø7, the minor ii-V-i (over 5 seeds, 4 keys and two sad moods: 0/40 ideas
held iiø7 and 16/40 ended on iv7 before; now 16/40 hold iiø7 -> V7b9 and all 40 end on V7b9).
The shown names, numerals and Harte labels are the chords that sound (:attr:`Progression.
sounding`: i9, V7b9 in minor); a chord the user typed (:attr:`Progression.typed`) sounds and
is shown as typed, never coloured.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from musicapp.compose import jazz
from musicapp.compose.labels import derive_valence
from musicapp.compose.model import ChordModel
from musicapp.compose.rhythm import Meter, check_chords_per_bar
from musicapp.compose.theory import ChordToken, Key, canonical
from musicapp.compose.vocab import BOS, EOS, PAD, UNK
from musicapp.errors import MusicappError

TONIC = {"major": frozenset({"I:maj", "I:maj7", "I:add9", "I:sus2"}),
         "minor": frozenset({"I:min", "I:m7", "I:sus2"})}
CADENTIAL = {
    "major": frozenset({"V:maj", "V:7", "V:9", "V:sus4", "VII:dim", "VII:dim7", "VII:m7b5",
                        "IV:maj", "IV:maj7", "IV:add9", "IV:min", "bVII:maj", "bVII:7"}),
    "minor": frozenset({"V:maj", "V:7", "V:9", "V:sus4", "V:min", "VII:dim", "VII:dim7",
                        "IV:min", "IV:m7", "bVII:maj", "bVII:7"}),
}
#: the last chord of a jazz loop in minor: the dominant (V, V7, v read as V7, vii°7) that turns
#: the loop back to i, as a jazz player expects of a minor ii-V-i; the plagal iv7 and the bVII7
#: ending (16 and 4 of 40 jazz-minor ideas ended so) are left to the other styles
JAZZ_CADENTIAL = {"major": CADENTIAL["major"],
                  "minor": frozenset({"V:maj", "V:7", "V:9", "V:sus4", "V:min", "VII:dim",
                                      "VII:dim7"})}
#: minor-key predominants a jazz player plays as iiø7 right before the closing dominant
_JAZZ_PREDOMINANTS = frozenset({"IV:min", "IV:m7", "II:dim", "II:min", "II:m7"})


#: styles in which a diminished chord in a strong position is idiomatic (no probability floor)
DIM_STYLES = frozenset({"jazz", "chorale"})
#: qualities the strong-position rule concerns
DIM_QUALITIES = frozenset({"dim", "dim7", "m7b5"})
#: the model's probability a diminished chord needs as the second chord or on a bar line
STRONG_DIM_MIN_P = 0.15
#: the largest loop length in bars the musical bar counts go up to
MAX_BARS = 64

_CONTROLLER: list = []


def musical_bar_counts(length: int, chords_per_bar: str = "auto", bars: int | None = None
                       ) -> frozenset[int]:
    """The bar counts a ``length``-chord loop may take: ``{bars}`` when the user asked for
    a count, else the powers of two from 2 that ``length`` chords of one or two per bar can fill
    (4 or 8 for 8 chords, 4 for 5 to 7 chords, 8 or 16 for 16 chords). Raises
    :class:`ConstraintError` when ``bars`` cannot be filled by ``length`` chords."""
    lo, hi = {"1": (length, length), "2": ((length + 1) // 2, (length + 1) // 2)}.get(
        chords_per_bar, ((length + 1) // 2, length))
    if bars is not None:
        if not lo <= bars <= hi:
            raise ConstraintError(f"{length} chords cannot fill {bars} bars with "
                                  f"{'one or two' if chords_per_bar == 'auto' else chords_per_bar}"
                                  f" chord{'s' if chords_per_bar != '1' else ''} a bar "
                                  f"({lo} to {hi} bars)")
        return frozenset({bars})
    out = frozenset(b for b in (2 ** k for k in range(1, 7)) if lo <= b <= hi)
    return out or frozenset(range(lo, hi + 1))


def is_dominant(tok: ChordToken) -> bool:
    """A chord of dominant function: V, V7, V9 or a leading-tone chord (vii°, vii°7, viiø7),
    of the key or applied to another degree (V7/vi, vii°7/V)."""
    return tok.alter == 0 and ((tok.degree == 5 and tok.quality in ("maj", "7", "9", "7b9"))
                               or (tok.degree == 7 and tok.quality in ("dim", "dim7", "m7b5")))


def cadence_required(length: int, locked: dict[int, str], mode: str = "major") -> bool:
    """Whether the cadence rule holds for the last chord of a ``length``-chord loop with these
    locked chords (position -> token or Roman numeral read in ``mode``): not when the chord
    before it is a locked dominant, whose own resolution the model then chooses (the rule would
    forbid V7/vi -> vi, the usual ending of a loop whose user locked V7/vi there)."""
    before = locked.get(length - 2)
    if before is None:
        return True
    try:
        return not is_dominant(canonical(ChordToken.parse(before, mode), mode))  # II7 = V7/V
    except MusicappError:
        return True


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
    #: 0-based position -> tokens that must not appear there (regenerate: the current chord)
    exclude: dict[int, set[str]] = field(default_factory=dict)
    chords_per_bar: str = "auto"  # "1", "2" or "auto" (see musicapp.compose.rhythm)
    #: the loop's length in bars with "auto" chords per bar (None: a power of two, see
    #: :func:`musical_bar_counts`)
    bars: int | None = None
    #: a diminished chord as the second chord or on a bar line needs at least this model
    #: probability outside :data:`DIM_STYLES` (None: no floor)
    strong_dim_min_p: float | None = STRONG_DIM_MIN_P
    meter: Meter = field(default_factory=Meter)
    #: fixed beats per chord (regenerate keeps the durations; an entry None lets the model
    #: choose that chord's length); None = the model chooses every length
    beats: list[float | None] | None = None


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
    meter: Meter = field(default_factory=Meter)
    style: str | None = None
    notes: list[str] = field(default_factory=list)  # stated fallbacks (e.g. out-of-vocabulary)
    #: 0-based position -> the chord exactly as the user typed it (``--progression``,
    #: ``--lock``): it plays and is named as typed (i7 stays m7, V7 stays V7), never coloured
    #: by the jazz style, whose colours belong to the chords the generator chose
    typed: dict[int, ChordToken] = field(default_factory=dict)

    @property
    def sounding(self) -> list[ChordToken]:
        """The chords as they sound and are shown: a chord the user typed as typed
        (:attr:`typed`); in the jazz style the generator's chords with the voicing's colour
        (:func:`musicapp.compose.jazz.coloured`: i7 -> i9, V7 -> V7b9 in minor); else
        :attr:`tokens`."""
        jazzy = self.style == jazz.STYLE
        return [self.typed[i] if i in self.typed
                else jazz.coloured(t, self.key.mode) if jazzy else t
                for i, t in enumerate(self.tokens)]

    @property
    def names(self) -> list[str]:
        """Chord symbols of what plays (``Bbm9``, ``F7(b9)`` in jazz)."""
        return [t.name(self.key) for t in self.sounding]

    @property
    def romans(self) -> list[str]:
        """Roman numerals of what plays (``i9``, ``V7b9`` in jazz)."""
        return [t.roman(self.key.mode) for t in self.sounding]

    @property
    def harte(self) -> list[str]:
        """Harte labels of what plays (``Bb:min9``, ``F:7(b9)`` in jazz)."""
        return [t.harte(self.key) for t in self.sounding]

    @property
    def bars(self) -> float:
        return sum(self.beats) / self.meter.bar_beats


@dataclass(frozen=True)
class Alternative:
    """One ranked alternative for a position: the chord and its probability given the rest."""

    token: ChordToken
    probability: float
    name: str
    roman: str


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
        self._jazz: dict[str, dict[str, str]] = {}

    def jazz_reading(self, mode: str) -> dict[str, str]:
        """Vocabulary token -> its jazz reading in ``mode`` (:func:`jazz.seventh_of`, in the
        vocabulary's spelling; a token whose reading the model does not know maps to itself)."""
        if mode not in self._jazz:
            out = {}
            for s, p in zip(self.model.itos, self.parsed, strict=True):
                if p is None:
                    continue
                t = self.resolve(jazz.seventh_of(p, mode), mode).token
                out[s] = t if t in self.model.stoi else s
            self._jazz[mode] = out
        return self._jazz[mode]

    def _jazz_sevenths(self, prog: Progression, c: Constraints) -> None:
        """Read ``prog``'s plain triads as seventh chords (jazz), in place, where the seventh
        chord keeps the constraints: locks stay, no excluded chord, no repeat of a neighbour, a
        tonic start and a cadential end stay so, no more non-diatonic chords."""
        mode = prog.key.mode
        reading = self.jazz_reading(mode)
        toks = list(prog.tokens)
        L = len(toks)
        cadence = c.cadence and cadence_required(L, dict(c.locked), mode)
        for i, t in enumerate(toks):
            new = reading.get(t.token, t.token)
            if i in c.locked or new == t.token:
                continue
            tok = ChordToken.parse(new)
            banned = {self.resolve(x, mode).token for x in c.exclude.get(i, ())}
            if new in banned or (c.no_repeats and new in (toks[i - 1].token,
                                                          toks[(i + 1) % L].token)):
                continue
            if (i == 0 and c.start_on_tonic and new not in TONIC[mode]) or \
                    (i == L - 1 and cadence and new not in JAZZ_CADENTIAL[mode]) or \
                    (t.is_diatonic(mode) and not tok.is_diatonic(mode)):
                continue
            toks[i] = tok
        if mode == "minor":
            self._minor_two_five(toks, c)
        prog.tokens = toks

    def _minor_two_five(self, toks: list[ChordToken], c: Constraints) -> None:
        """The minor ii-V-i of jazz, in place: a iv/iv7 (or a Dorian ii) right before the
        dominant V/V7 is played as iiø7 (a iv6 over its sixth), unless locked, excluded there,
        or the chord before it is already iiø7."""
        ii = ChordToken.parse("II:m7b5")
        L = len(toks)
        for i in range(L - 1):
            nxt = toks[i + 1]
            if i in c.locked or toks[i].token not in _JAZZ_PREDOMINANTS or \
                    not (is_dominant(nxt) and nxt.degree == 5 and nxt.of_degree is None) or \
                    (i > 0 and toks[i - 1].token == ii.token) or \
                    ii.token in {self.resolve(x, "minor").token for x in c.exclude.get(i, ())}:
                continue
            toks[i] = ii

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
                "cadence_jazz": ok & np.array([n in JAZZ_CADENTIAL[mode] for n in names]),
                "nondiatonic": ok & np.array([p is not None and not p.is_diatonic(mode)
                                              for p in self.parsed]),
                "dim": ok & np.array([p is not None and p.quality in DIM_QUALITIES
                                      for p in self.parsed]),
            }
        return self._masks[mode]

    def resolve(self, chord: str | ChordToken, mode: str) -> ChordToken:
        """A user's chord (Roman numeral read in ``mode``, or a token) as the model knows it:
        a token of the vocabulary stays as it is; anything else is put in the canonical spelling
        (``II7`` -> ``V7/V``)."""
        tok = ChordToken.parse(chord, mode) if isinstance(chord, str) else chord
        if tok.token in self.model.stoi:
            return tok
        return canonical(tok, mode)

    def _resolve_locks(self, locked: dict[int, str], length: int, mode: str,
                       notes: list[str]) -> dict[int, tuple[str, int]]:
        out: dict[int, tuple[str, int]] = {}
        for pos, text in locked.items():
            if not 0 <= pos < length:
                raise ConstraintError(f"locked position {pos + 1} outside a loop of {length}")
            tok = self.resolve(text, mode)
            tid = self.model.stoi.get(tok.token, UNK)
            if tid == UNK:
                notes.append(f"{tok.roman(mode)} at position {pos + 1} is outside the model's "
                             "vocabulary: kept as written; the model treats it as an unknown "
                             "chord")
            out[pos] = (tok.token, tid)
        return out

    def sample(self, valence: float, arousal: float, key: Key, constraints: Constraints,
               *, n: int = 8, temperature: float = 1.0, top_p: float = 0.95,
               rng: np.random.Generator | None = None, style: str | None = None
               ) -> list[Progression]:
        """Sample ``n`` loops in one batch (unsorted)."""
        _check_va(valence, arousal)
        with single_thread_blas():
            return self._sample(valence, arousal, key, constraints, n=n,
                                temperature=temperature, top_p=top_p, rng=rng, style=style)

    def _sample(self, valence: float, arousal: float, key: Key, constraints: Constraints,
                *, n: int, temperature: float, top_p: float,
                rng: np.random.Generator | None, style: str | None) -> list[Progression]:
        rng = rng or np.random.default_rng(0)
        c = constraints
        L, mode = c.length, key.mode
        meter = c.meter
        cpb = check_chords_per_bar(c.chords_per_bar)
        if L < 2:
            raise ConstraintError("a loop needs at least 2 chords")
        if c.beats is not None and len(c.beats) != L:
            raise ConstraintError(f"{len(c.beats)} durations for {L} chords")
        m = self.masks(mode)
        targets = musical_bar_counts(L, cpb, c.bars) if c.beats is None else \
            musical_bar_counts(L, "auto", None)  # a clip's own bars come first
        dim_floor = None if style in DIM_STYLES else c.strong_dim_min_p
        notes: list[str] = []
        locks = self._resolve_locks(c.locked, L, mode, notes)
        cadence = c.cadence and cadence_required(L, {i: t for i, (t, _) in locks.items()}, mode)
        lock_nd = sum(1 for t, _ in locks.values() if not ChordToken.parse(t).is_diatonic(mode))
        budget = None
        if c.max_nondiatonic is not None:
            budget = c.max_nondiatonic - lock_nd
            if budget < 0:
                raise ConstraintError(f"{lock_nd} locked non-diatonic chords exceed the cap of "
                                      f"{c.max_nondiatonic}")
        excl: dict[int, list[int]] = {}
        for pos, toks in c.exclude.items():  # as given and in canonical spelling
            names = {str(x) for x in toks if ":" in str(x)} | {self.resolve(x, mode).token
                                                              for x in toks}
            excl[pos] = [self.model.stoi[t] for t in names if t in self.model.stoi]
        cond1 = self.model.condition(valence, arousal, mode, style, meter.family)
        cond = np.repeat(cond1[None, :], n, axis=0)
        h = self.model.init_state(cond)
        cp = self.model.cond_proj(cond)
        prev = np.full(n, BOS)
        prev_dur = np.full(n, self.model.dur_none)
        ids = np.zeros((n, L), dtype=np.int64)
        tok_str: list[list[str]] = [[""] * L for _ in range(n)]
        beats = np.zeros((n, L))
        loglik = np.zeros(n)
        nd_used = np.zeros(n, dtype=np.int64)
        open_half = np.zeros(n, dtype=bool)  # the previous chord ended inside a bar
        bars = np.zeros(n, dtype=np.int64)
        whole_mask = self.model.whole_bar_mask(meter.bar_beats)
        first = meter.split[0]
        bar = meter.bar_beats
        elapsed = 0.0  # beats before this chord (fixed lengths only)
        inv_t = 1.0 / max(temperature, 1e-3)
        for pos in range(L):
            lp, dlp, h = self.model.step(prev, prev_dur, cp, h)
            fixed = None if c.beats is None else c.beats[pos]
            # this chord starts on a bar line (a strong position)
            on_bar = np.full(n, (elapsed % bar) < 1e-9) if fixed is not None else ~open_half
            if fixed is not None:
                beats[:, pos] = fixed
                bars += int(np.ceil((elapsed + fixed) / bar - 1e-9)
                            - np.ceil(elapsed / bar - 1e-9))
                elapsed += fixed
                open_half[:] = (elapsed % bar) > 1e-9
            else:
                rest = bar - (beats[:, :pos].sum(axis=1) % bar)  # what the open bar lacks
                half = self._choose_halves(dlp * inv_t, whole_mask, open_half, bars, L - pos,
                                           cpb, rng, targets)
                beats[:, pos] = np.where(open_half, rest, np.where(half, first, bar))
                bars += ~open_half
                open_half = half & ~open_half
                elapsed = float(beats[0, :pos + 1].sum())
            if self.model.bar_durations:  # vectorised dur_class_of
                prev_dur = (beats[:, pos] >= bar - 1e-9).astype(np.int64) + \
                    (beats[:, pos] >= bar + 1e-9)
            else:
                prev_dur = np.array([self.model.dur_class_of(b, bar) for b in beats[:, pos]])
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
            if pos == L - 1 and cadence:
                allowed &= m["cadence_jazz" if style == jazz.STYLE else "cadence"][None, :]
            if pos in excl:
                allowed[:, excl[pos]] = False
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
            if dim_floor is not None and pos > 0:
                strong = on_bar | (pos == 1)
                weak_dim = m["dim"][None, :] & (np.exp(lp) < dim_floor) & strong[:, None]
                keep = allowed & ~weak_dim
                allowed = np.where(keep.any(axis=1, keepdims=True), keep, allowed)
            bad = ~allowed.any(axis=1)
            if bad.any():
                raise ConstraintError(f"no chord satisfies the constraints at position {pos + 1}"
                                      + (" (the current chord is excluded)" if pos in excl
                                         else ""))
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
            toks = [self.parsed[ids[b, k]] if ids[b, k] != UNK else ChordToken.parse(s)
                    for k, s in enumerate(tok_str[b])]
            out.append(Progression(key, toks, [float(x) for x in beats[b]], valence, arousal,
                                   float(loglik[b] / L), meter=meter, style=style,
                                   notes=list(notes)))
        return out

    @staticmethod
    def _choose_halves(dlogits: np.ndarray, whole_mask: np.ndarray, open_half: np.ndarray,
                       bars: np.ndarray, remaining: int, cpb: str, rng: np.random.Generator,
                       targets: frozenset[int] = frozenset({2, 4, 8, 16})) -> np.ndarray:
        """Whether each sample's chord (at a bar start) takes half a bar.

        ``remaining`` counts this chord. "1": never; "2": always, but an odd count ends with a
        whole bar; "auto": sampled from the duration head (P(shorter than a bar)), masked so the
        loop closes its last bar and lasts one of the ``targets`` bar counts (see
        :func:`musical_bar_counts`); where no target can be reached any more (a clip's fixed
        chords before), an even number of bars, else what the model chose.
        """
        n = len(open_half)
        if cpb == "1":
            return np.zeros(n, dtype=bool)
        if cpb == "2":
            return np.full(n, remaining >= 2)
        p = np.exp(dlogits - dlogits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p_half = p[:, ~whole_mask].sum(axis=1)
        half = rng.random(n) < p_half

        def feasible(r_after: int, bars_after: np.ndarray, allowed: Iterable[int]
                     ) -> np.ndarray:
            # r_after chords from a bar line fill between ceil(r/2) and r more bars
            if r_after < 0:
                return np.zeros(n, dtype=bool)
            lo, hi = bars_after + (r_after + 1) // 2, bars_after + r_after
            ok = np.zeros(n, dtype=bool)
            for t in allowed:
                ok |= (lo <= t) & (t <= hi)
            return ok

        ok_whole = feasible(remaining - 1, bars + 1, targets)
        ok_half = feasible(remaining - 2, bars + 1, targets)
        lost = ~(ok_whole | ok_half)
        if lost.any():  # no target reachable: an even number of bars, as before
            even = range(2, int(bars.max()) + remaining + 3, 2)
            ok_whole = np.where(lost, feasible(remaining - 1, bars + 1, even), ok_whole)
            ok_half = np.where(lost, feasible(remaining - 2, bars + 1, even), ok_half)
        half = np.where(ok_half & ~ok_whole, True, np.where(ok_whole & ~ok_half, False, half))
        return half & ~open_half

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
                 variety_weight: float = 1.5, avoid_copies: bool = True,
                 style: str | None = None, rerank: bool = True) -> Progression:
        """Best of ``candidates`` sampled loops; deterministic for a seed.

        Score = mean log-likelihood per chord + ``fit_weight`` * (-|valence of the loop by the
        reranking rule - requested valence|) + ``variety_weight`` * (distinct chords / length);
        the variety term counters the likelihood's preference for tonic-dominant see-saws.
        With ``avoid_copies`` a candidate containing an 8-chord phrase found verbatim in the
        training data is ranked below every original candidate. ``rerank=False`` returns the
        first sample (the model alone).
        """
        c = constraints or Constraints()
        rng = np.random.default_rng(seed)
        cands = self.sample(valence, arousal, key, c, n=candidates if rerank else 1,
                            temperature=temperature, top_p=top_p, rng=rng, style=style)
        if not rerank:
            best = cands[0]
        else:
            best = self._rerank(cands, valence, key, fit_weight, variety_weight, avoid_copies)
        if style == jazz.STYLE:
            self._jazz_sevenths(best, c)
        return best

    def _rerank(self, cands: list[Progression], valence: float, key: Key, fit_weight: float,
                variety_weight: float, avoid_copies: bool) -> Progression:
        """The best candidate by the score of :meth:`generate`."""
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
        chord from ``from_position`` on ("regenerate the rest").

        A regenerated chord is never the chord it replaces, and every chord keeps its duration
        (the loop's harmonic rhythm is unchanged). Every kept chord is locked, so a last chord
        after a dominant (V7, V7/vi ...) is the model's choice, not held to the cadence rule
        (see :func:`cadence_required`). Raises :class:`ConstraintError` when no other chord fits.
        """
        L = len(prog.tokens)
        if from_position is not None:
            redo = set(range(from_position, L))
        else:
            redo = set(positions or [])
        for i in redo:
            if not 0 <= i < L:
                raise ConstraintError(f"position {i + 1} outside the {L}-chord progression")
        c = constraints or Constraints(length=L)
        locked = {i: prog.tokens[i].token for i in range(L) if i not in redo}
        c = Constraints(length=L, start_on_tonic=c.start_on_tonic, cadence=c.cadence,
                        no_repeats=c.no_repeats, max_nondiatonic=c.max_nondiatonic,
                        locked=locked | {i: t for i, t in c.locked.items() if i in redo},
                        exclude={i: self._same_chord(prog.tokens[i], prog.key.mode,
                                                     kw.get("style", prog.style))
                                 for i in redo if i not in c.locked},
                        chords_per_bar=c.chords_per_bar, meter=prog.meter,
                        beats=list(prog.beats), strong_dim_min_p=c.strong_dim_min_p)
        if c.max_nondiatonic is not None:
            nd = sum(1 for i in c.locked if not ChordToken.parse(c.locked[i]).is_diatonic(
                prog.key.mode))
            c.max_nondiatonic = max(c.max_nondiatonic, nd)
        kw.setdefault("style", prog.style)
        out = self.generate(prog.valence, prog.arousal, prog.key, c, seed=seed, **kw)
        out.typed = {i: t for i, t in prog.typed.items() if i not in redo}  # kept as typed
        return out

    def _same_chord(self, tok: ChordToken, mode: str, style: str | None) -> set[str]:
        """The tokens that are ``tok`` for regeneration: itself, and in the jazz style every
        chord whose jazz reading it is (a triad of Am7 would come back as Am7)."""
        same = {tok.token}
        if style == jazz.STYLE:
            reading = self.jazz_reading(mode)
            same |= {s for s, t in reading.items() if t == tok.token}
        return same

    def alternatives(self, prog: Progression, position: int, *, top: int = 5,
                     constraints: Constraints | None = None) -> list[Alternative]:
        """The ``top`` most probable other chords for ``position`` given the whole rest of the
        loop (its chords before *and after*, and every duration), with probabilities.

        Each candidate's probability is proportional to the model's likelihood of the complete
        loop with that candidate in place, normalised over every chord allowed there (no repeat
        of a neighbour, the tonic/cadence rule at the ends, the non-diatonic cap); the current
        chord is left out of the list but counted in the normalisation.
        """
        return self.ranked_alternatives(prog, position, top=top, constraints=constraints)[0]

    def ranked_alternatives(self, prog: Progression, position: int, *, top: int = 5,
                            constraints: Constraints | None = None,
                            ) -> tuple[list[Alternative], float | None]:
        """:meth:`alternatives` and the current chord's own probability on the same scale (None
        when the current chord is not allowed there), so a musician sees how the chord that is
        there compares (it was sampled, so another may well be likelier)."""
        L = len(prog.tokens)
        if not 0 <= position < L:
            raise ConstraintError(f"position {position + 1} outside the {L}-chord progression")
        c = constraints or Constraints(length=L)
        mode = prog.key.mode
        m = self.masks(mode)
        ids = [self.model.stoi.get(t.token, UNK) for t in prog.tokens]
        allowed = m["valid"].copy()
        if position == 0 and c.start_on_tonic:
            allowed &= m["tonic"]
        if position == L - 1 and c.cadence and cadence_required(
                L, {L - 2: prog.tokens[L - 2].token}, mode):
            allowed &= m["cadence_jazz" if prog.style == jazz.STYLE else "cadence"]
        if c.no_repeats:
            allowed[ids[(position - 1) % L]] = False
            allowed[ids[(position + 1) % L]] = False
        if c.max_nondiatonic is not None:
            others = sum(not t.is_diatonic(mode) for i, t in enumerate(prog.tokens)
                         if i != position)
            if others >= c.max_nondiatonic:
                allowed &= ~m["nondiatonic"]
        cur = ids[position]
        allowed[cur] = cur not in (UNK,) and bool(m["valid"][cur])
        cand = np.flatnonzero(allowed)
        if len(cand) == 0:
            return [], None
        with single_thread_blas():
            ll = self._loop_logliks(prog, position, cand)
        p = np.exp(ll - ll.max())
        p /= p.sum()
        if prog.style == jazz.STYLE:  # a triad and its seventh chord are one choice
            near = {ids[(position - 1) % L], ids[(position + 1) % L]} if c.no_repeats else set()
            cand, p, cur = self._jazz_groups(cand, p, cur, mode, near - {cur})
        order = np.argsort(-p)
        out = []
        current = next((float(p[j]) for j in range(len(cand)) if cand[j] == cur), None)
        for j in order:
            if cand[j] == cur:
                continue
            tok = ChordToken.parse(self.model.itos[cand[j]])
            shown = jazz.coloured(tok, mode) if prog.style == jazz.STYLE else tok
            out.append(Alternative(tok, float(p[j]), shown.name(prog.key), shown.roman(mode)))
            if len(out) == top:
                break
        return out, current

    def _jazz_groups(self, cand: np.ndarray, p: np.ndarray, cur: int, mode: str,
                     banned: set[int]) -> tuple[np.ndarray, np.ndarray, int]:
        """Candidates merged by their jazz reading (probabilities summed, renormalised); the
        current chord becomes its reading's group; a group in ``banned`` (a neighbour: a
        triad whose reading repeats it) is left out."""
        reading = self.jazz_reading(mode)
        stoi, itos = self.model.stoi, self.model.itos
        groups: dict[int, float] = {}
        for j, q in zip(cand, p, strict=True):
            g = stoi[reading.get(itos[j], itos[j])]
            if g not in banned:
                groups[g] = groups.get(g, 0.0) + float(q)
        if cur != UNK:
            cur = stoi[reading.get(itos[cur], itos[cur])]
        probs = np.array(list(groups.values()))
        return np.array(list(groups), dtype=np.int64), probs / probs.sum(), cur

    def _loop_logliks(self, prog: Progression, position: int, cand: np.ndarray) -> np.ndarray:
        """log P(loop with candidate at ``position``) for each candidate (durations fixed)."""
        model = self.model
        bar = prog.meter.bar_beats
        ids = [model.stoi.get(t.token, UNK) for t in prog.tokens]
        dcls = [model.dur_class_of(b, bar) for b in prog.beats]
        cond = model.condition(prog.valence, prog.arousal, prog.key.mode, prog.style,
                               prog.meter.family)[None, :]
        n = len(cand)
        h = model.init_state(cond)
        cp = model.cond_proj(cond)
        prev, pdur = np.array([BOS]), np.array([model.dur_none])
        for k in range(position):
            _, _, h = model.step(prev, pdur, cp, h)
            prev, pdur = np.array([ids[k]]), np.array([dcls[k]])
        h = np.repeat(h, n, axis=0)
        cp = np.repeat(cp, n, axis=0)
        prev = np.repeat(prev, n)
        pdur = np.repeat(pdur, n)
        total = np.zeros(n)
        for k in range(position, len(ids)):
            lp, _, h = model.step(prev, pdur, cp, h)
            tgt = cand if k == position else np.full(n, ids[k])
            total += lp[np.arange(n), tgt]
            prev, pdur = tgt, np.full(n, dcls[k])
        return total


def _check_va(valence: float, arousal: float) -> None:
    """Valence and arousal must be finite numbers in [-1, 1]."""
    for name, x in (("valence", valence), ("arousal", arousal)):
        try:
            f = float(x)
        except (TypeError, ValueError):
            raise MusicappError(f"{name} {x!r} is not a number") from None
        if not np.isfinite(f) or not -1.0 <= f <= 1.0:
            raise MusicappError(f"{name} {x!r} must be a finite number in [-1, 1]")


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
