"""Evaluation of the chord model and generator (``musicapp evaluate chords``).

1. Held-out perplexity / top-1 on the song-split test set: ChordGRU, conditioned on the test
   record's style, mode and meter only (group-mean labels of the training split), vs unigram,
   bigram and interpolated trigram with the same vocabulary (weights tuned on validation).
2. Cross-corpus: a model trained without one whole source, scored on that source.
3. Generated vs real 8-chord loops: histogram entropy, coverage; 8-gram copy rate.
4. Constraints and bar-aligned harmonic rhythm over N generated loops (independent checkers).
5. Regenerate: N trials; how often the current chord came back, others or durations changed.
6. Harmonic rhythm vs requested arousal (GRU alone).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from musicapp.compose.conditioning import STYLES
from musicapp.compose.generate import (
    CADENTIAL,
    TONIC,
    ConstraintError,
    Constraints,
    Generator,
    Progression,
    cadence_required,
    single_thread_blas,
)
from musicapp.compose.model import ChordModel
from musicapp.compose.rhythm import Meter, is_bar_aligned
from musicapp.compose.theory import ChordToken, Key
from musicapp_lab.compose.dataset import BOS, PAD, UNK, Vocab, dur_class_bar
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
    if (c.cadence and c.length - 1 not in c.locked and toks[-1] not in CADENTIAL[mode]
            and cadence_required(c.length, c.locked, mode)):
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


def baseline_models(splits: dict, vocab: Vocab) -> dict[str, NGramLM]:
    """Unigram, bigram and interpolated trigram fitted on the training split (weights tuned on
    the validation split), same vocabulary as the GRU."""
    train_ids = [vocab.encode(s.tokens) for s in splits["train"]]
    valid_ids = [vocab.encode(s.tokens) for s in splits["valid"]]
    out = {}
    for name, order in (("unigram", 1), ("bigram", 2), ("trigram (interpolated)", 3)):
        lm = NGramLM(len(vocab), order).fit(train_ids)
        lm.tune(valid_ids)
        out[name] = lm
    return out


def score_ngram(lm: NGramLM, token_lists: list[list[int]]) -> dict[str, float]:
    """Perplexity and top-1 of an n-gram model over sequences of ids (EOS included)."""
    exclude = frozenset({PAD, BOS})
    nll, correct, n = 0.0, 0, 0
    best_cache: dict[tuple[int, int], int] = {}
    for ids in token_lists:
        nll -= lm.logprobs(ids).sum()
        full = [BOS, BOS, *ids, 2]
        for i in range(2, len(full)):
            ctx = (full[i - 2], full[i - 1])
            if ctx not in best_cache:
                best_cache[ctx] = lm.predict(*ctx, exclude=exclude)
            correct += best_cache[ctx] == full[i]
            n += 1
    return {"perplexity": math.exp(nll / n), "top1": correct / n, "tokens": n,
            "lambdas": [round(x, 2) for x in lm.lambdas]}


def score_gru(model: ChordModel, items: list[tuple[list[int], list[int], np.ndarray]]
              ) -> dict[str, float]:
    """Perplexity and top-1 of the GRU over (ids, duration classes, condition) items."""
    nll, correct, n = 0.0, 0, 0
    for ids, dcls, cond in items:
        c = cond[None, :]
        h = model.init_state(c)
        cp = model.cond_proj(c)
        prev = np.array([BOS])
        pdur = np.array([model.dur_none])
        for k, tgt in enumerate([*ids, 2]):
            lp, _, h = model.step(prev, pdur, cp, h)
            nll -= lp[0, tgt]
            pred = lp[0].copy()
            pred[[PAD, BOS]] = -np.inf
            correct += int(pred.argmax() == tgt)
            n += 1
            prev = np.array([tgt])
            pdur = np.array([dcls[k] if k < len(dcls) else model.dur_none])
    return {"perplexity": math.exp(nll / n), "top1": correct / n, "tokens": n}


def perplexities(model: ChordModel, splits: dict, vocab: Vocab, part: str = "test",
                 style: str | None = "own") -> dict[str, dict[str, float]]:
    """Held-out perplexity and top-1 of the GRU and the n-gram baselines (same split and
    vocabulary). The GRU's condition comes from the sequence's style (or ``style``), mode and
    meter with the training group's mean labels — never from the sequence's own chords."""
    from musicapp_lab.compose.dataset import eval_condition, group_conditions

    assert model.itos == vocab.itos, "model vocabulary differs from the data's"
    seqs = splits[part]
    groups = group_conditions(splits["train"])
    out = {name: score_ngram(lm, [vocab.encode(s.tokens) for s in seqs])
           for name, lm in baseline_models(splits, vocab).items()}
    items = [(vocab.encode(s.tokens), [dur_class_bar(b, s.bar_beats) for b in s.beats],
              eval_condition(s, groups, style)) for s in seqs]
    out["ChordGRU (style+mode+meter condition)"] = score_gru(model, items)
    return out


def loops_of(seqs, length: int = 8) -> list[list[str]]:
    """Non-overlapping ``length``-chord windows of real sequences."""
    out = []
    for s in seqs:
        for i in range(0, len(s.tokens) - length + 1, length):
            out.append(s.tokens[i:i + length])
    return out


def cross_corpus(cross_model_path: str, source: str, log: Callable[[str], None] = print
                 ) -> dict:
    """Perplexity on a whole source kept out of training (model trained with
    ``--exclude-source``); the baselines are trained on the same reduced split. The held-out
    source's style was never seen, so the GRU is asked for "any style" (uniform)."""
    from musicapp_lab.compose.train import prepare

    model = ChordModel.load(cross_model_path)
    if model.meta.get("training", {}).get("exclude_source") != source:
        raise ValueError(f"{cross_model_path} was not trained without {source}")
    _, splits, vocab = prepare(seed=0, exclude_source=source)
    with single_thread_blas():
        ppl = perplexities(model, splits, vocab, part="cross", style=None)
    tri = ppl["trigram (interpolated)"]["perplexity"]
    log(f"\ncross-corpus: all of {source} held out ({len(splits['cross'])} records, "
        f"{ppl['unigram']['tokens']} tokens)")
    for name, r in ppl.items():
        log(f"{name:40s} {r['perplexity']:10.3f} {r['top1']:7.3f}")
    gain = 1.0 - ppl["ChordGRU (style+mode+meter condition)"]["perplexity"] / tri
    log(f"GRU vs trigram on the held-out source: {100 * gain:.1f}% lower perplexity")
    return {"source": source, "perplexity": ppl, "gru_vs_trigram": gain}


