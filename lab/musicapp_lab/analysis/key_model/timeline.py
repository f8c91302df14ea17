"""Check the local-key timeline against annotated key segments: the product's timeline (sections
scored with the calibrated key map, agreeing with the global key) beside the raw Viterbi sections
it starts from (the timeline before issue 11's agreement rule).

Only training pieces (``data/tactus`` train-real / train-gen) and the development splits (``dev``,
``dev-real`` of the evaluation cache; look at them once) are read; the evaluation splits are the
lead's::

    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.key_model.timeline \
        --set data/tactus:train-real --set data/tactus:train-gen

Prints, for pieces in one key and for modulating pieces: the mean number of timeline entries,
the share with exactly one entry and the time-averaged MIREX key score of the timeline.
"""

from __future__ import annotations

import argparse

import numpy as np

from musicapp_lab.analysis.key_model.capture import ALLOWED, _items, _parse_set


def raw_sections(key_chroma: np.ndarray, bounds_s: np.ndarray, report, duration: float) -> list[dict]:
    """The Viterbi sections with their own profile key (the timeline before the agreement rule;
    one section is the global key)."""
    from musicapp.analysis import key as key_mod
    from musicapp.analysis import key_report as kr

    runs = key_mod.local_key_runs(np.asarray(key_chroma, dtype=float), bounds_s)
    if len(runs) <= 1:
        return [{"start": 0.0, "end": duration, **kr.key_entry(report.pc, report.mode)}]
    return [{"start": float(bounds_s[a]), "end": float(bounds_s[b]),
             **kr.key_entry(k % 12, key_mod.MODES[k // 12])} for k, a, b in runs]


def check(sets: list[tuple], log=print) -> list[tuple]:
    """(split, annotated keys, raw entries, entries, raw score, score) per piece with a key."""
    from musicapp.analysis import api
    from musicapp_lab.analysis.evalset import scoring

    seen: dict = {}
    original = api.key_timeline

    def spy(*args):
        seen["args"] = args
        return original(*args)

    rows = []
    api.key_timeline = spy
    try:
        for cache, split in sets:
            if split not in ALLOWED:
                raise SystemExit(f"{split}: only {ALLOWED} are read here")
            for it in _items(split, cache):
                if not it.truth.get("key_segments"):
                    continue
                y, sr = it.load()
                seen.clear()
                d = api.analyze_music(y, sr).to_dict()
                if d["key"] is None or "args" not in seen:
                    continue
                kc, _, _, _, bounds_s, report, duration = seen["args"]
                raw = raw_sections(kc, bounds_s, report, duration)
                new = d["key_timeline"]
                keys = len({(s[2], s[3]) for s in it.truth["key_segments"]})
                rows.append((split, keys, len(raw), len(new),
                             scoring.key_timeline_score(it.truth, raw),
                             scoring.key_timeline_score(it.truth, new)))
    finally:
        api.key_timeline = original
    r = np.array([row[1:] for row in rows], dtype=float)
    for label, sel in (("one key", r[:, 0] == 1), ("modulating", r[:, 0] > 1),
                       ("all", r[:, 0] >= 1)):
        if sel.any():
            log(f"{label}: n={int(sel.sum())} entries {r[sel, 1].mean():.2f} -> "
                f"{r[sel, 2].mean():.2f}; one entry {np.mean(r[sel, 1] == 1):.2f} -> "
                f"{np.mean(r[sel, 2] == 1):.2f}; timeline MIREX {np.nanmean(r[sel, 3]):.3f} -> "
                f"{np.nanmean(r[sel, 4]):.3f}")
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", required=True,
                    help="CACHE_DIR:SPLIT (CACHE = the evaluation cache)")
    args = ap.parse_args(argv)
    check([_parse_set(s) for s in args.set])


if __name__ == "__main__":
    main()
