"""Run the analysis (and optionally the baseline) over a rendered split and tabulate the scores."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.analysis.labels import PITCH_NAMES
from musicapp_lab.analysis.evalset import scoring
from musicapp_lab.analysis.evalset.dataset import load_split

METRICS = ["key_mirex", "key_timeline", "tempo_acc1", "tempo_acc2", "tempo_p", "beat_f", "downbeat_f",
           "meter_acc", "chord_majmin", "chord_sevenths"]


@dataclass
class Tally:
    """Accumulates per-piece scores; chord WCSR is pooled over all scored seconds."""

    values: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    chord_time: dict[str, list[float]] = field(
        default_factory=lambda: {"majmin": [0.0, 0.0], "sevenths": [0.0, 0.0]})
    seconds: float = 0.0
    audio_seconds: float = 0.0

    def add(self, metric: str, value: float) -> None:
        if value == value:  # skip NaN
            self.values[metric].append(float(value))

    def add_chords(self, overlap: dict[str, tuple[float, float]]) -> None:
        for k, (c, t) in overlap.items():
            self.chord_time[k][0] += c
            self.chord_time[k][1] += t

    def result(self) -> dict[str, tuple[float, int]]:
        out: dict[str, tuple[float, int]] = {}
        for m in METRICS:
            if m.startswith("chord_"):
                c, t = self.chord_time[m[len("chord_"):]]
                out[m] = (c / t if t > 0 else float("nan"), int(round(t)))
            else:
                v = self.values[m]
                out[m] = (float(np.mean(v)) if v else float("nan"), len(v))
        return out


def _score_ours(truth: dict, res: dict, tally: Tally) -> None:
    tally.add("key_mirex", scoring.key_score(truth, PITCH_NAMES.index(res["key"]["tonic"]),
                                             res["key"]["mode"]))
    tally.add("key_timeline", scoring.key_timeline_score(truth, res["key_timeline"]))
    if truth.get("tempo"):
        ts = scoring.tempo_scores(truth["tempo"], res["tempo_bpm"],
                                  res.get("_alt", res["tempo_bpm"] * 2))
        tally.add("tempo_acc1", ts["acc1"])
        tally.add("tempo_acc2", ts["acc2"])
        tally.add("tempo_p", ts["p_score"])
        tally.add("beat_f", scoring.beat_f(truth["beats"], res["beats"]))
        tally.add("downbeat_f", scoring.beat_f(truth["downbeats"], res["downbeats"]))
        tally.add("meter_acc", float(res["meter"] == truth["meter"]))
    chords = [(c["start"], c["end"], c["label"]) for c in res["chords"]]
    tally.add_chords(scoring.chord_overlap(truth["chords"], chords, truth["duration"]))


def _score_baseline(truth: dict, res: dict, tally: Tally) -> None:
    tally.add("key_mirex", scoring.key_score(truth, res["key"][0], res["key"][1]))
    if truth.get("tempo"):
        ts = scoring.tempo_scores(truth["tempo"], res["tempo_bpm"], res["tempo_bpm"] / 2)
        tally.add("tempo_acc1", ts["acc1"])
        tally.add("tempo_acc2", ts["acc2"])
        tally.add("tempo_p", ts["p_score"])
        tally.add("beat_f", scoring.beat_f(truth["beats"], res["beats"]))
    tally.add_chords(scoring.chord_overlap(truth["chords"], res["chords"], truth["duration"]))


def evaluate_split(split: str = "eval", cache_dir: Path | None = None, baseline: bool = True,
                   limit: int | None = None, sources: set[str] | None = None,
                   log: Callable[[str], None] | None = None,
                   analyze_kwargs: dict | None = None) -> dict:
    """Score ``analyze_music`` (and the baseline) on a built split.

    Returns ``{"ours": {group: Tally}, "baseline": {group: Tally}, "items": [...]}`` with groups
    "all" and each source ("generated", "chorale", "madrigal").
    """
    from musicapp.analysis import analyze_music
    from musicapp_lab.analysis.baseline import baseline_analysis

    items = load_split(split, cache_dir)
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
        analysis = analyze_music(y, sr, **(analyze_kwargs or {}))
        dt = time.perf_counter() - t0
        res = analysis.to_dict()
        res["_alt"] = analysis.extra.get("tempo_alternative", res["tempo_bpm"] * 2)
        for group in ("all", src):
            tally = ours.setdefault(group, Tally())
            _score_ours(it.truth, res, tally)
            tally.seconds += dt
            tally.audio_seconds += y.size / sr
        row = {"name": it.name, "source": src, "seconds": dt, "res": res, "truth": it.truth}
        if baseline:
            t0 = time.perf_counter()
            b = baseline_analysis(y, sr)
            bdt = time.perf_counter() - t0
            for group in ("all", src):
                tally = base.setdefault(group, Tally())
                _score_baseline(it.truth, b, tally)
                tally.seconds += bdt
                tally.audio_seconds += y.size / sr
            row["baseline"] = b
        rows.append(row)
        if log:
            k = res["key"]
            log(f"{it.name:32s} key {k['tonic']}:{k['mode']:5s} (true "
                f"{PITCH_NAMES[it.truth['key'][0]]}:{it.truth['key'][1]}) "
                f"tempo {res['tempo_bpm']:6.1f} (true {it.truth.get('tempo') or 0:6.1f}) "
                f"meter {res['meter']} (true {it.truth.get('meter')}) {dt:.2f}s")
    return {"ours": ours, "baseline": base, "items": rows}


LABELS = {
    "key_mirex": "Key MIREX weighted score",
    "key_timeline": "Local-key timeline (MIREX/time)",
    "tempo_acc1": "Tempo Acc1 (4%)",
    "tempo_acc2": "Tempo Acc2 (x2, x3, 4%)",
    "tempo_p": "Tempo P-score (mir_eval, 8%)",
    "beat_f": "Beat F-measure (70 ms)",
    "downbeat_f": "Downbeat F-measure (70 ms)",
    "meter_acc": "Meter accuracy (3/4 vs 4/4)",
    "chord_majmin": "Chords majmin WCSR",
    "chord_sevenths": "Chords sevenths WCSR",
}
TARGETS = {"key_mirex": 0.85, "tempo_acc1": 0.85, "tempo_acc2": 0.97, "beat_f": 0.85,
           "chord_majmin": 0.80, "chord_sevenths": 0.60}


def format_table(result: dict) -> str:
    """Plain-text table: one row per metric, columns ours/baseline per group."""
    groups = [g for g in ("all", "generated", "chorale", "madrigal") if g in result["ours"]]
    header = f"{'metric':32s} {'target':>6s} " + " ".join(
        f"{g + ' ours':>15s} {g + ' base':>15s}" for g in groups)
    lines = [header, "-" * len(header)]
    ours = {g: result["ours"][g].result() for g in groups}
    base = {g: result["baseline"][g].result() for g in groups if g in result["baseline"]}

    def cell(v: tuple[float, int] | None, metric: str) -> str:
        if v is None or v[0] != v[0]:
            return f"{'-':>15s}"
        unit = "s" if metric.startswith("chord_") else ""
        return f"{v[0]:7.3f} ({v[1]:4d}{unit})".rjust(15)

    for m in METRICS:
        target = f"{TARGETS[m]:.2f}" if m in TARGETS else ""
        cells = []
        for g in groups:
            cells.append(cell(ours[g][m], m))
            b = base.get(g, {}).get(m)
            cells.append(cell(b, m) if b is not None and b[1] > 0 else f"{'-':>15s}")
        lines.append(f"{LABELS[m]:32s} {target:>6s} " + " ".join(cells))
    t = result["ours"]["all"]
    lines.append("")
    lines.append(f"pieces: {len(result['items'])}, audio {t.audio_seconds / 60:.1f} min; "
                 f"analysis time {t.seconds:.1f} s "
                 f"({t.audio_seconds / max(t.seconds, 1e-9):.0f}x real time)")
    if "all" in result["baseline"]:
        b = result["baseline"]["all"]
        lines.append(f"baseline time {b.seconds:.1f} s "
                     f"({b.audio_seconds / max(b.seconds, 1e-9):.0f}x real time)")
    lines.append("(n) = pieces scored; chord rows give scored seconds. 'base' = librosa "
                 "beat_track + Krumhansl key + 24 triad templates on chroma_cqt.")
    return "\n".join(lines)
