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

The judge listens to the first ``patches`` x 2.992 s of each rendered loop (three patches, 9 s,
is the setting to report: one patch was too short to hear even the tempo). Judges:

* ``fusion`` and ``fusion-no-chords`` (one pipeline pass scores both; ``judge=`` picks which is
  printed first and fills the top-level ``rows``): each loop goes through the product pipeline
  (:func:`musicapp.pipeline.analyze_samples`: tagger + key/tempo/chord analysis) and
  :func:`musicapp.models.va_fusion.fuse`.

  - ``fusion``: the app's shipped valence/arousal model as it is. Its valence line contains the
    descriptor ``chord_major`` (duration share of major-type minus minor-type *recognised*
    chords, weight +0.5) - the same rule as the reranker (rule B) applied to the chords the
    analysis hears, so with this judge the measurement and the reranker share a rule.
  - ``fusion-no-chords`` (:func:`no_chords_model`): the shipped model with ``chord_major``'s
    weight set to 0 on both axes; every other weight, mean, scale and the bias exactly as
    shipped; nothing fitted or tuned on rendered loops. Its percentile table is recomputed with
    the shipped procedure (:func:`musicapp.models.calibration.fit_quantiles` of ``z``) on the
    same reference collection (the cached analyses of the training and validation soundtrack
    packages under ``data/va_fusion/analyses``; no labels used) when that cache reproduces the
    shipped table exactly; otherwise the shipped table is kept and the run says so. Arousal has
    no ``chord_major`` weight, so its ``z`` and table are the shipped ones. The table matters
    a little even for rank statistics: a loop's value is the mean of its 3-s segments'
    percentiles, and a mean of monotone transforms is not rank-invariant.

  Both judges' weights were fitted (in fact: left at documented priors) on weak labels from the
  titles of game soundtracks, never on rendered loops or on the composer's rules.
* ``tagger``: the tagger's own valence/arousal head alone (``musicapp.pipeline.get_engine``),
  patches averaged; loops are laid end to end so one call scores many (the judge of the first
  report, which did not hear major vs minor).

Reported per judge and row: Spearman's rho between requested and measured valence, and arousal,
and valence within the major-key and within the minor-key loops, each with a 95 % percentile
bootstrap interval over loops (:data:`N_BOOT` resamples, fixed seed). ``records_path`` saves one
record per loop (requested values, key, chords, each judge's measured values, the tagger's own
values, the descriptors of the track and of each 3-s segment) so the figures can be recomputed
without rendering again (:func:`figures_from_records`).

Three rules, on purpose: the training labels come from the songs' annotated mode and measured
tempo (``musicapp_lab.compose.dataset``, rule A); the reranker scores chord qualities
(``labels.derive_valence``, rule B); the ``fusion-no-chords`` judge listens to audio (rule C: the
tagger's values and mood tags, the key analysis' major-vs-minor, tempo, loudness and chord rate;
no chord-quality share). Caveat: every row's key is minor when the requested valence < -0.1, and
the tempo follows arousal, so part of what the judge hears is set by the shared product path,
not by the chords the row chose; the random row measures exactly that part, and the within-mode
figures remove the mode switch.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from musicapp_lab.cli._out import refuse_existing, write_json

