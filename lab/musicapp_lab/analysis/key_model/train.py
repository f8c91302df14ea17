"""Train the learned key scorer (:mod:`.features`) and compare it with the product's rule.

Reads the excerpts of :mod:`musicapp_lab.analysis.key_model.data`. The model is a conditional
(multinomial) logit over the 24 keys with weights shared by the 12 tonics of each mode, fitted by
L-BFGS on the mean negative log-likelihood plus ``l2 * |W - W0|^2`` on standardised features
(``W0`` zero, or the rule's own weights with ``--prior rule``). The L2
strength is chosen by song-grouped cross-validation (:data:`FOLDS` folds; every excerpt of a song
in the same fold) on the out-of-fold opening excerpts, the excerpts cut as the evaluation set cuts
them; the temperature is then fitted (NLL) on those out-of-fold scores. The hand-weighted rule
(:func:`musicapp.analysis.key.key_probabilities`) is scored on the same excerpts. Every figure
has a bootstrap 95 % interval over songs (one opening excerpt per song).

Run::

    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.key_model.train \\
        --excerpts data/keymodel/excerpts.json --out data/keymodel/keylinear.safetensors \\
        --report data/keymodel/train_report.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

FOLDS = 5
L2_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
SEED = 7
BOOT = 1000


def load(path: Path, chords: str = "learned") -> dict:
    """Features (n, 24, D), truth index (n,), song ids, opening flags and the rule's
    probabilities (n, 24) of every excerpt; ``chords`` picks the decoded labels used."""
    from musicapp.analysis import key as key_mod
    from musicapp_lab.analysis.key_model.features import key_inputs

    rows = json.loads(path.read_text())
    X, y, songs, opening, rule = [], [], [], [], []
    for r in rows:
        kc, bc = np.array(r["key_chroma"]), np.array(r["bass_chroma"])
        dur = np.array(r["durations"])
        X.append(key_inputs(kc, bc, r[chords], dur))
        y.append(int(r["key"][0]) + 12 * key_mod.MODES.index(r["key"][1]))
        songs.append(r["song"])
        opening.append(bool(r["opening"]))
        rule.append(key_mod.key_probabilities(key_mod.key_features(kc, bc, r[chords], dur)))
    return {"X": np.array(X), "y": np.array(y), "songs": np.array(songs),
            "opening": np.array(opening), "rule": np.array(rule)}


def _scores(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = np.empty(X.shape[:2])
    s[:, :12] = X[:, :12] @ W[0] + b[0]
    s[:, 12:] = X[:, 12:] @ W[1] + b[1]
    return s


def _log_softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def rule_weights(d: int) -> np.ndarray:
    """(2, d) raw-feature weights that reproduce the hand-weighted rule's scores (its weights
    over its temperature on the last block, zero elsewhere): the prior the fit shrinks to."""
    from musicapp.analysis import key as key_mod

    W = np.zeros((2, d))
    r = np.asarray(key_mod.KEY_WEIGHTS) / key_mod.KEY_TEMPERATURE
    W[:, d - r.size:] = r
    return W


def fit(X: np.ndarray, y: np.ndarray, l2: float, prior: str = "zero") -> tuple[np.ndarray, np.ndarray]:
    """(W (2, D), b (2,)) for raw features: fitted on standardised ones, then folded back.

    The penalty is ``l2 * |W - W0|^2`` in standardised units, ``W0`` the rule
    (:func:`rule_weights`, ``prior="rule"``) or zero (``prior="zero"``): a strong penalty
    keeps the rule, a weak one lets the training songs move every weight."""
    from scipy.optimize import minimize

    n, _, d = X.shape
    mu = X.reshape(-1, d).mean(axis=0)
    sd = X.reshape(-1, d).std(axis=0)
    sd[sd < 1e-9] = 1.0
    Z = (X - mu) / sd
    W0 = rule_weights(d) * sd if prior == "rule" else np.zeros((2, d))
    Y = np.zeros((n, 24))
    Y[np.arange(n), y] = 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[:2 * d].reshape(2, d), theta[2 * d:]
        ls = _log_softmax(_scores(Z, W, b))
        g = (np.exp(ls) - Y) / n  # (n, 24)
        gW = np.stack([np.einsum("nk,nkd->d", g[:, :12], Z[:, :12]),
                       np.einsum("nk,nkd->d", g[:, 12:], Z[:, 12:])]) + 2 * l2 * (W - W0)
        gb = np.array([g[:, :12].sum(), g[:, 12:].sum()])
        return (float(-(ls * Y).sum() / n + l2 * ((W - W0) ** 2).sum()),
                np.concatenate([gW.ravel(), gb]))

    start = np.concatenate([W0.ravel(), np.zeros(2)])
    res = minimize(loss, start, jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000})
    W, b = res.x[:2 * d].reshape(2, d), res.x[2 * d:]
    W_raw = W / sd
    b_raw = b - W_raw @ mu
    return W_raw, b_raw


def folds_of(songs: np.ndarray, k: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """Fold number of each excerpt, by song."""
    uniq = sorted(set(songs.tolist()))
    perm = np.random.default_rng(seed).permutation(len(uniq))
    fold = {s: int(perm[i] % k) for i, s in enumerate(uniq)}
    return np.array([fold[s] for s in songs])


def out_of_fold(data: dict, l2: float, prior: str = "zero") -> np.ndarray:
    """Out-of-fold scores (n, 24) (temperature 1)."""
    f = folds_of(data["songs"])
    S = np.zeros(data["X"].shape[:2])
    for k in range(FOLDS):
        tr, te = f != k, f == k
        W, b = fit(data["X"][tr], data["y"][tr], l2, prior)
        S[te] = _scores(data["X"][te], W, b)
    return S


def fit_temperature(S: np.ndarray, y: np.ndarray) -> float:
    """NLL-optimal temperature of scores ``S`` (n, 24)."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 161))
    nll = [-np.mean(_log_softmax(S / t)[np.arange(len(y)), y]) for t in grid]
    return float(grid[int(np.argmin(nll))])


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error, equal-width bins (the evaluation's definition)."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    out = 0.0
    for i in range(bins):
        sel = idx == i
        if sel.any():
            out += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(out)


def metrics(P: np.ndarray, y: np.ndarray, rng: np.random.Generator | None = None) -> dict:
    """MIREX weighted score, exact, relative share, ECE and NLL of probabilities ``P`` (n, 24),
    each (value, low, high) with a bootstrap 95 % interval over excerpts (one per song)."""
    best = P.argmax(axis=1)
    mirex = mirex_scores(P, y)
    exact = (best == y).astype(float)
    rel = np.array([_relative(int(t)) == int(e) for t, e in zip(y, best, strict=True)], float)
    conf = P[np.arange(len(y)), best]
    nll = -np.log(np.maximum(P[np.arange(len(y)), y], 1e-12))
    rng = rng or np.random.default_rng(0)
    draws = rng.integers(0, len(y), size=(BOOT, len(y)))
    out = {}
    for name, fn in (("mirex", lambda i: mirex[i].mean()), ("exact", lambda i: exact[i].mean()),
                     ("relative", lambda i: rel[i].mean()),
                     ("ece", lambda i: ece(conf[i], exact[i])), ("nll", lambda i: nll[i].mean())):
        full = float(fn(np.arange(len(y))))
        boot = np.array([fn(d) for d in draws])
        out[name] = (full, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)))
    return out


