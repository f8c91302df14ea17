"""Train the BeatTCN on the rendered excerpts (``data/beatnet``) and write the weights.

Targets per frame: 1 on the frame nearest each annotated beat (downbeat), 0.5 on its two
neighbours (target widening, as in Böck et al. 2016), 0 elsewhere; binary cross-entropy on both
outputs. Random 1024-frame crops, Adam (learning rate / 4 for the last 30 % of a fixed wall-time
budget); 10 % of the training songs are
held out (by song) and the epoch with the lowest held-out loss is kept. One torch thread.

Run: ``OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.beat_model.train
--data data/beatnet --out resources/models/beatnet.safetensors --minutes 15``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from musicapp.analysis.features import FPS

CROP = 1024
SEED = 5


def targets(times: np.ndarray, n: int) -> np.ndarray:
    """Widened frame targets (n,) for event times in seconds."""
    t = np.zeros(n, dtype=np.float32)
    idx = np.round(np.asarray(times, dtype=np.float64) * FPS).astype(int)
    idx = idx[(idx >= 0) & (idx < n)]
    for off in (-1, 1):
        j = np.clip(idx + off, 0, n - 1)
        t[j] = np.maximum(t[j], 0.5)
    t[idx] = 1.0
    return t


def load(data: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(song, features (128, n) float32, targets (2, n)) of every rendered excerpt."""
    songs = json.loads((data / "index.json").read_text())["songs"]
    out = []
    for s in songs:
        z = np.load(data / f"{s}.npz")
        x = z["x"].astype(np.float32)
        n = x.shape[1]
        y = np.stack([targets(z["beats"], n), targets(z["downbeats"], n)])
        out.append((s, x, y))
    return out


def _batch(items: list, rng: np.random.Generator, size: int) -> tuple:
    import torch

    xs, ys = [], []
    for i in rng.integers(0, len(items), size):
        _, x, y = items[i]
        n = x.shape[1]
        a = int(rng.integers(0, max(1, n - CROP)))
        xc, yc = x[:, a:a + CROP], y[:, a:a + CROP]
        if xc.shape[1] < CROP:
            pad = CROP - xc.shape[1]
            xc = np.pad(xc, ((0, 0), (0, pad)))
            yc = np.pad(yc, ((0, 0), (0, pad)))
        xs.append(xc)
        ys.append(yc)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def evaluate_loss(model, items: list) -> float:
    """Mean per-frame BCE over whole held-out excerpts."""
    import torch
    import torch.nn.functional as tf

    model.eval()
    total, frames = 0.0, 0
    with torch.no_grad():
        for _, x, y in items:
            z = model(torch.from_numpy(x)[None])[0]
            total += float(tf.binary_cross_entropy_with_logits(z, torch.from_numpy(y),
                                                               reduction="sum")) / 2
            frames += x.shape[1]
    model.train()
    return total / max(frames, 1)


def train(data: Path, out: Path, minutes: float, batch: int = 16, lr: float = 2e-3) -> dict:
    """Train within ``minutes`` of wall time; write ``out`` (+ sha256); return a summary."""
    import torch
    import torch.nn.functional as tf

    from musicapp.models.weights import save_state
    from musicapp_lab.analysis.beat_model.model import CHANNELS, DILATIONS, BeatTCN

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    items = load(data)
    order = rng.permutation(len(items))
    n_val = max(2, len(items) // 10)
    val = [items[i] for i in order[:n_val]]
    tr = [items[i] for i in order[n_val:]]
    model = BeatTCN()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_frames = sum(x.shape[1] for _, x, _ in tr)
    steps = max(1, n_frames // (batch * CROP))
    t0 = time.time()
    best, best_state, history, epoch = float("inf"), None, [], 0
    dropped = False
    while time.time() - t0 < minutes * 60:
        epoch += 1
        run = 0.0
        for _ in range(steps):
            x, y = _batch(tr, rng, batch)
            loss = tf.binary_cross_entropy_with_logits(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run += float(loss.detach())
        v = evaluate_loss(model, val)
        history.append((epoch, run / steps, v))
        print(f"epoch {epoch} train {run / steps:.4f} val {v:.4f} {time.time() - t0:.0f}s",
              flush=True)
        if v < best:
            best = v
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        if not dropped and time.time() - t0 > 0.7 * minutes * 60:  # last 30 %: lr / 4
            dropped = True
            for g in opt.param_groups:
                g["lr"] = lr / 4
    assert best_state is not None
    config = {"channels": CHANNELS, "dilations": list(DILATIONS), "crop": CROP, "seed": SEED}
    summary = {"train_songs": [s for s, _, _ in tr], "val_songs": [s for s, _, _ in val],
               "epochs": epoch, "best_val_bce": best, "minutes": (time.time() - t0) / 60,
               "history": history}
    digest = save_state(out, best_state, metadata={"config": json.dumps(config),
                                                   "best_val_bce": f"{best:.5f}"})
    summary["sha256"] = digest
    out.with_name(out.stem + "_train.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> None:
    """Command line: train and write the weights."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("data/beatnet"))
    ap.add_argument("--out", type=Path, default=Path("resources/models/beatnet.safetensors"))
    ap.add_argument("--minutes", type=float, default=15.0)
    args = ap.parse_args(argv)
    s = train(args.data, args.out, args.minutes)
    print(f"best val BCE {s['best_val_bce']:.4f} after {s['epochs']} epochs, "
          f"{s['minutes']:.1f} min; sha256 {s['sha256']}")


if __name__ == "__main__":
    main()
