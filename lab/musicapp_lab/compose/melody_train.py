"""Train and evaluate the learned melody model against the chord-tone melody
(``musicapp train melody``).

Data: the POP909 and OpenEWLD melodies of the chord corpus (same song split as the chord
model). Each note (after the first of a record) is an example: its pitch given the previous
note, the chord sounding at its onset, the key and whether it starts a strong position.
Notes leaping more than an octave are outside both models' support and are left out of every
figure (their share is reported).

Baseline ("chord-tone melody", the rule of ``arrange.melody_line`` as a distribution): on strong
positions one of the three chord tones nearest the previous note, on weak positions a step to the
neighbouring tone of the chord scale, each uniformly; mixed 95/5 with a uniform choice among the
25 candidates so that no real note gets probability zero.

Figures on held-out songs: note-level perplexity; chord-tone ratio of real, learned-sampled and
baseline-sampled melodies (pitches sampled at the real onsets, starting from the real first
note); KL divergence of the interval-size histogram (|semitones| 0..12) of each generated set
from the real one.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp.compose.melody import (
    MODEL_PATH,
    N_CAND,
    N_WEIGHTS,
    SPAN,
    MelodyModel,
    candidate_features,
    candidate_scores,
    scale_mask_of,
)
from musicapp.compose.rhythm import Meter
from musicapp.compose.theory import ChordToken, Key


def examples(seqs) -> dict[str, np.ndarray]:
    """Arrays of every usable note: prev, target offset (0..24), chord mask, root, scale mask,
    strong, song index, and the count of notes left out (leaps over an octave)."""
    prev, tgt, cm, root, sm, strong, song = [], [], [], [], [], [], []
    left_out = 0
    for si, s in enumerate(seqs):
        if not s.melody:
            continue
        key = Key(s.tonic, s.mode)
        meter = Meter.parse(s.meter)
        bar, half = meter.bar_beats, meter.split[0]
        starts = np.cumsum([0.0, *s.beats])
        pcs = [ChordToken.parse(t).pitch_classes(key) for t in s.tokens]
        smask = scale_mask_of(key.pc, key.mode)
        notes = sorted(s.melody)
        mono = []
        for o, d, p in notes:  # monophonic: the highest note per onset
            if mono and mono[-1][0] == o:
                if p > mono[-1][2]:
                    mono[-1] = [o, d, p]
            else:
                mono.append([o, d, p])
        for (_, _, p0), (o, _, p) in itertools.pairwise(mono):
            beat = o / 4.0
            k = int(np.searchsorted(starts, beat, side="right") - 1)
            if not 0 <= k < len(pcs):
                continue
            if abs(p - p0) > SPAN:
                left_out += 1
                continue
            m = np.zeros(12, bool)
            m[pcs[k]] = True
            pos = beat % bar
            prev.append(p0)
            tgt.append(p - p0 + SPAN)
            cm.append(m)
            root.append(pcs[k][0])
            sm.append(smask)
            strong.append(abs(pos) < 1e-6 or abs(pos - half) < 1e-6)
            song.append(si)
    return {"prev": np.array(prev), "tgt": np.array(tgt), "cm": np.array(cm),
            "root": np.array(root), "sm": np.array(sm), "strong": np.array(strong),
            "song": np.array(song), "left_out": left_out}


def _log_softmax(s: np.ndarray) -> np.ndarray:
    m = s.max(axis=1, keepdims=True)
    return s - m - np.log(np.exp(s - m).sum(axis=1, keepdims=True))


def fit(ex: dict, iters: int = 150, lr: float = 0.08, l2: float = 1e-4, seed: int = 0
        ) -> np.ndarray:
    """Maximum-likelihood weights (Adam on the mean negative log-likelihood)."""
    rng = np.random.default_rng(seed)
    n = len(ex["prev"])
    idx = rng.permutation(n)[:60_000]
    e = {k: v[idx] for k, v in ex.items() if isinstance(v, np.ndarray)}
    ct, sc, rint, reg, _ = candidate_features(e["prev"], e["cm"], e["root"], e["sm"],
                                              e["strong"])
    st = e["strong"][:, None]
    onehot = np.zeros((len(idx), N_CAND))
    onehot[np.arange(len(idx)), e["tgt"]] = 1.0
    w = np.zeros(N_WEIGHTS)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t in range(1, iters + 1):
        s = candidate_scores(w, e["prev"], e["cm"], e["root"], e["sm"], e["strong"])
        p = np.exp(_log_softmax(s))
        g_s = (p - onehot) / len(idx)  # d NLL / d score
        g = np.zeros_like(w)
        g[:N_CAND] = g_s.sum(axis=0)
        g[N_CAND] = (g_s * ct * st).sum()
        g[N_CAND + 1] = (g_s * ct * ~st).sum()
        g[N_CAND + 2] = (g_s * sc).sum()
        np.add.at(g[N_CAND + 3:N_CAND + 15], rint.ravel(), g_s.ravel())
        g[N_CAND + 15] = (g_s * reg).sum()
        g += l2 * w
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return w


def baseline_probs(ex: dict, eps: float = 0.05) -> np.ndarray:
    """(N, 25) probabilities of the chord-tone rule (see the module docstring)."""
    ct, sc, _, _, p = candidate_features(ex["prev"], ex["cm"], ex["root"], ex["sm"],
                                         ex["strong"])
    # chord scale: scale tones a semitone from a chord tone are replaced by the chord tone
    cs = sc.copy()
    pc = p % 12
    for shift in (1, 11):
        near_ct = ex["cm"][np.arange(len(p))[:, None], (pc + shift) % 12]
        cs &= ~(near_ct & ~ct)
    cs |= ct
    n = len(p)
    dist = np.abs(np.arange(-SPAN, SPAN + 1))
    # strong: the three chord tones nearest the previous note (ties: lower first)
    key = np.where(ct, dist[None, :] * 2 + (np.arange(N_CAND) > SPAN)[None, :], 10_000)
    order = np.argsort(key, axis=1, kind="stable")[:, :3]
    strong_rule = np.zeros((n, N_CAND))
    valid = np.take_along_axis(key, order, axis=1) < 10_000
    np.put_along_axis(strong_rule, order, valid.astype(float), axis=1)
    # weak: a step to the nearest chord-scale tone above and below
    weak_rule = np.zeros((n, N_CAND))
    above = cs[:, SPAN + 1:]
    below = cs[:, :SPAN][:, ::-1]
    has_a, has_b = above.any(axis=1), below.any(axis=1)
    ia = SPAN + 1 + above.argmax(axis=1)
    ib = SPAN - 1 - below.argmax(axis=1)
    weak_rule[np.arange(n)[has_a], ia[has_a]] = 1.0
    weak_rule[np.arange(n)[has_b], ib[has_b]] = 1.0
    rule = np.where(ex["strong"][:, None], strong_rule, weak_rule)
    tot = rule.sum(axis=1, keepdims=True)
    rule = np.where(tot > 0, rule / np.maximum(tot, 1e-12), 1.0 / N_CAND)
    return (1 - eps) * rule + eps / N_CAND


def _interval_hist(d: np.ndarray) -> np.ndarray:
    h = np.bincount(np.minimum(np.abs(d), 12), minlength=13).astype(float) + 0.5
    return h / h.sum()


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    return float((p * np.log(p / q)).sum())


def _sample_chain(ex: dict, sel: np.ndarray, probs_fn, rng: np.random.Generator) -> np.ndarray:
    """Sample pitches at the real onsets of the examples ``sel`` (in order, per song), each
    step conditioned on the previously *sampled* pitch; returns the intervals."""
    out = []
    last_song, prev = None, None
    for i in sel:
        if ex["song"][i] != last_song:
            last_song, prev = ex["song"][i], ex["prev"][i]
        one = {k: (v[i:i + 1] if isinstance(v, np.ndarray) else v) for k, v in ex.items()}
        one["prev"] = np.array([prev])
        p = probs_fn(one)[0]
        cand = prev + np.arange(-SPAN, SPAN + 1)
        ok = (cand >= 40) & (cand <= 96)
        p = np.where(ok, p, 0)
        p /= p.sum()
        new = int(cand[rng.choice(N_CAND, p=p)])
        out.append((new - prev, bool(one["cm"][0][new % 12])))
        prev = new
    return np.array(out)


def train_and_evaluate(out: Path = MODEL_PATH, *, seed: int = 0, max_eval_notes: int = 3000,
                       log: Callable[[str], None] = print, force: bool = False) -> dict:
    """Fit on the training songs, evaluate on the test songs, write the weights JSON
    atomically (an existing ``out`` is refused before any work unless ``force``)."""
    from musicapp_lab.cli._out import refuse_existing, write_text

    refuse_existing(out, force=force)
    from musicapp_lab.compose.dataset import load_sequences, split_sequences

    t0 = time.time()
    splits = split_sequences(load_sequences())
    tr = examples([s for s in splits["train"] if s.melody])
    te = examples([s for s in splits["test"] if s.melody])
    log(f"melody notes: train {len(tr['prev'])}, test {len(te['prev'])} (left out, leaps over "
        f"an octave: train {tr['left_out']}, test {te['left_out']})")
    w = fit(tr, seed=seed)
    model = MelodyModel(w[:N_CAND], w[N_CAND:N_CAND + 2], w[N_CAND + 2],
                        w[N_CAND + 3:N_CAND + 15], w[N_CAND + 15])
    lp = _log_softmax(candidate_scores(w, te["prev"], te["cm"], te["root"], te["sm"],
                                       te["strong"]))
    nll_model = -float(lp[np.arange(len(lp)), te["tgt"]].mean())
    bp = baseline_probs(te)
    nll_base = -float(np.log(bp[np.arange(len(bp)), te["tgt"]]).mean())
    rng = np.random.default_rng(seed)
    sel = np.arange(min(len(te["prev"]), max_eval_notes))
    real_d = te["tgt"][sel] - SPAN
    real_ct = te["cm"][sel, (te["prev"][sel] + real_d) % 12].mean()

    def learned_probs(one):
        s = candidate_scores(w, one["prev"], one["cm"], one["root"], one["sm"], one["strong"])
        return np.exp(_log_softmax(s))

    gen_l = _sample_chain(te, sel, learned_probs, rng)
    gen_b = _sample_chain(te, sel, baseline_probs, rng)
    h_real = _interval_hist(real_d)
    res = {
        "notes_train": int(len(tr["prev"])), "notes_test": int(len(te["prev"])),
        "left_out_test": int(te["left_out"]),
        "perplexity": {"learned": math.exp(nll_model), "chord-tone": math.exp(nll_base)},
        "chord_tone_ratio": {"real": float(real_ct), "learned": float(gen_l[:, 1].mean()),
                             "chord-tone": float(gen_b[:, 1].mean())},
        "interval_kl": {"learned": _kl(h_real, _interval_hist(gen_l[:, 0])),
                        "chord-tone": _kl(h_real, _interval_hist(gen_b[:, 0]))},
        "seconds": round(time.time() - t0, 1),
    }
    log(f"held-out songs, {len(te['prev'])} notes (sampled figures over {len(sel)})")
    log(f"{'':12s} {'perplexity':>10s} {'chord-tone ratio':>17s} {'interval KL':>12s}")
    log(f"{'real':12s} {'':>10s} {res['chord_tone_ratio']['real']:17.3f} {'':>12s}")
    for k in ("learned", "chord-tone"):
        log(f"{k:12s} {res['perplexity'][k]:10.3f} {res['chord_tone_ratio'][k]:17.3f} "
            f"{res['interval_kl'][k]:12.4f}")
    write_text(out, json.dumps(model.to_json() | {"evaluation": res}, indent=1) + "\n",
               force=force, kind="JSON")
    log(f"wrote {out}")
    return res
