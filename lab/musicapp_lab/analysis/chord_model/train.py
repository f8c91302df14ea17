"""Train ChordCNN on the rendered POP909 training songs and write the shipped weights.

Run (after :mod:`musicapp_lab.analysis.chord_model.data`)::

    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.chord_model.train \\
        --data data/chordcnn --minutes 20 --out resources/models/chordcnn.safetensors

The last :data:`VAL_SONGS` training songs (by the fixed order of
:func:`~musicapp_lab.analysis.chord_model.data.training_songs`) are held out for validation: the
checkpoint and the decoder settings (change penalty, class-prior correction) are chosen on them,
never on the realistic set's dev or eval songs. Augmentation: random transposition of the
semitone spectrum (-6..+5 semitones, labels moved with it) and random crops of beat sequences;
AdamW (lr 2e-3, cosine decay over the time budget), label smoothing 0.05, dropout 0.2.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from musicapp.analysis.labels import N_CHORDS, QUALITY_NAMES
from musicapp_lab.analysis.chord_model.data import IGNORE

VAL_SONGS = 30
CROP = 96
BATCH = 16
NQ = len(QUALITY_NAMES)


def load_songs(data_dir: Path) -> list[dict]:
    """Every rendered song in ``data_dir`` (spec, labels, bounds, silent, truth), in the fixed
    training-song order."""
    out = []
    for npz in sorted(data_dir.glob("*.npz")):
        d = np.load(npz)
        truth = json.loads(npz.with_suffix(".json").read_text())
        out.append({"song": npz.stem, "spec": d["spec"], "labels": d["labels"],
                    "bounds": d["bounds"], "silent": d["silent"], "truth": truth})
    return out


def split_songs(songs: list[dict], order: list[str]) -> tuple[list[dict], list[dict]]:
    """(train, validation): the last VAL_SONGS of ``order`` that were rendered validate."""
    have = {s["song"]: s for s in songs}
    ordered = [have[s] for s in order if s in have]
    return ordered[:-VAL_SONGS], ordered[-VAL_SONGS:]


def transpose(spec: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Shift a semitone spectrum (84, m) up by ``k`` semitones (zeros shifted in) and its
    labels' roots with it."""
    out = np.zeros_like(spec)
    if k >= 0:
        out[k:] = spec[:spec.shape[0] - k]
    else:
        out[:k] = spec[-k:]
    lab = labels.copy()
    chord = (lab >= 0) & (lab < N_CHORDS)
    root, q = np.divmod(lab[chord], NQ)
    lab[chord] = ((root + k) % 12) * NQ + q
    return out, lab


