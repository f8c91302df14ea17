"""Emotion steering measured by an independent judge (``musicapp evaluate chord-emotion``).

For N requested (valence, arousal) points drawn uniformly from [-1, 1]^2, a loop is made three
ways and each goes through the *same* product path — key: a random tonic, minor when the
requested valence < -0.1 (``Emotion.suggested_mode``); arrangement with ``arrange.arrange`` (tempo
``100 + 40 * arousal`` bpm and the rhythm pattern follow arousal in every row); rendered with the
General MIDI soundfont (``musicapp.synth``):

* ``GRU alone``: one sample of the conditioned model, no reranking;
* ``GRU + reranker``: the shipped default (8 candidates; likelihood + chord-quality valence fit
  + variety);
* ``random in-key``: diatonic chords of the mode drawn uniformly (tonic first, no repeats), one
  or two chords per bar at random.

The judge listens to the first ``patches`` x 2.992 s of each rendered loop. Two judges:

* ``judge="fusion"`` (default, the app's valence/arousal since issue 16): each loop goes through
  the product pipeline (:func:`musicapp.pipeline.analyze_samples`: tagger + key/tempo/chord
  analysis) and :func:`musicapp.models.va_fusion.apply_fusion`; the measured values are the
  track's fused valence and arousal. Its weights were fitted on weak labels from the titles of
  game soundtracks, never on rendered loops or on the composer's rules.
* ``judge="tagger"``: the tagger's own valence/arousal head alone
  (``musicapp.pipeline.get_engine``), patches averaged; loops are laid end to end so one call
  scores many (the judge of the first report, which did not hear major vs minor).

One patch (3 s, one or two chords) proved too short: the judge heard nothing, not even the
tempo; three patches (9 s) are the setting to report. Reported: Spearman's rho between requested
and measured valence, and arousal, per row.

Three different rules, on purpose: the training labels come from the songs' annotated mode and
measured tempo (``musicapp_lab.compose.dataset``, rule A); the reranker scores chord qualities
(``labels.derive_valence``, rule B); the judge listens to audio (rule C: the fusion judge hears
mode, tempo and loudness in the audio through the app's own analysis, with weights learned from
soundtrack titles). Caveat: every row's key is minor when the requested valence < -0.1, and the
tempo follows arousal, so part of what the judge hears is set by the shared product path, not by
the chords the row chose; the random row measures exactly that part.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

PATCH_S = 2.992
RATE = 16000
ROWS = ("GRU alone", "GRU + reranker", "random in-key")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(a: np.ndarray) -> np.ndarray:
        order = np.argsort(a, kind="mergesort")
        r = np.empty(len(a))
        r[order] = np.arange(len(a), dtype=float)
        for v in np.unique(a):  # average ties
            m = a == v
            if m.sum() > 1:
                r[m] = r[m].mean()
        return r

    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    return float(np.corrcoef(rx, ry)[0, 1])


def random_loop(gen, key, length: int, rng: np.random.Generator, valence: float,
                arousal: float, meter):
    """Uniformly random diatonic chords (tonic first, no repeats), random 1-2 chords per bar."""
    from musicapp.compose.generate import TONIC, Progression
    from musicapp.compose.rhythm import fixed_plan, plan_beats
    from musicapp.compose.theory import ChordToken

    m = gen.masks(key.mode)
    diat = [i for i in np.flatnonzero(m["valid"]) if gen.parsed[i].is_diatonic(key.mode)]
    tonic = [i for i in diat if gen.model.itos[i] in TONIC[key.mode]]
    ids = [int(rng.choice(tonic))]
    while len(ids) < length:
        c = int(rng.choice(diat))
        if c != ids[-1] and (len(ids) < length - 1 or c != ids[0]):
            ids.append(c)
    toks = [ChordToken.parse(gen.model.itos[i]) for i in ids]
    beats = plan_beats(fixed_plan(length, str(rng.choice(["1", "2"]))), meter)
    return Progression(key, toks, beats, valence, arousal, meter=meter)


def render_patch(prog, seed: int, patches: int = 1) -> np.ndarray:
    """The first ``patches`` x :data:`PATCH_S` seconds of the arranged loop at 16 kHz mono
    (looped if shorter)."""
    from musicapp.compose.arrange import arrange
    from musicapp.compose.preview import render_arrangement

    y = np.asarray(render_arrangement(arrange(prog, seed=seed), RATE), dtype=np.float32)
    mono = y.mean(axis=0) if y.ndim == 2 else y
    n = int(round(PATCH_S * RATE)) * patches
    if len(mono) < n:
        mono = np.tile(mono, int(np.ceil(n / max(len(mono), 1))))
    return mono[:n]


def judge_loop(y: np.ndarray) -> tuple[float, float]:
    """The fusion judge's (valence, arousal) of one rendered loop (16 kHz mono); NaN when the
    pipeline reports no valence/arousal (silence)."""
    from musicapp.models.va_fusion import apply_fusion
    from musicapp.pipeline import analyze_samples

    res = analyze_samples(y, RATE, device="cpu", threads=1)
    apply_fusion(res)  # idempotent: a no-op change when the pipeline already fused
    tags = res.tags or {}
    v, a = tags.get("valence"), tags.get("arousal")
    return (float("nan") if v is None else float(v), float("nan") if a is None else float(a))


def run(n: int = 500, *, seed: int = 0, model_path: str | None = None, chunk: int = 100,
        patches: int = 1, rows: tuple[str, ...] = ROWS, judge: str = "fusion",
        log: Callable[[str], None] = print) -> dict:
    """Make, render and judge ``n`` loops per row; return the correlations and the raw data."""
    if judge not in ("fusion", "tagger"):
        raise ValueError(f"judge must be 'fusion' or 'tagger', not {judge!r}")
    from musicapp.compose.generate import Constraints, Generator
    from musicapp.compose.model import ChordModel
    from musicapp.compose.rhythm import Meter
    from musicapp.compose.theory import MAJOR_TONICS, MINOR_TONICS, Key
    from musicapp.pipeline import get_engine

    t0 = time.time()
    gen = Generator(ChordModel.load(model_path))
    engine = get_engine("cpu", 1)
    rng = np.random.default_rng(seed)
    req = rng.uniform(-1, 1, size=(n, 2))
    tonics = rng.integers(12, size=n)
    meter = Meter(4, 4)
    measured = {row: np.zeros((n, 2)) for row in ROWS}
    patch_n = int(round(PATCH_S * RATE))
    acc = {row: np.zeros((n, 3)) for row in ROWS}  # sum valence, sum arousal, count
    for row in rows:
        row_rng = np.random.default_rng(seed + 1)
        for c0 in range(0, n, chunk):
            audio = []
            for i in range(c0, min(n, c0 + chunk)):
                v, a = float(req[i, 0]), float(req[i, 1])
                mode = "minor" if v < -0.1 else "major"
                key = Key((MINOR_TONICS if mode == "minor" else MAJOR_TONICS)[tonics[i]], mode)
                cons = Constraints(length=8, meter=meter)
                if row == "GRU alone":
                    prog = gen.generate(v, a, key, cons, seed=seed + i, rerank=False)
                elif row == "GRU + reranker":
                    prog = gen.generate(v, a, key, cons, seed=seed + i, candidates=8)
                else:
                    prog = random_loop(gen, key, 8, row_rng, v, a, meter)
                audio.append(render_patch(prog, seed + i, patches))
            if judge == "fusion":
                measured[row][c0:c0 + len(audio)] = [judge_loop(y) for y in audio]
                log(f"{row}: {min(n, c0 + chunk)}/{n} loops judged ({time.time() - t0:.0f} s)")
                continue
            y = np.concatenate(audio)
            res = engine.analyze(y).to_dict()
            segs = res.get("segments") or []
            for s in segs:  # patches of a loop are averaged
                k = int(round(float(s["start"]) * RATE / patch_n)) // patches
                if 0 <= k < len(audio) and s.get("valence") is not None:
                    acc[row][c0 + k] += (float(s["valence"]), float(s["arousal"]), 1.0)
            cnt = np.maximum(acc[row][c0:c0 + len(audio), 2:3], 1.0)
            measured[row][c0:c0 + len(audio)] = acc[row][c0:c0 + len(audio), :2] / cnt
            log(f"{row}: {min(n, c0 + chunk)}/{n} loops judged ({time.time() - t0:.0f} s)")
    out: dict = {"loops_per_row": n, "seed": seed, "patches": patches, "judge": judge,
                 "rows": {}}
    log(f"\nemotion steering, independent judge ({judge}), {n} loops per row, "
        f"{patches * PATCH_S:.1f} s of each")
    log(f"{'row':16s} {'rho valence':>12s} {'rho arousal':>12s}")
    for row in rows:
        ok = np.isfinite(measured[row]).all(axis=1)
        rv = spearman(req[ok, 0], measured[row][ok, 0])
        ra = spearman(req[ok, 1], measured[row][ok, 1])
        out["rows"][row] = {"rho_valence": rv, "rho_arousal": ra, "n_judged": int(ok.sum()),
                            "mean_measured": measured[row][ok].mean(axis=0).tolist()}
        log(f"{row:16s} {rv:12.3f} {ra:12.3f}")
    out["requested"] = req.tolist()
    out["measured"] = {k: measured[k].tolist() for k in rows}
    out["seconds"] = round(time.time() - t0, 1)
    return out
