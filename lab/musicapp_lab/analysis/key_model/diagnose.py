"""Where the key errors on POP909 come from: annotated chords, whole songs, relative confusions.

Three checks on the training songs (never dev or eval), printed with bootstrap intervals:

* the opening excerpts scored with POP909's annotated chords in place of the decoded ones (rule,
  and the learned scorer cross-validated by song);
* whole songs, as the app analyses a track: the rule and the learned scorer (fold models of the
  song-grouped cross-validation, so no song is scored by a model trained on it), with decoded
  chords, and the rule with annotated chords;
* of the learned scorer's relative-key errors on all excerpts: the share whose called key's
  tonic chord fills more time than the annotated key's, and their direction.

Run: ``python -m musicapp_lab.analysis.key_model.diagnose --pop909 data/pop909/POP909``
(about 5 minutes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from musicapp_lab.analysis.key_model import train as T

L2 = 0.01


def _with_annotated_chords(rows: list[dict], songs: Path) -> list[dict]:
    """``rows`` with an "annotated" label list: POP909's chord covering most of each segment."""
    from musicapp.analysis.labels import chord_label

    for r in rows:
        z = np.load(songs / f"{r['song']}.npz")
        a = int(np.searchsorted(z["bounds"], r["start"] - 1e-6))
        lab = z["labels"][a:a + len(r["durations"])]
        r["annotated"] = [chord_label(int(c)) if c >= 0 else "N" for c in lab]
    return rows


def _cv_probabilities(data: dict, mask: np.ndarray) -> np.ndarray:
    S = T.out_of_fold(data, L2)
    t = T.fit_temperature(S[mask], data["y"][mask])
    return np.exp(T._log_softmax(S[mask] / t))


def whole_songs(root: Path, songs: Path, data: dict) -> None:
    """Rule and cross-validated learned scorer on whole songs."""
    from musicapp.analysis import key as key_mod
    from musicapp.analysis import labels
    from musicapp_lab.analysis.evalset.pop909 import load_song
    from musicapp_lab.analysis.key_model.data import excerpt_inputs, main_key
    from musicapp_lab.analysis.key_model.features import key_inputs

    folds = T.folds_of(data["songs"])
    fold_of = dict(zip(data["songs"].tolist(), folds.tolist(), strict=True))
    models = [T.fit(data["X"][folds != k], data["y"][folds != k], L2) for k in range(T.FOLDS)]
    op = data["opening"]
    S_op = T.out_of_fold(data, L2)
    temp = T.fit_temperature(S_op[op], data["y"][op])
    S, Y, R, A = [], [], [], []
    for npz in sorted(songs.glob("*.npz")):
        piece = load_song(root, npz.stem, np.random.default_rng(0), [], 900.0)
        if piece is None or npz.stem not in fold_of:
            continue
        z = np.load(npz)
        ex = excerpt_inputs(z["spec"], z["bounds"], z["silent"], 0, z["spec"].shape[1])
        kc, bc = np.array(ex["key_chroma"]), np.array(ex["bass_chroma"])
        dur = np.array(ex["durations"])
        k = main_key(piece.key_segments, 0.0, float(z["bounds"][-1]))
        if k is None:
            continue
        W, b = models[fold_of[npz.stem]]
        S.append(T._scores(key_inputs(kc, bc, ex["learned"], dur)[None], W, b)[0])
        Y.append(k[0] + 12 * labels.MODES.index(k[1]))
        R.append(key_mod.key_probabilities(key_mod.key_features(kc, bc, ex["learned"], dur)))
        annotated = [labels.chord_label(int(c)) if c >= 0 else "N" for c in z["labels"]]
        A.append(key_mod.key_probabilities(key_mod.key_features(kc, bc, annotated, dur)))
    P = np.exp(T._log_softmax(np.array(S) / temp))
    y = np.array(Y)
    print(f"whole songs ({len(y)}), decoded chords: rule    {T.fmt(T.metrics(np.array(R), y))}")
    print(f"whole songs ({len(y)}), decoded chords: learned {T.fmt(T.metrics(P, y))}")
    d = T.paired_difference(P, np.array(R), y)
    print(f"  learned - rule (paired MIREX): {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]")
    print(f"whole songs, annotated chords: rule {T.fmt(T.metrics(np.array(A), y))}")


def main(argv: list[str] | None = None) -> None:
    """Command line: print the three checks."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pop909", type=Path, required=True)
    ap.add_argument("--songs", type=Path, default=Path("data/chordcnn"))
    ap.add_argument("--excerpts", type=Path, default=Path("data/keymodel/excerpts.json"))
    args = ap.parse_args(argv)
    rows = _with_annotated_chords(json.loads(args.excerpts.read_text()), args.songs)
    tmp = args.excerpts.with_name("excerpts_annotated.json")
    tmp.write_text(json.dumps(rows))
    ann = T.load(tmp, "annotated")
    op = ann["opening"]
    print(f"openings, annotated chords: rule    {T.fmt(T.metrics(ann['rule'][op], ann['y'][op]))}")
    print(f"openings, annotated chords: learned "
          f"{T.fmt(T.metrics(_cv_probabilities(ann, op), ann['y'][op]))}")
    data = T.load(args.excerpts)
    S = T.out_of_fold(data, L2)
    best, y = S.argmax(axis=1), data["y"]
    rel = np.array([T._relative(int(t)) == int(e) for t, e in zip(y, best, strict=True)])
    tonic_time = data["X"][:, :, -5]  # the rule block's tonic-chord time
    more = tonic_time[rel, best[rel]] > tonic_time[rel, y[rel]]
    print(f"relative errors (all excerpts, CV): {rel.sum()} of {len(y)}; called key's tonic "
          f"chord longer than the annotated key's in {more.mean():.0%}; annotated minor -> "
          f"called major {int((rel & (y >= 12)).sum())}, major -> minor {int((rel & (y < 12)).sum())}")
    whole_songs(args.pop909, args.songs, data)


if __name__ == "__main__":
    main()