PATCH_S = 2.992
RATE = 16000
ROWS = ("GRU alone", "GRU + reranker", "random in-key")
#: Judges a run can be asked for; the two fusion judges are always scored together.
JUDGES = ("fusion", "fusion-no-chords", "tagger")
FUSION_JUDGES = ("fusion", "fusion-no-chords")
#: Bootstrap resamples (over loops) for each interval, and their fixed seed.
N_BOOT = 1000
BOOT_SEED = 0
#: Requested valence below this gives a minor key (``Emotion.suggested_mode``).
MINOR_BELOW = -0.1


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN for fewer than 3 pairs or a
    constant input."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def bootstrap_spearman(x: np.ndarray, y: np.ndarray, n_boot: int = N_BOOT,
                       seed: int = BOOT_SEED) -> tuple[float, float]:
    """95 % percentile bootstrap interval of :func:`spearman` over resampled pairs (NaN, NaN
    for fewer than 3 pairs). Resamples with a constant side are skipped."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3:
        return math.nan, math.nan
    idx = np.random.default_rng(seed).integers(len(x), size=(n_boot, len(x)))
    rx, ry = rankdata(x[idx], axis=1), rankdata(y[idx], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    ok = den > 0
    if not ok.any():
        return math.nan, math.nan
    rho = (rx * ry).sum(axis=1)[ok] / den[ok]
    lo, hi = np.percentile(rho, [2.5, 97.5])
    return float(lo), float(hi)


# --------------------------------------------------------------------------- the judges


def reference_segments() -> np.ndarray | None:
    """Descriptor rows (S, F) of the fusion model's reference collection - the 3-s segments of
    the cached analyses of the training and validation packages (``data/va_fusion/analyses``,
    made by ``musicapp_lab.models.emotion_features``; no labels are used) - or None when the
    cache is absent."""
    from musicapp_lab.models.emotion_features import OUT, load_all
    from musicapp_lab.models.emotion_fusion import TRAIN_SPLITS, load_tracks

    if not Path(OUT).is_dir() or not any(Path(OUT).glob("*.json")):
        return None
    tracks = [t for t in load_tracks(load_all()) if t.split in TRAIN_SPLITS]
    return np.concatenate([t.rows()[1] for t in tracks]) if tracks else None


def no_chords_model(base: Any = None, segments: np.ndarray | None = None
                    ) -> tuple[Any, str]:
    """(model, calibration note): ``base`` (default: the shipped fusion model) with the weight
    of ``chord_major`` set to 0 on both axes, all else as shipped.

    The percentile table is recomputed on ``segments`` (descriptor rows of the reference
    collection, :func:`reference_segments`) only when recomputing the *shipped* model's table on
    them reproduces the shipped table (so they are the reference collection); otherwise the
    shipped table is kept. The note says which."""
    from musicapp.models.calibration import fit_quantiles
    from musicapp.models.va_fusion import FusionModel, load_model

    m = base if base is not None else load_model()
    weight = m.weight.copy()
    weight[:, list(m.features).index("chord_major")] = 0.0
    q, note = m.quantiles, "shipped percentile table (no reference segments available)"
    if segments is not None and len(segments):
        x = segments[:, [_feature_index(f) for f in m.features]]
        same = np.abs(fit_quantiles(m.z(x)).astype(np.float64) - m.quantiles).max()
        if same <= 1e-6:
            pre = FusionModel(m.features, m.mean, m.scale, weight, m.bias, m.quantiles, m.config)
            q = fit_quantiles(pre.z(x)).astype(np.float64)
            note = (f"percentile table recomputed on the reference collection "
                    f"({len(x)} segments; the shipped table reproduces exactly there)")
        else:
            note = (f"shipped percentile table (the cached segments do not reproduce it: "
                    f"max difference {same:.3g})")
    config = {**m.config, "variant": "no chord_major", "calibration": note}
    return FusionModel(m.features, m.mean, m.scale, weight, m.bias, q, config), note


def _feature_index(name: str) -> int:
    from musicapp.models.va_fusion import FEATURES

    return FEATURES.index(name)


def fusion_judges(segments: np.ndarray | None = None) -> tuple[dict[str, Any], str]:
    """({"fusion": shipped model, "fusion-no-chords": :func:`no_chords_model`}, calibration note
    of the latter)."""
    from musicapp.models.va_fusion import load_model

    shipped = load_model()
    nc, note = no_chords_model(shipped, segments)
    return {"fusion": shipped, "fusion-no-chords": nc}, note


def judge_parts(tags: dict[str, Any] | None, music: dict[str, Any] | None,
                level_dbfs: float | None, duration_s: float,
                models: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Each model's (valence, arousal) of one analysis (the tagger and music parts of a
    :class:`~musicapp.track_analysis.TrackAnalysis`, fused or not); NaN where the analysis has no
    tagger values (silence)."""
    from musicapp.models.va_fusion import fuse

    out = {}
    for name, model in models.items():
        f = fuse(tags, music, level_dbfs, duration_s, model)
        out[name] = (math.nan, math.nan) if f is None else (float(f["valence"]),
                                                            float(f["arousal"]))
    return out


