"""Run the analysis (and the baseline) over rendered sets and tabulate the scores.

Scores per piece are kept so that every figure gets a bootstrap 95 % interval over pieces
(chord WCSR resamples pieces with their scored seconds). The realistic set (POP909, OpenEWLD)
and the old set (generated progressions, chorales, madrigals) are shown side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.pitch import note_pc
from musicapp_lab.analysis.evalset import scoring
from musicapp_lab.analysis.evalset.dataset import load_split

METRICS = ["key_mirex", "key_exact", "key_relative", "key_ece", "key_timeline", "tempo_abs_err",
           "tempo_acc1", "tempo_acc2", "tempo_p", "beat_f", "downbeat_f", "meter_acc",
           "chord_root", "chord_majmin", "chord_sevenths", "chord_bass"]
CHORD_KINDS = ("root", "majmin", "sevenths", "bass")
REALISTIC = ("pop909", "openewld")
OLD = ("generated", "chorale", "madrigal")
BOOTSTRAP = 1000


@dataclass
class Tally:
    """Per-piece scores of one method on one group of pieces."""

    values: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    chords: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {k: [] for k in CHORD_KINDS})
    calib: list[tuple[float, float]] = field(default_factory=list)  # (confidence, correct)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    pieces: int = 0

    def add(self, metric: str, value: float) -> None:
        """Record one piece's value (NaN skipped)."""
        if value == value:
            self.values[metric].append(float(value))

    def add_chords(self, overlap: dict[str, tuple[float, float]]) -> None:
        """Record one piece's (correct, scored) chord seconds."""
        for k, ct in overlap.items():
            self.chords[k].append(ct)

    def result(self, rng: np.random.Generator | None = None) -> dict[str, tuple]:
        """metric -> (value, n, low, high) with a bootstrap 95 % interval over pieces."""
        rng = rng or np.random.default_rng(0)
        out: dict[str, tuple] = {}
        for m in METRICS:
            if m.startswith("chord_"):
                ct = np.array(self.chords[m[len("chord_"):]] or np.zeros((0, 2)), dtype=float)
                out[m] = _pooled(ct, rng)
            elif m == "key_ece":
                out[m] = _ece_with_ci(self.calib, rng)
            elif m == "tempo_abs_err":
                out[m] = _stat(np.array(self.values[m]), np.median, rng)
            else:
                out[m] = _stat(np.array(self.values[m]), np.mean, rng)
        return out


