"""Rule vs learned key scorer on the DEVELOPMENT splits, from one analysis per piece.

Each dev piece is analysed once by :func:`musicapp.analysis.analyze_music` (the product, whose
key is the hand-weighted rule); the inputs the analysis hands to ``analyse_key`` (chroma sums,
chord labels, segment lengths) are captured here, in the lab, and scored again by the learned
model (``--weights``, written by :mod:`.train`) and by the rule at another temperature
(``--rule-temperature``, e.g. the one fitted on the training songs). The learned model's
confidence is its best probability times the product's tonality factor, as the rule's is.
Scores are the evaluation's own (:mod:`musicapp_lab.analysis.evalset.evaluate`: MIREX weighted,
exact, relative-key share, ECE; bootstrap 95 % intervals over pieces).

Run::

    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.key_model.compare --split dev-real
    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.key_model.compare --split dev

Only the dev splits are accepted: the evaluation splits are scored by the lead, once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DEV_SPLITS = ("dev-real", "dev")
KEY_METRICS = ("key_mirex", "key_exact", "key_relative", "key_ece")
#: the rule's softmax temperature fitted (NLL) on the training songs' opening excerpts
#: (:mod:`.train` prints it)
TRAINED_RULE_T = 1.25


def _retempered(report, temperature: float) -> tuple[tuple[int, str] | None, float]:
    """The rule's key and its confidence at another softmax temperature."""
    from musicapp.analysis import key as key_mod

    if report.pc is None or report.scores is None:
        return None, 0.0
    p = report.scores  # the rule's softmax (report.probabilities are the calibrated, shown ones)
    best = int(np.argmax(p))
    q = np.exp(np.log(np.maximum(p, 1e-300)) * key_mod.KEY_TEMPERATURE / temperature)
    q /= q.sum()
    return (report.pc, report.mode), float(q[best])


def compare(split: str, weights: Path, cache_dir: Path | None = None, limit: int | None = None,
            rule_temperature: float = TRAINED_RULE_T, log=print) -> dict:
    """Per-scorer key tallies ("rule", "model", "rule-T") of one development split."""
    if split not in DEV_SPLITS:
        raise ValueError(f"{split}: only the development splits {DEV_SPLITS} are scored here")
    from musicapp.analysis import analyze_music, api
    from musicapp.analysis import key_report as kr
    from musicapp_lab.analysis.evalset.dataset import load_split
    from musicapp_lab.analysis.evalset.evaluate import Tally, _score_key
    from musicapp_lab.analysis.key_model.features import key_inputs, load_key_model

    model = load_key_model(weights)
    tallies = {s: Tally() for s in ("rule", "model", "rule-T")}
    seen: dict = {}
    original = api.analyse_key

    def capture(key_chroma, bass_chroma, labels, durations):
        seen["args"] = (np.asarray(key_chroma), np.asarray(bass_chroma), list(labels),
                        np.asarray(durations))
        seen["report"] = original(key_chroma, bass_chroma, labels, durations)
        return seen["report"]

    api.analyse_key = capture
    try:
        for it in load_split(split, cache_dir)[:limit]:
            y, sr = it.load()
            analyze_music(y, sr)
            r = seen["report"]
            rule_key = None if r.pc is None else (r.pc, r.mode)
            _score_key(it.truth, rule_key, r.confidence, tallies["rule"])
            key_t, conf_t = _retempered(r, rule_temperature)
            _score_key(it.truth, key_t, conf_t, tallies["rule-T"])
            if r.pc is None:
                _score_key(it.truth, None, 0.0, tallies["model"])
                model_key, conf = None, 0.0
            else:
                p = model.probabilities(key_inputs(*seen["args"]))
                best = int(np.argmax(p))
                c = np.asarray(seen["args"][0], dtype=np.float64)
                tonal = float(c.std() / c.mean())
                conf = float(p[best]) * float(np.clip((tonal - kr.NOISE_TONALITY) / 0.3, 0, 1))
                model_key = (best % 12, ("major", "minor")[best // 12])
                _score_key(it.truth, model_key, conf, tallies["model"])
            log(f"{it.name:28s} true {it.truth['key']}  rule {rule_key} {r.confidence:.2f}  "
                f"model {model_key} {conf:.2f}")
    finally:
        api.analyse_key = original
    return tallies


def main(argv: list[str] | None = None) -> None:
    """Command line: print the scorers' key figures on a dev split."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=DEV_SPLITS, default="dev-real")
    ap.add_argument("--weights", type=Path, default=Path("data/keymodel/keylinear.safetensors"))
    ap.add_argument("--rule-temperature", type=float, default=TRAINED_RULE_T)
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    tallies = compare(args.split, args.weights, args.cache_dir, args.limit, args.rule_temperature)
    for s, t in tallies.items():
        res = t.result()
        print(f"{args.split} {s:6s} " + "  ".join(
            f"{m} {res[m][0]:.3f} [{res[m][2]:.2f}, {res[m][3]:.2f}]" for m in KEY_METRICS)
            + f"  (n {res['key_mirex'][1]})")


if __name__ == "__main__":
    main()