def regenerate_trials(gen: Generator, n: int, seed: int = 0) -> dict:
    """Regenerate one random chord of random loops ``n`` times; count how often the current
    chord came back and how often any other chord or duration changed."""
    rng = np.random.default_rng(seed)
    same = changed_other = changed_beats = failed = 0
    base_pool = []
    for i in range(50):
        mode = "minor" if i % 2 else "major"
        base_pool.append(gen.generate(float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)),
                                      Key("C", mode), Constraints(length=int(rng.choice([4, 8])),
                                                                  meter=Meter(4, 4)),
                                      seed=i, candidates=2))
    for i in range(n):
        base = base_pool[i % len(base_pool)]
        pos = int(rng.integers(len(base.tokens)))
        try:
            new = gen.regenerate(base, [pos], seed=i, candidates=1)
        except ConstraintError:
            failed += 1
            continue
        same += new.tokens[pos] == base.tokens[pos]
        changed_other += any(a != b for k, (a, b) in enumerate(zip(new.tokens, base.tokens,
                                                                     strict=True)) if k != pos)
        changed_beats += new.beats != base.beats
    return {"trials": n, "returned_current": same, "changed_other_chords": changed_other,
            "changed_durations": changed_beats, "no_alternative": failed}


def run(model_path: str | None = None, *, n_constraint_loops: int = 10000,
        n_condition_loops: int = 1000, n_loops: int = 1000, seed: int = 0,
        n_regenerate: int = 10000, cross_model: str | None = None,
        log: Callable[[str], None] = print) -> dict:
    """Compute every figure; ``log`` receives the printed table lines."""
    from musicapp_lab.compose.dataset import CROSS_SOURCE, group_conditions
    from musicapp_lab.compose.train import prepare

    t0 = time.time()
    model = ChordModel.load(model_path)
    gen = Generator(model)
    _, splits, vocab = prepare(seed=0)
    res: dict = {"split": {k: len(v) for k, v in splits.items()}, "vocab": len(vocab)}
    log(f"split by song: train {res['split']['train']}, valid {res['split']['valid']}, "
        f"test {res['split']['test']} records; vocabulary {len(vocab)} tokens")

    with single_thread_blas():
        ppl = perplexities(model, splits, vocab)
    res["perplexity"] = ppl
    log(f"\nheld-out test set (tokens: {ppl['unigram']['tokens']}); GRU condition from style, "
        "mode and meter only")
    log(f"{'model':40s} {'perplexity':>10s} {'top-1':>7s}")
    for name, r in ppl.items():
        log(f"{name:40s} {r['perplexity']:10.3f} {r['top1']:7.3f}")
    tri = ppl["trigram (interpolated)"]["perplexity"]
    gain = 1.0 - ppl["ChordGRU (style+mode+meter condition)"]["perplexity"] / tri
    res["gru_vs_trigram"] = gain
    log(f"GRU: {100 * gain:.1f}% lower perplexity than the trigram (target >= 15%)")
    if cross_model:
        res["cross_corpus"] = cross_corpus(cross_model, CROSS_SOURCE, log)

    # ---- generated vs real loops --------------------------------------------------------------
    groups = group_conditions(splits["train"])
    rng = np.random.default_rng(seed)
    real = loops_of(splits["test"], 8)
    gen_loops: list[list[str]] = []
    test_seqs = splits["test"]
    for i in range(n_loops):
        s = test_seqs[int(rng.integers(len(test_seqs)))]
        v, a = groups.get(f"{s.style}|{s.mode}|{s.meter_family}", groups[f"*|{s.mode}|*"])
        p = gen.generate(v, a, Key("C", s.mode), Constraints(length=8, meter=Meter.parse(
            s.meter)), seed=seed + i, candidates=4, style=s.style)
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
    raw_copied = 0
    for i in range(n_loops):
        s = test_seqs[int(rng.integers(len(test_seqs)))]
        p = gen.generate(0.0, 0.0, Key("C", s.mode), Constraints(length=8), seed=seed + i,
                         rerank=False, style=s.style)
        raw_copied += tuple(t.token for t in p.tokens) in train_grams
    res["copy_rate_8gram_raw_samples"] = raw_copied / n_loops
    log(f"  raw samples (no reranking, no filter): {100 * raw_copied / n_loops:.2f}%")

    # ---- constraints and bar alignment ---------------------------------------------------------
    lockable = [t for t in model.itos[4:] if ChordToken.parse(t).is_diatonic("major")
                and ChordToken.parse(t).is_diatonic("minor")]
    total = ok = aligned = 0
    violations: Counter = Counter()
    batch = min(100, n_constraint_loops)
    meters = [Meter(4, 4), Meter(3, 4), Meter(6, 8), Meter(2, 4), Meter(12, 8)]
    for _b in range(n_constraint_loops // batch):
        length = int(rng.choice([4, 8, 16]))
        mode = str(rng.choice(["major", "minor"]))
        locked = {}
        if rng.random() < 0.4:
            for _ in range(int(rng.integers(1, 3))):
                pos = int(rng.integers(1, length - 1))
                locked[pos] = str(rng.choice(lockable))
            items = sorted(locked.items())
            for (p1, t1), (p2, t2) in itertools.pairwise(items):
                if p2 == p1 + 1 and t1 == t2:
                    del locked[p2]
        meter = meters[int(rng.integers(len(meters)))]
        c = Constraints(length=length, max_nondiatonic=int(rng.integers(0, 4)), locked=locked,
                        chords_per_bar=str(rng.choice(["1", "2", "auto"])), meter=meter)
        v, a = rng.uniform(-1, 1, 2)
        progs = gen.sample(float(v), float(a), Key("C", mode), c, n=batch,
                           temperature=float(rng.uniform(0.7, 1.5)), top_p=0.95, rng=rng,
                           style=[None, *STYLES][int(rng.integers(len(STYLES) + 1))])
        for p in progs:
            viol = check_constraints(p, c)
            total += 1
            ok += not viol
            aligned += is_bar_aligned(p.beats, meter)
            violations.update(viol)
    res["constraints"] = {"loops": total, "satisfied": ok, "rate": ok / total,
                          "bar_aligned": aligned, "violations": dict(violations)}
    log(f"\nconstraints satisfied: {ok}/{total} loops ({100 * ok / total:.2f}%)"
        + (f"; violations {dict(violations)}" if violations else ""))
    log(f"bar-aligned harmonic rhythm (1, 2 or auto chords per bar; 4/4 3/4 6/8 2/4 12/8): "
        f"{aligned}/{total} loops ({100 * aligned / total:.2f}%)")

    # ---- regenerate ---------------------------------------------------------------------------
    rg = regenerate_trials(gen, n_regenerate, seed)
    res["regenerate"] = rg
    log(f"\nregenerate one chord, {rg['trials']} trials: the current chord came back "
        f"{rg['returned_current']} times; other chords changed {rg['changed_other_chords']}, "
        f"durations changed {rg['changed_durations']}; no alternative possible "
        f"{rg['no_alternative']}")

    # ---- harmonic rhythm follows arousal -------------------------------------------------------
    from musicapp.compose.arrange import tempo_for_arousal

    cond_res = {}
    for a in (-0.8, 0.0, 0.8):
        bpc = [np.mean(gen.generate(0.3, a, Key("C"), Constraints(length=8), seed=30_000 + i,
                                    rerank=False).beats) for i in range(n_condition_loops)]
        cond_res[f"arousal {a:+.1f}"] = {"beats_per_chord": float(np.mean(bpc)),
                                         "tempo": tempo_for_arousal(a)}
        log(f"arousal {a:+.1f}: {np.mean(bpc):.2f} beats per chord at "
            f"{tempo_for_arousal(a):.0f} bpm (GRU alone, {n_condition_loops} loops)")
    res["conditioning"] = cond_res
    res["seconds"] = round(time.time() - t0, 1)
    log(f"\n(evaluation took {res['seconds']} s)")
    return res


__all__ = ["UNK", "check_constraints", "run"]