def make_batch(songs: list[dict], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch of random crops, randomly transposed: (B, 84, CROP) input, (B, CROP) labels."""
    from musicapp.analysis.chord_model import model_input

    xs = np.zeros((BATCH, 84, CROP), dtype=np.float32)
    ys = np.full((BATCH, CROP), IGNORE, dtype=np.int64)
    for b in range(BATCH):
        s = songs[int(rng.integers(len(songs)))]
        m = s["spec"].shape[1]
        a = int(rng.integers(0, max(1, m - CROP)))
        spec, lab = transpose(s["spec"][:, a:a + CROP], s["labels"][a:a + CROP],
                              int(rng.integers(-6, 6)))
        xs[b, :, :spec.shape[1]] = model_input(spec)
        ys[b, :lab.shape[0]] = lab
    return xs, ys


def numpy_state(model) -> dict[str, np.ndarray]:
    """The torch state as float32 numpy arrays (names of :data:`musicapp.analysis.chord_model.
    TENSORS`)."""
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}


def class_log_prior(songs: list[dict]) -> np.ndarray:
    """log frequency of each class in the training labels, over all 12 transpositions
    (root-invariant), add-one smoothed."""
    counts = np.ones(N_CHORDS + 1)
    for s in songs:
        lab = s["labels"][s["labels"] >= 0]
        counts += np.bincount(lab, minlength=N_CHORDS + 1)
    q = counts[:N_CHORDS].reshape(12, NQ).sum(axis=0) / 12.0
    full = np.concatenate([np.tile(q, 12), counts[N_CHORDS:]])
    return np.log(full / full.sum())


def decode_song(s: dict, params, model=None) -> list[tuple[float, float, str]]:
    """Chord intervals of a rendered song with the product's decoder (``model``: a numpy
    ChordCNN to use instead of the shipped weights)."""
    from musicapp.analysis import chords as C
    from musicapp.analysis import features as F

    treble, bass = F.bass_treble_chroma(s["spec"])
    if model is not None and params.emission == "learned":
        labels = _decode_with(model, treble, bass, s, params)
    else:
        labels = C.decode_chords(treble, bass, s["silent"], params, notes=s["spec"])
    out: list[tuple[float, float, str]] = []
    b = s["bounds"]
    for i, lab in enumerate(labels):
        if out and out[-1][2] == lab:
            out[-1] = (out[-1][0], float(b[i + 1]), lab)
        else:
            out.append((float(b[i]), float(b[i + 1]), lab))
    return out


def _decode_with(model, treble, bass, s, params) -> list[str]:
    """decode_chords with an in-memory model (the product reads its model from a file)."""
    from musicapp.analysis import chords as C

    orig = C._learned_model
    C._learned_model = lambda path: (model, None)  # type: ignore[assignment]
    try:
        return C.decode_chords(treble, bass, s["silent"], params, notes=s["spec"])
    finally:
        C._learned_model = orig  # type: ignore[assignment]


def score_songs(songs: list[dict], params, model=None) -> dict[str, float]:
    """Pooled root/majmin/sevenths/bass WCSR over songs (mir_eval, as the evaluation set)."""
    from musicapp_lab.analysis.evalset.scoring import chord_overlap

    tot: dict[str, np.ndarray] = {}
    for s in songs:
        est = decode_song(s, params, model)
        ref = [tuple(c) for c in s["truth"]["chords"]]
        ov = chord_overlap(ref, est, float(s["bounds"][-1]))
        for k, v in ov.items():
            tot[k] = tot.get(k, np.zeros(2)) + np.asarray(v)
    return {k: float(v[0] / max(v[1], 1e-9)) for k, v in tot.items()}


def tune_decoder(val: list[dict], model) -> tuple[dict, list]:
    """Change penalty and class-prior correction maximising (majmin + sevenths) / 2 on the
    validation songs; returns (best settings, all rows)."""
    from musicapp.analysis.chords import ChordParams

    rows = []
    for cp in (0.5, 1.0, 2.0, 3.0, 4.0, 6.0):
        for beta in (0.0, 0.3, 0.6):
            p = ChordParams(emission="learned", learned_change_penalty=cp,
                            learned_prior_correction=beta)
            sc = score_songs(val, p, model)
            rows.append({"change_penalty": cp, "prior_correction": beta, **sc})
            print(f"  cp {cp:.1f} beta {beta:.1f}: majmin {sc['majmin']:.3f} sevenths "
                  f"{sc['sevenths']:.3f} root {sc['root']:.3f} bass {sc['bass']:.3f}", flush=True)
    best = max(rows, key=lambda r: r["majmin"] + r["sevenths"])
    return best, rows


def train(data_dir: Path, out: Path, minutes: float, seed: int = 0, *,
          force: bool = False) -> dict:
    """Train, choose the checkpoint and decoder on validation songs, write weights + report
    (atomically; existing weights are refused before training unless ``force``)."""
    from musicapp_lab.cli._out import refuse_existing, write_json

    refuse_existing(out, force=force)
    import torch

    from musicapp.analysis.chord_model import ChordCNN as NumpyCNN
    from musicapp.analysis.chords import ChordParams
    from musicapp.models.weights import save_state
    from musicapp_lab.analysis.chord_model.data import training_songs
    from musicapp_lab.analysis.chord_model.model import ChordCNN

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    order = training_songs(Path("data/pop909/POP909")) if Path("data/pop909/POP909").is_dir() \
        else sorted(p.stem for p in data_dir.glob("*.npz"))
    songs = load_songs(data_dir)
    tr, val = split_songs(songs, order)
    print(f"{len(tr)} training songs ({sum(s['spec'].shape[1] for s in tr)} segments), "
          f"{len(val)} validation songs", flush=True)
    prior = class_log_prior(tr)
    model = ChordCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    n_params = sum(p.numel() for p in model.parameters())
    t0 = time.time()
    step, best, best_state, history = 0, -1.0, None, []
    next_eval = 150
    meta_common = {"vocabulary": "root x quality + N", "class_log_prior": prior.tolist()}
    val_params = ChordParams(emission="learned", learned_change_penalty=2.0)
    while True:
        model.train()
        frac = min(1.0, (time.time() - t0) / (minutes * 60))
        for g in opt.param_groups:  # cosine decay over the time budget
            g["lr"] = 2e-3 * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac)))
        xb, yb = make_batch(tr, rng)
        logits = model(torch.from_numpy(xb))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(yb), ignore_index=IGNORE,
                                                 label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        done = time.time() - t0 > minutes * 60
        if step >= next_eval or done:
            next_eval += 300
            model.eval()
            nm = NumpyCNN(numpy_state(model), meta_common)
            sc = score_songs(val, val_params, nm)
            history.append({"step": step, "minutes": (time.time() - t0) / 60,
                            "loss": float(loss.detach()), **sc})
            print(f"step {step} ({(time.time() - t0) / 60:.1f} min) loss {float(loss.detach()):.3f} val "
                  f"majmin {sc['majmin']:.3f} sevenths {sc['sevenths']:.3f}", flush=True)
            if sc["majmin"] + sc["sevenths"] > best:
                best = sc["majmin"] + sc["sevenths"]
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if done:
            break
    train_minutes = (time.time() - t0) / 60
    model.load_state_dict(best_state)
    model.eval()
    nm = NumpyCNN(numpy_state(model), meta_common)
    decoder, rows = tune_decoder(val, nm)
    templates_val = score_songs(val, ChordParams())
    meta = {"vocabulary": "root x quality + N", "class_log_prior": prior.tolist(),
            "config": model.config, "input": "beat-synchronous 84-semitone spectrum, "
            "musicapp.analysis.chord_model.model_input",
            "decoder": {"learned_change_penalty": decoder["change_penalty"],
                        "learned_prior_correction": decoder["prior_correction"]},
            "training_songs": sorted(s["song"] for s in tr),
            "validation_songs": sorted(s["song"] for s in val)}
    state = {k: v.detach().float() for k, v in model.state_dict().items()}
    refuse_existing(out, force=force)  # one written meanwhile is kept too
    digest = save_state(out, state, {k: json.dumps(v) for k, v in meta.items()})
    report = {"sha256": digest, "parameters": n_params, "steps": step,
              "train_minutes": train_minutes, "history": history, "decoder_grid": rows,
              "decoder": decoder, "templates_validation": templates_val,
              "training_songs": meta["training_songs"],
              "validation_songs": meta["validation_songs"],
              "segments": int(sum(s["spec"].shape[1] for s in tr))}
    write_json(out.with_suffix(".train.json"), report, force=True, indent=1)  # goes with out
    print(json.dumps({k: v for k, v in report.items()
                      if k not in ("history", "decoder_grid", "training_songs",
                                   "validation_songs")}, indent=1), flush=True)
    return report


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data/chordcnn"))
    ap.add_argument("--out", type=Path, default=Path("resources/models/chordcnn.safetensors"))
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="replace existing weights")
    args = ap.parse_args(argv)
    from musicapp_lab.cli._out import cli_errors

    with cli_errors():
        train(args.data, args.out, args.minutes, args.seed, force=args.force)


if __name__ == "__main__":
    main()