def judge_loop_all(y: np.ndarray, models: dict[str, Any]) -> tuple[dict[str, tuple[float, float]],
                                                                    dict[str, Any]]:
    """One pipeline pass over a rendered loop (16 kHz mono): (each fusion judge's
    (valence, arousal), a record of what was heard - the tagger's own values, the detected key
    and tempo, the descriptors of the track and of each 3-s segment)."""
    from musicapp.models.va_fusion import FEATURES, descriptors
    from musicapp.pipeline import analyze_samples

    res = analyze_samples(y, RATE, device="cpu", threads=1)
    if res.status != "ok" or not res.tags:
        nan = (math.nan, math.nan)
        return {k: nan for k in models}, {"status": res.status}
    measured = judge_parts(res.tags, res.music, res.level_dbfs, res.duration_s, models)
    track, segs = descriptors(res.tags, res.music, res.level_dbfs, res.duration_s)
    music = res.music or {}
    key = music.get("key")
    record = {
        "status": res.status,
        "tagger": [_num(track[FEATURES.index("tagger_valence")]),
                   _num(track[FEATURES.index("tagger_arousal")])],
        "detected_key": key if isinstance(key, str | dict | None) else str(key),
        "detected_tempo_bpm": _num(music.get("tempo_bpm")),
        "detected_chords": [str(c.get("label")) for c in music.get("chords") or []
                            if isinstance(c, dict)],
        "descriptors": {f: _num(v) for f, v in zip(FEATURES, track, strict=True)},
        "segment_descriptors": [[_num(v) for v in row] for row in segs],
    }
    return measured, record


def judge_loop(y: np.ndarray) -> tuple[float, float]:
    """The shipped fusion judge's (valence, arousal) of one rendered loop (16 kHz mono); NaN
    when the pipeline reports no valence/arousal (silence)."""
    from musicapp.models.va_fusion import load_model

    return judge_loop_all(y, {"fusion": load_model()})[0]["fusion"]