def _stat(v: np.ndarray, fn: Callable, rng: np.random.Generator) -> tuple:
    if v.size == 0:
        return (float("nan"), 0, float("nan"), float("nan"))
    boots = [fn(v[rng.integers(0, v.size, v.size)]) for _ in range(BOOTSTRAP)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return (float(fn(v)), int(v.size), float(lo), float(hi))


def _pooled(ct: np.ndarray, rng: np.random.Generator) -> tuple:
    if ct.shape[0] == 0 or ct[:, 1].sum() <= 0:
        return (float("nan"), 0, float("nan"), float("nan"))
    boots = []
    for _ in range(BOOTSTRAP):
        s = ct[rng.integers(0, ct.shape[0], ct.shape[0])]
        boots.append(s[:, 0].sum() / max(s[:, 1].sum(), 1e-9))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return (float(ct[:, 0].sum() / ct[:, 1].sum()), int(round(ct[:, 1].sum())), float(lo),
            float(hi))


def expected_calibration_error(calib: list[tuple[float, float]], bins: int = 10) -> float:
    """ECE: |accuracy - confidence| averaged over equal-width confidence bins (weighted)."""
    if not calib:
        return float("nan")
    c = np.array(calib, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(c[:, 0], edges) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            ece += sel.mean() * abs(c[sel, 1].mean() - c[sel, 0].mean())
    return float(ece)


def _ece_with_ci(calib: list[tuple[float, float]], rng: np.random.Generator) -> tuple:
    if not calib:
        return (float("nan"), 0, float("nan"), float("nan"))
    arr = list(calib)
    boots = [expected_calibration_error([arr[i] for i in rng.integers(0, len(arr), len(arr))])
             for _ in range(200)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return (expected_calibration_error(arr), len(arr), float(lo), float(hi))


def _score_key(truth: dict, key: tuple[int, str] | None, confidence: float, tally: Tally) -> None:
    if truth.get("key") is None:  # no reliable key truth (OpenEWLD without a notated mode)
        return
    tk = (int(truth["key"][0]), truth["key"][1])
    if key is None:
        tally.add("key_mirex", 0.0)
        tally.add("key_exact", 0.0)
        tally.add("key_relative", 0.0)
        tally.calib.append((0.0, 0.0))
        return
    tally.add("key_mirex", scoring.key_score(truth, key[0], key[1]))
    tally.add("key_exact", float(key == tk))
    rel = ((tk[0] + 9) % 12, "minor") if tk[1] == "major" else ((tk[0] + 3) % 12, "major")
    tally.add("key_relative", float(key == rel))
    tally.calib.append((float(confidence), float(key == tk)))


def _score_tempo(truth: dict, bpm: float | None, alt: float | None, tally: Tally) -> None:
    if not truth.get("tempo"):
        return
    est = float(bpm) if bpm else 0.0
    ts = scoring.tempo_scores(truth["tempo"], est, float(alt) if alt else est * 2)
    tally.add("tempo_acc1", ts["acc1"])
    tally.add("tempo_acc2", ts["acc2"])
    tally.add("tempo_p", ts["p_score"])
    if truth.get("constant_tempo", True):
        tally.add("tempo_abs_err", abs(est - truth["tempo"]) if est else float("inf"))


def _score_ours(truth: dict, res: dict, tally: Tally) -> None:
    k = res.get("key")
    key = (note_pc(k["tonic"]), k["mode"]) if k else None
    _score_key(truth, key, k["confidence"] if k else 0.0, tally)
    tally.add("key_timeline", scoring.key_timeline_score(truth, res["key_timeline"]))
    if truth.get("tempo"):
        cands = res.get("tempo_candidates") or []
        alt = max((c for c in cands if c["relation"] != "tactus"), key=lambda c: c["score"],
                  default=None)
        _score_tempo(truth, res.get("tempo_bpm"), alt["bpm"] if alt else None, tally)
        tally.add("beat_f", scoring.beat_f(truth["beats"], res["beats"]))
        tally.add("downbeat_f", scoring.beat_f(truth["downbeats"], res["downbeats"]))
        tally.add("meter_acc", float(res["meter"] == truth["meter"]))
    chords = [(c["start"], c["end"], c["label"]) for c in res["chords"]]
    tally.add_chords(scoring.chord_overlap(truth["chords"], chords, truth["duration"]))


def _score_baseline(truth: dict, res: dict, tally: Tally) -> None:
    _score_key(truth, (int(res["key"][0]), res["key"][1]), res.get("key_confidence", 1.0), tally)
    if truth.get("tempo"):
        _score_tempo(truth, res["tempo_bpm"], res["tempo_bpm"] / 2, tally)
        tally.add("beat_f", scoring.beat_f(truth["beats"], res["beats"]))
    tally.add_chords(scoring.chord_overlap(truth["chords"], res["chords"], truth["duration"]))


def _groups(source: str) -> tuple[str, ...]:
    family = "realistic" if source in REALISTIC else "old"
    return (family, source)


def evaluate_split(split: str | list[str] = "eval", cache_dir: Path | None = None,
                   baseline: bool = True, limit: int | None = None,
                   sources: set[str] | None = None, log: Callable[[str], None] | None = None,
                   analyze_kwargs: dict | None = None) -> dict:
    """Score ``analyze_music`` (and the baseline) on built splits (``"eval"``, ``"eval-real"``).

    Returns ``{"ours": {group: Tally}, "baseline": {group: Tally}, "items": [...]}`` with groups
    "realistic", "old" and each source.
    """
    from musicapp.analysis import analyze_music
    from musicapp_lab.analysis.baseline import baseline_analysis

    splits = [split] if isinstance(split, str) else list(split)
    items = []
    for s in splits:
        items += load_split(s, cache_dir)
    if sources:
        items = [it for it in items if it.truth["source"] in sources]
    if limit:
        items = items[:limit]
    ours: dict[str, Tally] = {}
    base: dict[str, Tally] = {}
    rows = []
    for it in items:
        y, sr = it.load()
        src = it.truth["source"]
        t0 = time.perf_counter()
        res = analyze_music(y, sr, **(analyze_kwargs or {})).to_dict()
        dt = time.perf_counter() - t0
        for group in _groups(src):
            tally = ours.setdefault(group, Tally())
            _score_ours(it.truth, res, tally)
            tally.seconds += dt
            tally.audio_seconds += y.size / sr
            tally.pieces += 1
        row = {"name": it.name, "source": src, "seconds": dt, "res": res, "truth": it.truth}
        if baseline:
            t0 = time.perf_counter()
            b = baseline_analysis(y, sr)
            bdt = time.perf_counter() - t0
            for group in _groups(src):
                tally = base.setdefault(group, Tally())
                _score_baseline(it.truth, b, tally)
                tally.seconds += bdt
                tally.audio_seconds += y.size / sr
                tally.pieces += 1
            row["baseline"] = b
        rows.append(row)
        if log:
            k = res.get("key") or {}
            tk = it.truth.get("key")
            log(f"{it.name:24s} key {k.get('name', '-'):10s} {k.get('confidence', 0):.2f} (true "
                f"{f'{tk[0]}:{tk[1]}' if tk else '-'}) tempo {res.get('tempo_bpm') or 0:6.1f} "
                f"(true {it.truth.get('tempo') or 0:6.1f}) meter {res['meter']} "
                f"(true {it.truth.get('meter')}) {dt:.2f}s")
    return {"ours": ours, "baseline": base, "items": rows}


LABELS = {
    "key_mirex": "Key MIREX weighted score",
    "key_exact": "Key exact",
    "key_relative": "Key = relative of truth (share)",
    "key_ece": "Key confidence ECE (10 bins)",
    "key_timeline": "Local-key timeline (MIREX/time)",
    "tempo_abs_err": "Tempo median |error| BPM (const)",
    "tempo_acc1": "Tempo Acc1 (4%)",
    "tempo_acc2": "Tempo Acc2 (x2, x3, 4%)",
    "tempo_p": "Tempo P-score (mir_eval, 8%)",
    "beat_f": "Beat F-measure (70 ms)",
    "downbeat_f": "Downbeat F-measure (70 ms)",
    "meter_acc": "Meter accuracy (3/4 vs 4/4)",
    "chord_root": "Chords root WCSR",
    "chord_majmin": "Chords majmin WCSR",
    "chord_sevenths": "Chords sevenths WCSR",
    "chord_bass": "Chords majmin_inv (bass) WCSR",
}
#: issue 11 targets ("<" marks a maximum)
TARGETS = {"key_mirex": ">=0.90", "key_relative": "<=0.05", "key_ece": "<=0.10",
           "tempo_abs_err": "<=0.2", "tempo_acc1": ">=0.95", "beat_f": ">=0.90",
           "downbeat_f": ">=0.80", "chord_majmin": ">=0.85", "chord_sevenths": ">=0.70"}


def format_table(result: dict, groups: tuple[str, ...] | None = None) -> str:
    """Plain-text table: one row per metric, columns ours/baseline per group, with the bootstrap
    95 % interval over pieces."""
    order = ("realistic", "old", "pop909", "openewld", "generated", "chorale", "madrigal")
    groups = groups or tuple(g for g in order if g in result["ours"])
    w = 22
    header = f"{'metric':34s} {'target':>7s} " + " ".join(
        f"{g + ' ours':>{w}s} {g + ' base':>{w}s}" for g in groups)
    lines = [header, "-" * len(header)]
    ours = {g: result["ours"][g].result() for g in groups if g in result["ours"]}
    base = {g: result["baseline"][g].result() for g in groups if g in result["baseline"]}

    def cell(v: tuple | None, metric: str) -> str:
        if v is None or v[0] != v[0] or v[1] == 0:
            return f"{'-':>{w}s}"
        if metric == "tempo_abs_err":
            return f"{v[0]:6.2f} [{v[2]:.2f},{v[3]:.2f}]".rjust(w)
        return f"{v[0]:5.3f} [{v[2]:.2f},{v[3]:.2f}]".rjust(w)

    for m in METRICS:
        cells = []
        for g in groups:
            cells.append(cell(ours.get(g, {}).get(m), m))
            cells.append(cell(base.get(g, {}).get(m), m))
        lines.append(f"{LABELS[m]:34s} {TARGETS.get(m, ''):>7s} " + " ".join(cells))
    lines.append("")
    for g in groups:
        if g not in result["ours"]:
            continue
        t = result["ours"][g]
        n = t.pieces or len(t.values["key_mirex"])
        n_key = len(t.values["key_mirex"])
        keyed = f" ({n_key} with key truth)" if n_key != n else ""
        msg = (f"{g}: {n} pieces{keyed}, {t.audio_seconds / 60:.1f} min audio; ours "
               f"{t.audio_seconds / max(t.seconds, 1e-9):.0f}x real time")
        if g in result["baseline"]:
            b = result["baseline"][g]
            msg += f", baseline {b.audio_seconds / max(b.seconds, 1e-9):.0f}x real time"
        lines.append(msg)
    lines.append("[lo,hi] = bootstrap 95% interval over pieces. 'base' = librosa beat_track + "
                 "Krumhansl key + 24 triad templates on chroma_cqt.")
    return "\n".join(lines)


def reliability_diagram(calib: list[tuple[float, float]], path: Path, bins: int = 10,
                        title: str = "Key confidence reliability", *, force: bool = False) -> Path:
    """Write a reliability diagram (accuracy per confidence bin against the diagonal) as PNG
    (atomically; an existing ``path`` only with ``force``)."""
    from musicapp_lab.analysis import reliability_plot as rp

    c = np.array(calib, dtype=float).reshape(-1, 2)
    fig, (ax,) = rp.figure(1, (4.5, 4.5))
    rp.draw_panel(ax, [rp.Curve(c[:, 0], c[:, 1], "musicapp key", counts=True)],
                  title=f"{title}\nECE {expected_calibration_error(calib, bins):.3f}, "
                        f"{len(calib)} pieces",
                  xlabel="stated confidence", ylabel="share of keys exactly right", bins=bins)
    return rp.save(fig, path, force=force)
