"""Evaluation of the chord model and generator (``musicapp evaluate chords``).

1. Held-out perplexity / top-1 accuracy on the tune-split test set: ChordGRU (with the test
   sequences' derived condition, and with a neutral condition) vs unigram, bigram and interpolated
   trigram baselines with the same vocabulary (interpolation weights tuned on validation).
2. Generated vs real 8-chord loops: histogram entropy and vocabulary coverage.
3. Copying: fraction of generated 8-grams found verbatim in the training sequences.
4. Constraints: satisfied in N generated loops (random lengths, conditions, locks, caps), checked
   by an independent checker.
5. Conditioning: high vs low valence -> share of major-quality chords; high vs low arousal ->
   beats per chord, tempo and chords per minute (Cohen's d).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from musicapp.compose.generate import (
    CADENTIAL,
    TONIC,
    Constraints,
    Generator,
    Progression,
    single_thread_blas,
)
from musicapp.compose.labels import condition_vector
from musicapp.compose.model import ChordModel
from musicapp.compose.theory import ChordToken, Key
from musicapp_lab.compose.dataset import BOS, PAD, UNK, Vocab, dur_class
from musicapp_lab.compose.ngram import NGramLM


def check_constraints(prog: Progression, c: Constraints) -> list[str]:
    """Independent check of a loop against its constraints; returns the violations."""
    bad = []
    toks = [t.token for t in prog.tokens]
    mode = prog.key.mode
    if len(toks) != c.length:
        bad.append("length")
    for pos, text in c.locked.items():
        if toks[pos] != ChordToken.parse(text).token:
            bad.append(f"lock@{pos}")
    if c.start_on_tonic and 0 not in c.locked and toks[0] not in TONIC[mode]:
        bad.append("tonic start")
    if c.cadence and c.length - 1 not in c.locked and toks[-1] not in CADENTIAL[mode]:
        bad.append("cadence")
    if c.no_repeats:
        for i in range(len(toks)):
            if toks[i] == toks[i - 1] and not (i in c.locked and (i - 1) % len(toks) in c.locked):
                bad.append(f"repeat@{i}")
    if c.max_nondiatonic is not None:
        nd = sum(1 for t in prog.tokens if not t.is_diatonic(mode))
        if nd > c.max_nondiatonic:
            bad.append("nondiatonic cap")
    return bad


def _cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    s = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2.0)
    return float((a.mean() - b.mean()) / s) if s > 0 else float("inf")


def _entropy_bits(counts: Counter) -> float:
    p = np.array(list(counts.values()), dtype=float)
    p /= p.sum()
    return float(-(p * np.log2(p)).sum())


def perplexities(model: ChordModel, splits: dict, vocab: Vocab) -> dict[str, dict[str, float]]:
    """Test perplexity and top-1 of the GRU and the n-gram baselines (same vocabulary)."""
    train_ids = [vocab.encode(s.tokens) for s in splits["train"]]
    valid_ids = [vocab.encode(s.tokens) for s in splits["valid"]]
    test = splits["test"]
    out: dict[str, dict[str, float]] = {}
    exclude = frozenset({PAD, BOS})
    for name, order in (("unigram", 1), ("bigram", 2), ("trigram (interpolated)", 3)):
        lm = NGramLM(len(vocab), order).fit(train_ids)
        lm.tune(valid_ids)
        nll, correct, n = 0.0, 0, 0
        for s in test:
            ids = vocab.encode(s.tokens)
            nll -= lm.logprobs(ids).sum()
            full = [BOS, BOS, *ids, 2]
            best_cache: dict[tuple[int, int], int] = {}
            for i in range(2, len(full)):
                ctx = (full[i - 2], full[i - 1])
                if ctx not in best_cache:
                    best_cache[ctx] = lm.predict(*ctx, exclude=exclude)
                correct += best_cache[ctx] == full[i]
                n += 1
        out[name] = {"perplexity": math.exp(nll / n), "top1": correct / n, "tokens": n,
                     "lambdas": [round(x, 2) for x in lm.lambdas]}
    assert model.itos == vocab.itos, "model vocabulary differs from the data's"
    for label, kind in (("ChordGRU (derived condition)", "derived"),
                        ("ChordGRU (mode+tempo condition)", "mode"),
                        ("ChordGRU (neutral condition)", "neutral")):
        nll, correct, n = 0.0, 0, 0
        for s in test:
            ids = vocab.encode(s.tokens)
            if kind == "neutral":
                cond = condition_vector(0.0, 0.0, s.mode)
            elif kind == "mode":  # no chord-quality information in the condition
                v = 0.45 if s.mode == "major" else -0.45
                rate = s.bpm / max(float(np.mean(s.beats)), 0.25)
                a = float(np.clip((math.log2(rate) - math.log2(30.0)) / 2.0, -1, 1))
                cond = condition_vector(v, a, s.mode)
            else:
                cond = condition_vector(s.valence, s.arousal, s.mode)
            c = cond[None, :]
            h = model.init_state(c)
            cp = model.cond_proj(c)
            prev = np.array([BOS])
            pdur = np.array([model.dur_none])
            dcls = [dur_class(b) for b in s.beats]
            for k, tgt in enumerate([*ids, 2]):
                lp, _, h = model.step(prev, pdur, cp, h)
                nll -= lp[0, tgt]
                pred = lp[0].copy()
                pred[[PAD, BOS]] = -np.inf
                correct += int(pred.argmax() == tgt)
                n += 1
                prev = np.array([tgt])
                pdur = np.array([dcls[k] if k < len(dcls) else model.dur_none])
        out[label] = {"perplexity": math.exp(nll / n), "top1": correct / n, "tokens": n}
    return out


def loops_of(seqs, length: int = 8) -> list[list[str]]:
    """Non-overlapping ``length``-chord windows of real sequences."""
    out = []
    for s in seqs:
        for i in range(0, len(s.tokens) - length + 1, length):
            out.append(s.tokens[i:i + length])
    return out


def run(model_path: str | None = None, *, n_constraint_loops: int = 10000,
        n_condition_loops: int = 1000, n_loops: int = 1000, seed: int = 0,
        log: Callable[[str], None] = print) -> dict:
    """Compute every figure; ``log`` receives the printed table lines."""
    from musicapp_lab.compose.train import prepare

    t0 = time.time()
    model = ChordModel.load(model_path)
    gen = Generator(model)
    _, splits, vocab = prepare(seed=0)
    res: dict = {"split": {k: len(v) for k, v in splits.items()}, "vocab": len(vocab)}
    log(f"split by tune: train {res['split']['train']}, valid {res['split']['valid']}, "
        f"test {res['split']['test']} sequences; vocabulary {len(vocab)} tokens")

    with single_thread_blas():
        ppl = perplexities(model, splits, vocab)
    res["perplexity"] = ppl
    log(f"\nheld-out test set (tokens: {ppl['unigram']['tokens']})")
    log(f"{'model':34s} {'perplexity':>10s} {'top-1':>7s}")
    for name, r in ppl.items():
        log(f"{name:34s} {r['perplexity']:10.3f} {r['top1']:7.3f}")
    tri = ppl["trigram (interpolated)"]["perplexity"]
    for label in ("ChordGRU (derived condition)", "ChordGRU (mode+tempo condition)",
                  "ChordGRU (neutral condition)"):
        gain = 1.0 - ppl[label]["perplexity"] / tri
        res.setdefault("gru_vs_trigram", {})[label] = gain
        log(f"{label}: {100 * gain:.1f}% lower perplexity than the trigram (target >= 15%)")

    # ---- generated vs real loops --------------------------------------------------------------
    rng = np.random.default_rng(seed)
    real = loops_of(splits["test"], 8)
    gen_loops: list[list[str]] = []
    test_seqs = splits["test"]
    for i in range(n_loops):
        s = test_seqs[int(rng.integers(len(test_seqs)))]
        key = Key("C", s.mode)
        p = gen.generate(s.valence, s.arousal, key, Constraints(length=8), seed=seed + i,
                         candidates=4)
        gen_loops.append([t.token for t in p.tokens])
    real_c = Counter(t for loop in real for t in loop)
    gen_c = Counter(t for loop in gen_loops for t in loop)
    res["loops"] = {
        "real_loops": len(real), "generated_loops": len(gen_loops),
        "entropy_real_bits": _entropy_bits(real_c), "entropy_generated_bits": _entropy_bits(gen_c),
        "distinct_real": len(real_c), "distinct_generated": len(gen_c),
        "coverage_of_real_types": len(set(real_c) & set(gen_c)) / max(len(real_c), 1),
        "distinct_loops_generated": len({tuple(x) for x in gen_loops}),
    }
    L = res["loops"]
    log(f"\n8-chord loops: real (test) {L['real_loops']}, generated {L['generated_loops']}")
    log(f"  histogram entropy: real {L['entropy_real_bits']:.2f} bits, generated "
        f"{L['entropy_generated_bits']:.2f} bits")
    log(f"  distinct chords: real {L['distinct_real']}, generated {L['distinct_generated']}; "
        f"generated covers {100 * L['coverage_of_real_types']:.1f}% of the real chord types")
    log(f"  distinct generated loops: {L['distinct_loops_generated']} / {len(gen_loops)}")

    train_grams = set()
    for s in splits["train"]:
        for i in range(len(s.tokens) - 7):
            train_grams.add(tuple(s.tokens[i:i + 8]))
    copied = sum(1 for loop in gen_loops if tuple(loop) in train_grams)
    res["copy_rate_8gram"] = copied / len(gen_loops)
    log(f"  generated 8-grams copied verbatim from training: {copied}/{len(gen_loops)} = "
        f"{100 * res['copy_rate_8gram']:.2f}% (target < 2%; reranked with the novelty filter)")
    raw_copied = no_filter = 0
    for i in range(n_loops):
        s = test_seqs[int(rng.integers(len(test_seqs)))]
        p = gen.sample(s.valence, s.arousal, Key("C", s.mode), Constraints(length=8), n=1,
                       rng=np.random.default_rng(seed + 50_000 + i))[0]
        raw_copied += tuple(t.token for t in p.tokens) in train_grams
        p = gen.generate(s.valence, s.arousal, Key("C", s.mode), Constraints(length=8),
                         seed=seed + i, candidates=4, avoid_copies=False)
        no_filter += tuple(t.token for t in p.tokens) in train_grams
    res["copy_rate_8gram_raw_samples"] = raw_copied / n_loops
    res["copy_rate_8gram_reranked_without_filter"] = no_filter / n_loops
    log(f"  without the filter: raw samples {100 * raw_copied / n_loops:.2f}%, reranked "
        f"{100 * no_filter / n_loops:.2f}%")

    # ---- constraints -------------------------------------------------------------------------
    lockable = [t for t in model.itos[4:] if ChordToken.parse(t).is_diatonic("major")
                and ChordToken.parse(t).is_diatonic("minor")]
    total = ok = 0
    violations: Counter = Counter()
    batch = min(100, n_constraint_loops)
    for _b in range(n_constraint_loops // batch):
        length = int(rng.choice([4, 8, 16]))
        mode = str(rng.choice(["major", "minor"]))
        locked = {}
        if rng.random() < 0.4:
            for _ in range(int(rng.integers(1, 3))):
                pos = int(rng.integers(1, length - 1))
                locked[pos] = str(rng.choice(lockable))
            # neighbouring locks must differ for no-repeat to be satisfiable
            items = sorted(locked.items())
            for (p1, t1), (p2, t2) in itertools.pairwise(items):
                if p2 == p1 + 1 and t1 == t2:
                    del locked[p2]
        c = Constraints(length=length, max_nondiatonic=int(rng.integers(0, 4)), locked=locked)
        v, a = rng.uniform(-1, 1, 2)
        progs = gen.sample(float(v), float(a), Key("C", mode), c, n=batch,
                           temperature=float(rng.uniform(0.7, 1.5)), top_p=0.95, rng=rng)
        for p in progs:
            viol = check_constraints(p, c)
            total += 1
            ok += not viol
            violations.update(viol)
    res["constraints"] = {"loops": total, "satisfied": ok, "rate": ok / total,
                          "violations": dict(violations)}
    log(f"\nconstraints satisfied: {ok}/{total} loops ({100 * ok / total:.2f}%)"
        + (f"; violations {dict(violations)}" if violations else ""))

    # ---- conditioning ------------------------------------------------------------------------
    from musicapp.compose.arrange import tempo_for_arousal

    def batch_stats(v: float, a: float, mode: str, rerank: bool) -> dict[str, np.ndarray]:
        maj, beats = [], []
        for i in range(n_condition_loops):
            c = Constraints(length=8)
            if rerank:
                p = gen.generate(v, a, Key("C", mode), c, seed=10_000 + i, candidates=4)
            else:
                p = gen.sample(v, a, Key("C", mode), c, n=1,
                               rng=np.random.default_rng(20_000 + i))[0]
            maj.append(np.mean([t.is_major_quality for t in p.tokens]))
            beats.append(np.mean(p.beats))
        tempo = tempo_for_arousal(a)
        return {"major_share": np.array(maj), "beats_per_chord": np.array(beats),
                "chords_per_min": tempo / np.array(beats)}

    cond_res = {}
    log(f"\nconditioning ({n_condition_loops} loops per setting; Cohen's d)")
    for mode in ("major", "minor"):
        for rerank in (True, False):
            hi = batch_stats(0.8, 0.0, mode, rerank)
            lo = batch_stats(-0.8, 0.0, mode, rerank)
            d = _cohens_d(hi["major_share"], lo["major_share"])
            key = f"valence {mode} {'reranked' if rerank else 'sampled'}"
            cond_res[key] = {"high": float(hi["major_share"].mean()),
                             "low": float(lo["major_share"].mean()), "d": d}
            log(f"  valence +0.8 vs -0.8 ({mode}, {'reranked' if rerank else 'raw samples'}): "
                f"major-quality share {hi['major_share'].mean():.3f} vs "
                f"{lo['major_share'].mean():.3f}, d = {d:.2f}")
    for rerank in (True, False):
        hi = batch_stats(0.0, 0.8, "major", rerank)
        lo = batch_stats(0.0, -0.8, "major", rerank)
        d_b = _cohens_d(lo["beats_per_chord"], hi["beats_per_chord"])
        d_r = _cohens_d(hi["chords_per_min"], lo["chords_per_min"])
        tag = "reranked" if rerank else "sampled"
        cond_res[f"arousal {tag}"] = {
            "beats_per_chord_high": float(hi["beats_per_chord"].mean()),
            "beats_per_chord_low": float(lo["beats_per_chord"].mean()), "d_beats": d_b,
            "tempo_high": tempo_for_arousal(0.8), "tempo_low": tempo_for_arousal(-0.8),
            "chords_per_min_high": float(hi["chords_per_min"].mean()),
            "chords_per_min_low": float(lo["chords_per_min"].mean()), "d_rate": d_r}
        log(f"  arousal +0.8 vs -0.8 (major, {'reranked' if rerank else 'raw samples'}): "
            f"beats/chord {hi['beats_per_chord'].mean():.2f} vs "
            f"{lo['beats_per_chord'].mean():.2f} (d = {d_b:.2f}); tempo "
            f"{tempo_for_arousal(0.8):.0f} vs {tempo_for_arousal(-0.8):.0f} bpm; chords/min "
            f"{hi['chords_per_min'].mean():.1f} vs {lo['chords_per_min'].mean():.1f} "
            f"(d = {d_r:.2f})")
    res["conditioning"] = cond_res
    res["seconds"] = round(time.time() - t0, 1)
    log(f"\n(evaluation took {res['seconds']} s)")
    return res


__all__ = ["UNK", "check_constraints", "run"]