def _num(v: Any) -> float | None:
    """A JSON-safe number (None for missing or non-finite)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# --------------------------------------------------------------------------- loops


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


def _loop_record(row: str, i: int, req: tuple[float, float], prog) -> dict[str, Any]:
    from musicapp.compose.arrange import tempo_for_arousal
    from musicapp.compose.labels import derive_valence

    toks = [t.token for t in prog.tokens]
    return {"row": row, "index": i, "requested": [req[0], req[1]],
            "key": f"{prog.key.tonic} {prog.key.mode}", "mode": prog.key.mode,
            "tempo_bpm": tempo_for_arousal(req[1]), "chords": prog.names, "tokens": toks,
            "beats": [float(b) for b in prog.beats],
            "rule_b_valence": derive_valence(toks, list(prog.beats), prog.key.mode)}


# --------------------------------------------------------------------------- figures


def row_figures(requested: np.ndarray, measured: np.ndarray, minor: np.ndarray,
                n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> dict[str, Any]:
    """Figures of one row under one judge: rho valence, rho arousal, valence rho within the
    major-key and within the minor-key loops (each with a bootstrap interval), the mean
    measured valence of minor and major loops, and the number of loops judged."""
    requested, measured = np.asarray(requested, float), np.asarray(measured, float)
    minor = np.asarray(minor, bool)
    ok = np.isfinite(measured).all(axis=1)
    out: dict[str, Any] = {"n_judged": int(ok.sum())}
    subsets = {"valence": (ok, 0), "arousal": (ok, 1), "valence_within_major": (ok & ~minor, 0),
               "valence_within_minor": (ok & minor, 0)}
    for name, (sel, ax) in subsets.items():
        x, y = requested[sel, ax], measured[sel, ax]
        out[f"rho_{name}"] = spearman(x, y)
        out[f"ci_{name}"] = list(bootstrap_spearman(x, y, n_boot, seed))
    out["mean_measured"] = measured[ok].mean(axis=0).tolist() if ok.any() else [None, None]
    out["mean_valence_minor_major"] = [
        float(measured[ok & m, 0].mean()) if (ok & m).any() else None for m in (minor, ~minor)]
    return out


def figures_from_records(records: Iterable[dict[str, Any]], n_boot: int = N_BOOT,
                         seed: int = BOOT_SEED) -> dict[str, dict[str, Any]]:
    """{judge: {row: :func:`row_figures`}} from per-loop records (as saved by :func:`run`),
    rows in :data:`ROWS` order, loops in index order."""
    by: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        for judge in r.get("measured", {}):
            by.setdefault(judge, {}).setdefault(r["row"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for judge in [j for j in JUDGES if j in by]:
        out[judge] = {}
        for row in [r for r in ROWS if r in by[judge]]:
            recs = sorted(by[judge][row], key=lambda r: r["index"])
            req = np.array([r["requested"] for r in recs], float)
            meas = np.array([[np.nan if v is None else v for v in r["measured"][judge]]
                             for r in recs], float)
            minor = np.array([r["mode"] == "minor" for r in recs])
            out[judge][row] = row_figures(req, meas, minor, n_boot, seed)
    return out


def paired_difference(requested: np.ndarray, measured_a: np.ndarray, measured_b: np.ndarray,
                      n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> dict[str, list[float]]:
    """rho(row a) - rho(row b) per axis for two rows judged on the *same* requested points (loop
    i of both rows has the same request and key), with a 95 % paired bootstrap interval (the
    same resampled loops for both rows): {"valence": [delta, lo, hi], "arousal": [...]}."""
    from scipy.stats import rankdata

    req = np.asarray(requested, float)
    ma, mb = np.asarray(measured_a, float), np.asarray(measured_b, float)
    ok = np.isfinite(ma).all(axis=1) & np.isfinite(mb).all(axis=1)
    req, ma, mb = req[ok], ma[ok], mb[ok]
    idx = np.random.default_rng(seed).integers(len(req), size=(n_boot, len(req)))

    def rho_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        rx, ry = rankdata(x, axis=-1), rankdata(y, axis=-1)
        rx = rx - rx.mean(axis=-1, keepdims=True)
        ry = ry - ry.mean(axis=-1, keepdims=True)
        den = np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))
        return np.where(den > 0, (rx * ry).sum(axis=-1) / np.where(den > 0, den, 1.0), np.nan)

    out = {}
    for ax, name in enumerate(("valence", "arousal")):
        d = spearman(req[:, ax], ma[:, ax]) - spearman(req[:, ax], mb[:, ax])
        boot = (rho_rows(req[idx, ax], ma[idx, ax]) - rho_rows(req[idx, ax], mb[idx, ax]))
        lo, hi = np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (
            math.nan, math.nan)
        out[name] = [float(d), float(lo), float(hi)]
    return out


def differences_from_records(records: Iterable[dict[str, Any]], n_boot: int = N_BOOT,
                             seed: int = BOOT_SEED) -> dict[str, dict[str, Any]]:
    """{judge: {"GRU alone - random in-key": :func:`paired_difference`, "GRU + reranker -
    random in-key": ...}} for the rows present (loops paired by index)."""
    recs = list(records)
    out: dict[str, dict[str, Any]] = {}
    for judge in JUDGES:
        by = {row: {r["index"]: r for r in recs
                    if r["row"] == row and judge in r.get("measured", {})} for row in ROWS}
        for row in ROWS[:2]:
            common = sorted(set(by[row]) & set(by[ROWS[2]]))
            if len(common) < 3:
                continue
            req = np.array([by[row][i]["requested"] for i in common], float)
            a, b = (np.array([[np.nan if v is None else v for v in by[r][i]["measured"][judge]]
                              for i in common], float) for r in (row, ROWS[2]))
            out.setdefault(judge, {})[f"{row} - {ROWS[2]}"] = paired_difference(
                req, a, b, n_boot, seed)
    return out


def format_differences(diffs: dict[str, dict[str, Any]]) -> str:
    """Lines of the paired differences of rho against the random row."""
    lines = []
    for judge, rows in diffs.items():
        for name, d in rows.items():
            cells = "  ".join(f"{ax} {v[0]:+.3f} [{v[1]:+.2f}, {v[2]:+.2f}]"
                              for ax, v in d.items())
            lines.append(f"{judge:17s} {name:31s} {cells}")
    return "\n".join(lines)


def load_records(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The per-loop records of one or more record files (rows may come from separate runs).

    Raises:
        MusicappError: a file is missing or not a record file.
    """
    from musicapp.errors import MusicappError

    recs: list[dict[str, Any]] = []
    for p in paths:
        if not Path(p).is_file():  # a FIFO or device would block or never end
            what = "missing" if not Path(p).exists() else "not a regular file"
            raise MusicappError(f"{p}: {what}; expected a chord-emotion record file")
        try:
            data = json.loads(Path(p).read_text(encoding="utf-8"))
            loops = data["loops"]
            if not isinstance(loops, list):
                raise TypeError("'loops' is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MusicappError(f"{p}: not a chord-emotion record file ({exc})") from exc
        recs += loops
    return recs


def format_table(figs: dict[str, dict[str, Any]]) -> str:
    """The report table: per judge and row, each rho with its 95 % interval."""
    def cell(r: dict[str, Any], k: str) -> str:
        v, (lo, hi) = r[f"rho_{k}"], r[f"ci_{k}"]
        return f"{v:+.3f} [{lo:+.2f}, {hi:+.2f}]"

    cols = ("valence", "arousal", "valence_within_major", "valence_within_minor")
    head = ("rho valence", "rho arousal", "valence in major", "valence in minor")
    lines = [f"{'judge':17s} {'row':15s} {'n':>4s} " + " ".join(f"{h:>22s}" for h in head)]
    for judge, rows in figs.items():
        for row, r in rows.items():
            lines.append(f"{judge:17s} {row:15s} {r['n_judged']:4d} "
                         + " ".join(f"{cell(r, c):>22s}" for c in cols))
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run


def run(n: int = 500, *, seed: int = 0, model_path: str | None = None, chunk: int = 100,
        patches: int = 1, rows: tuple[str, ...] = ROWS, judge: str = "fusion",
        records_path: str | Path | None = None, n_boot: int = N_BOOT,
        log: Callable[[str], None] = print, force: bool = False) -> dict:
    """Make, render and judge ``n`` loops per row; return the correlations and the raw data.

    ``judge="fusion"`` or ``"fusion-no-chords"`` scores every loop with both fusion judges in
    one pipeline pass (the named one fills the top-level ``rows``/``measured``); ``"tagger"``
    uses the tagger's head alone. ``records_path``: a new JSON file for the per-loop records
    (an existing one is replaced only with ``force``).

    Raises:
        ValueError: unknown judge or row.
        FileExistsRefusal: ``records_path`` exists and not ``force`` (checked before any work).
    """
    if judge not in JUDGES:
        raise ValueError(f"judge must be one of {', '.join(JUDGES)}, not {judge!r}")
    bad = [r for r in rows if r not in ROWS]
    if bad:
        raise ValueError(f"unknown row(s) {bad}; rows are {', '.join(ROWS)}")
    rec_path = Path(records_path) if records_path is not None else None
    if rec_path is not None:
        refuse_existing(rec_path, force=force)
    from musicapp.compose.generate import Constraints, Generator
    from musicapp.compose.model import ChordModel
    from musicapp.compose.rhythm import Meter
    from musicapp.compose.theory import MAJOR_TONICS, MINOR_TONICS, Key
    from musicapp.pipeline import get_engine

    t0 = time.time()
    gen = Generator(ChordModel.load(model_path))
    calibration = None
    if judge == "tagger":
        engine, models, judges = get_engine("cpu", 1), {}, ("tagger",)
    else:
        engine = None
        models, calibration = fusion_judges(reference_segments())
        judges = (judge, *[j for j in FUSION_JUDGES if j != judge])
        log(f"fusion-no-chords: {calibration}")
    rng = np.random.default_rng(seed)
    req = rng.uniform(-1, 1, size=(n, 2))
    tonics = rng.integers(12, size=n)
    meter = Meter(4, 4)
    patch_n = int(round(PATCH_S * RATE))
    records: list[dict[str, Any]] = []
    for row in rows:
        row_rng = np.random.default_rng(seed + 1)
        acc = np.zeros((n, 3))  # tagger judge: sum valence, sum arousal, count
        for c0 in range(0, n, chunk):
            audio, recs = [], []
            for i in range(c0, min(n, c0 + chunk)):
                v, a = float(req[i, 0]), float(req[i, 1])
                mode = "minor" if v < MINOR_BELOW else "major"
                key = Key((MINOR_TONICS if mode == "minor" else MAJOR_TONICS)[tonics[i]], mode)
                cons = Constraints(length=8, meter=meter)
                if row == "GRU alone":
                    prog = gen.generate(v, a, key, cons, seed=seed + i, rerank=False)
                elif row == "GRU + reranker":
                    prog = gen.generate(v, a, key, cons, seed=seed + i, candidates=8)
                else:
                    prog = random_loop(gen, key, 8, row_rng, v, a, meter)
                audio.append(render_patch(prog, seed + i, patches))
                recs.append(_loop_record(row, i, (v, a), prog))
            if judge != "tagger":
                for y, rec in zip(audio, recs, strict=True):
                    measured, heard = judge_loop_all(y, models)
                    rec["measured"] = {j: [_num(x) for x in measured[j]] for j in judges}
                    rec.update(heard)
            else:
                res = engine.analyze(np.concatenate(audio)).to_dict()
                for s in res.get("segments") or []:  # patches of a loop are averaged
                    k = int(round(float(s["start"]) * RATE / patch_n)) // patches
                    if 0 <= k < len(audio) and s.get("valence") is not None:
                        acc[c0 + k] += (float(s["valence"]), float(s["arousal"]), 1.0)
                for k, rec in enumerate(recs):
                    s = acc[c0 + k]
                    rec["measured"] = {"tagger": [_num(s[0] / s[2]) if s[2] else None,
                                                  _num(s[1] / s[2]) if s[2] else None]}
            records += recs
            log(f"{row}: {min(n, c0 + chunk)}/{n} loops judged ({time.time() - t0:.0f} s)")
    figs = figures_from_records(records, n_boot=n_boot)
    figs = {j: figs[j] for j in judges if j in figs}
    log(f"\nemotion steering, {n} loops per row, {patches * PATCH_S:.1f} s of each; Spearman "
        f"rho of requested vs measured, [95 % bootstrap interval, {n_boot} resamples over loops]")
    log(format_table(figs))
    diffs = differences_from_records(records, n_boot=n_boot)
    if diffs:
        log("\npaired difference of rho against the random row (same requests), "
            "[95 % paired bootstrap interval]")
        log(format_differences(diffs))

    def measured_of(j: str, row: str) -> list[list[float | None]]:
        return [r["measured"][j] for r in records if r["row"] == row]

    out: dict[str, Any] = {
        "loops_per_row": n, "seed": seed, "patches": patches, "judge": judge,
        "judges": {j: {"rows": figs[j]} for j in figs},
        "rows": {row: figs[judge][row] for row in rows},
        "differences": diffs,
        "requested": req.tolist(),
        "measured": {row: measured_of(judge, row) for row in rows},
        "no_chords_calibration": calibration,
        "seconds": round(time.time() - t0, 1),
    }
    if rec_path is not None:
        meta = {k: out[k] for k in ("loops_per_row", "seed", "patches", "judge",
                                    "no_chords_calibration", "seconds")}
        meta.update({"rows": list(rows), "judges": list(judges), "model": model_path})
        write_json(rec_path, {"meta": meta, "loops": records}, force=force)
        log(f"per-loop records: {rec_path}")
    return out
