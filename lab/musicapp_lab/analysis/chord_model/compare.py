"""Templates vs learned chord emission, decoder for decoder, on the realistic DEVELOPMENT split.

Both systems run the full ``analyze_music`` (same beat grid code, same Viterbi decoder and
transition prior, same inversion rule); only ``ChordParams.emission`` differs. Scores are the
evaluation set's (mir_eval root, majmin, sevenths, majmin_inv WCSR pooled over scored seconds)
with a bootstrap 95 % interval over songs (1000 resamples, the evaluation code's own
``_pooled``), plus the paired difference learned - templates with its interval. The speed of a
3-minute track is timed for both in the same process, alternately (best of ``--repeats``).

Run::

    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.chord_model.compare \\
        [--cache-dir DIR] [--bench data/bench_3min.wav]

Only the dev split is accepted here: the evaluation split is scored by the lead, once.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

KINDS = ("root", "majmin", "sevenths", "bass")
SYSTEMS = ("templates", "learned")


#: ``--template-mix``: None keeps the product's default
TEMPLATE_MIX: list[float | None] = [None]


def _params(system: str, model: Path | None):
    """ChordParams of one system (``model``: weights other than the shipped ones)."""
    from musicapp.analysis.chords import ChordParams

    p = ChordParams(emission=system, model_path=str(model) if model else None)
    if TEMPLATE_MIX[0] is not None:
        p.template_mix = TEMPLATE_MIX[0]
    return p


DEV_SPLITS = ("dev-real", "dev")


def score_dev(cache_dir: Path | None = None, model: Path | None = None, log=print,
              limit: int | None = None, split: str = "dev-real") -> dict:
    """Per-song (correct, scored) seconds of both systems on a development split (``dev-real``:
    POP909 excerpts; ``dev``: the old set's generated progressions, chorales and madrigals)."""
    if split not in DEV_SPLITS:
        raise ValueError(f"{split}: only the development splits {DEV_SPLITS} are scored here")
    from musicapp.analysis import analyze_music
    from musicapp_lab.analysis.evalset.dataset import load_split
    from musicapp_lab.analysis.evalset.scoring import chord_overlap

    items = load_split(split, cache_dir)[:limit]
    per = {s: {k: [] for k in KINDS} for s in SYSTEMS}
    rows = []
    for it in items:
        y, sr = it.load()
        row = {"name": it.name}
        for system in SYSTEMS:
            res = analyze_music(y, sr, chord_params=_params(system, model)).to_dict()
            est = [(c["start"], c["end"], c["label"]) for c in res["chords"]]
            ov = chord_overlap([tuple(c) for c in it.truth["chords"]], est,
                               float(it.truth["duration"]))
            for k in KINDS:
                per[system][k].append(ov[k])
            row[system] = {k: ov[k][0] / max(ov[k][1], 1e-9) for k in KINDS}
            row[f"{system}_seconds"] = {k: list(ov[k]) for k in KINDS}
        row["source"] = it.truth["source"]
        rows.append(row)
        log(f"{it.name:24s} majmin templates {row['templates']['majmin']:.3f} learned "
            f"{row['learned']['majmin']:.3f}  sevenths {row['templates']['sevenths']:.3f} / "
            f"{row['learned']['sevenths']:.3f}")
    return {"per": per, "rows": rows}


def bootstrap(per: dict, n: int = 1000, seed: int = 0) -> dict:
    """Pooled WCSR with 95 % intervals per system and kind, and of the paired difference."""
    rng = np.random.default_rng(seed)
    out: dict = {}
    for k in KINDS:
        ct = {s: np.asarray(per[s][k], dtype=float) for s in SYSTEMS}
        m = ct["templates"].shape[0]
        idx = rng.integers(0, m, size=(n, m))
        boots = {s: ct[s][idx, 0].sum(axis=1) / np.maximum(ct[s][idx, 1].sum(axis=1), 1e-9)
                 for s in SYSTEMS}
        val = {s: float(ct[s][:, 0].sum() / ct[s][:, 1].sum()) for s in SYSTEMS}
        diff = boots["learned"] - boots["templates"]
        out[k] = {s: (val[s], *np.percentile(boots[s], [2.5, 97.5]).tolist()) for s in SYSTEMS}
        out[k]["diff"] = (val["learned"] - val["templates"],
                          *np.percentile(diff, [2.5, 97.5]).tolist())
    return out


def bench(path: Path, repeats: int = 3, model: Path | None = None) -> dict:
    """Best-of-``repeats`` seconds of ``analyze_music`` on ``path`` for both systems,
    alternating in this process (the shipped model is loaded once before timing)."""
    from musicapp.analysis import analyze_music
    from musicapp.audio import load_audio

    audio = load_audio(path, sr=22050)
    y = audio.samples
    for system in SYSTEMS:  # warm caches (filter banks, numba, weights)
        analyze_music(y[:22050 * 20], 22050, chord_params=_params(system, model))
    times = {s: [] for s in SYSTEMS}
    for _ in range(repeats):
        for system in SYSTEMS:
            t0 = time.perf_counter()
            analyze_music(y, 22050, chord_params=_params(system, model))
            times[system].append(time.perf_counter() - t0)
    return {"seconds_audio": y.size / 22050, **{s: min(v) for s, v in times.items()},
            "all": times}


def format_table(b: dict, title: str = "dev-real") -> str:
    """Plain-text table of the bootstrap results."""
    lines = [f"| metric ({title}) | templates | learned | learned - templates |",
             "|---|---|---|---|"]
    for k in KINDS:
        cells = [f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]" for v in
                 (b[k]["templates"], b[k]["learned"])]
        d = b[k]["diff"]
        cells.append(f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]")
        lines.append(f"| {k} WCSR | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--bench", type=Path, default=Path("data/bench_3min.wav"),
                    help="3-minute track to time (a missing file skips the timing)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", type=Path, default=None, help="weights (default: shipped)")
    ap.add_argument("--split", default="dev-real", choices=DEV_SPLITS)
    ap.add_argument("--template-mix", type=float, default=None,
                    help="template_mix of the learned system (0: the network alone)")
    ap.add_argument("--limit", type=int, default=None, help="first N dev songs only")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--force", action="store_true", help="replace an existing --json file")
    args = ap.parse_args(argv)
    from musicapp_lab.cli._out import check_out, cli_errors, write_json

    with cli_errors():
        check_out(args.json, force=args.force)  # before the scoring
    TEMPLATE_MIX[0] = args.template_mix
    scored = score_dev(args.cache_dir, args.model, limit=args.limit, split=args.split)
    b = bootstrap(scored["per"])
    print(format_table(b, f"{args.split}, {len(scored['rows'])} pieces"))
    sources = sorted({r["source"] for r in scored["rows"]})
    if len(sources) > 1:
        for src in sources:
            rows = [r for r in scored["rows"] if r["source"] == src]
            per = {s: {k: [tuple(r[f"{s}_seconds"][k]) for r in rows] for k in KINDS}
                   for s in SYSTEMS}
            print(format_table(bootstrap(per), f"{args.split} {src}, {len(rows)} pieces"))
    speed = bench(args.bench, args.repeats, args.model) if args.bench.is_file() else None
    if speed:
        print(f"3-min track ({speed['seconds_audio']:.0f} s): templates {speed['templates']:.2f} s, "
              f"learned {speed['learned']:.2f} s (best of {args.repeats}; all {speed['all']})")
    if args.json:
        write_json(args.json, {"bootstrap": b, "speed": speed, "rows": scored["rows"]},
                   force=args.force, indent=1)


if __name__ == "__main__":
    main()