def mirex_scores(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MIREX weighted score of each excerpt's best key."""
    import mir_eval

    from musicapp.analysis.labels import MODES, key_label

    lab = [key_label(i % 12, MODES[i // 12]) for i in range(24)]
    return np.array([mir_eval.key.weighted_score(lab[int(t)], lab[int(e)])
                     for t, e in zip(y, P.argmax(axis=1), strict=True)])


def paired_difference(P: np.ndarray, Q: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """MIREX of ``P`` minus MIREX of ``Q`` on the same excerpts, with a bootstrap 95 % interval."""
    diff = mirex_scores(P, y) - mirex_scores(Q, y)
    draws = np.random.default_rng(1).integers(0, len(y), size=(BOOT, len(y)))
    boot = diff[draws].mean(axis=1)
    return float(diff.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def _relative(k: int) -> int:
    """Index of the relative key of key index ``k``."""
    return (k % 12 + 9) % 12 + 12 if k < 12 else (k % 12 + 3) % 12


def fmt(m: dict) -> str:
    """One line of metrics."""
    return "  ".join(f"{k} {v[0]:.3f} [{v[1]:.2f}, {v[2]:.2f}]" for k, v in m.items())


def save(out: Path, W: np.ndarray, b: np.ndarray, temperature: float, meta: dict) -> str:
    """Write the weights (safetensors + sha256 sidecar); the digest."""
    from musicapp_lab.analysis.key_model.features import KeyModel, save_key_model

    return save_key_model(out, KeyModel(W, b, temperature, meta))


def main(argv: list[str] | None = None) -> None:
    """Command line: cross-validate, compare with the rule, fit on all songs, write weights."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--excerpts", type=Path, default=Path("data/keymodel/excerpts.json"))
    ap.add_argument("--chords", choices=("learned", "templates"), default="learned")
    ap.add_argument("--openings-only", action="store_true", help="train on opening excerpts only")
    ap.add_argument("--prior", choices=("zero", "rule"), default="zero",
                    help="what the L2 penalty shrinks the weights to")
    ap.add_argument("--out", type=Path, default=None, help="write the weights here")
    ap.add_argument("--report", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args(argv)
    from musicapp_lab.cli._out import cli_errors, refuse_same_file

    with cli_errors():  # before the cross-validation
        refuse_same_file({"--out": args.out, "--report": args.report})
    data = load(args.excerpts, args.chords)
    if args.openings_only:
        data = {k: v[data["opening"]] for k, v in data.items()}
    op = data["opening"]
    y = data["y"]
    print(f"{len(y)} excerpts of {len(set(data['songs'].tolist()))} songs, {op.sum()} openings, "
          f"{(y >= 12).mean():.2f} minor; chords: {args.chords}")
    from musicapp.analysis import key as key_mod

    report = {"rule": metrics(data["rule"][op], y[op])}
    print(f"rule (T {key_mod.KEY_TEMPERATURE}) openings:   {fmt(report['rule'])}")
    rule_logits = np.log(np.maximum(data["rule"], 1e-300)) * key_mod.KEY_TEMPERATURE
    t_rule = fit_temperature(rule_logits[op], y[op])
    report["rule_refit_temperature"] = t_rule
    report["rule_refit"] = metrics(np.exp(_log_softmax(rule_logits[op] / t_rule)), y[op])
    print(f"rule (T {t_rule:.2f}, NLL-optimal here): {fmt(report['rule_refit'])}")
    best_l2, best_nll, best_S = None, np.inf, None
    for l2 in L2_GRID:
        S = out_of_fold(data, l2, args.prior)
        T = fit_temperature(S[op], y[op])
        P = np.array([np.exp(_log_softmax((s / T)[None])[0]) for s in S[op]])
        m = metrics(P, y[op])
        print(f"l2 {l2:g}: T {T:.2f}  {fmt(m)}", flush=True)
        if m["nll"][0] < best_nll:
            best_l2, best_nll, best_S = l2, m["nll"][0], S
    assert best_S is not None and best_l2 is not None
    T = fit_temperature(best_S[op], y[op])
    P = np.exp(_log_softmax(best_S[op] / T))
    report["model_cv"] = metrics(P, y[op])
    report["model_minus_rule_mirex"] = paired_difference(P, data["rule"][op], y[op])
    report["l2"], report["temperature"] = best_l2, T
    report["model_cv_all_excerpts"] = metrics(np.exp(_log_softmax(best_S / T)), y)
    report["rule_all_excerpts"] = metrics(data["rule"], y)
    print(f"chosen l2 {best_l2:g}, T {T:.2f}\nmodel CV openings: {fmt(report['model_cv'])}")
    d = report["model_minus_rule_mirex"]
    print(f"model - rule, MIREX on openings (paired): {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]")
    print(f"all excerpts: model {fmt(report['model_cv_all_excerpts'])}\n"
          f"              rule  {fmt(report['rule_all_excerpts'])}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    if args.out:
        W, b = fit(data["X"], y, best_l2, args.prior)
        meta = {"l2": best_l2, "temperature_from": "out-of-fold opening excerpts (NLL)",
                "songs": len(set(data["songs"].tolist())), "excerpts": int(len(y)),
                "chords": args.chords, "cv_openings": report["model_cv"],
                "rule_openings": report["rule"], "source": "POP909 (MIT) training songs"}
        digest = save(args.out, W, b, T, meta)
        print(f"wrote {args.out} (sha256 {digest[:16]}...)")


if __name__ == "__main__":
    main()
