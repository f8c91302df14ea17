"""Train ChordGRU on the song-split real corpus (CPU in minutes; GPU when present)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from musicapp.compose.conditioning import COND_DIM, METER_FAMILIES, STYLES
from musicapp.compose.model import DEFAULT_WEIGHTS, GRUConfig, save_weights
from musicapp_lab.compose.dataset import (
    EOS,
    N_DUR,
    PAD,
    Sequence,
    Vocab,
    dur_class_bar,
    encode_windows,
    eval_condition,
    group_conditions,
    load_sequences,
    ngram_hashes,
    split_sequences,
)


def prepare(seed: int = 0, exclude_source: str | None = None
            ) -> tuple[list[Sequence], dict[str, list[Sequence]], Vocab]:
    """Load sequences, split by song, build the vocabulary from the training split."""
    seqs = load_sequences()
    splits = split_sequences(seqs, seed, exclude_source=exclude_source)
    vocab = Vocab.build(splits["train"])
    return seqs, splits, vocab


def full_batch(seqs: list[Sequence], vocab: Vocab, groups: dict[str, list[float]],
               style: str | None = "own"
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole sequences, padded: inputs [BOS, ids], input durations, targets [ids, EOS], and the
    evaluation condition (style, mode, meter; group-mean labels)."""
    L = max(len(s.tokens) for s in seqs) + 1
    inp = np.full((len(seqs), L), PAD, dtype=np.int64)
    ind = np.full((len(seqs), L), N_DUR, dtype=np.int64)
    tgt = np.full((len(seqs), L), PAD, dtype=np.int64)
    cond = np.zeros((len(seqs), COND_DIM), dtype=np.float32)
    for i, s in enumerate(seqs):
        ids = vocab.encode(s.tokens)
        inp[i, : len(ids) + 1] = [1, *ids]
        ind[i, 1: len(ids) + 1] = [dur_class_bar(b, s.bar_beats) for b in s.beats]
        tgt[i, : len(ids) + 1] = [*ids, EOS]
        cond[i] = eval_condition(s, groups, style)
    return inp, ind, tgt, cond


def torch_eval(model, seqs: list[Sequence], vocab: Vocab, groups: dict[str, list[float]],
               device: str = "cpu", style: str | None = "own") -> dict[str, float]:
    """Perplexity and top-1 accuracy of the torch model on whole sequences."""
    import torch

    model.eval()
    inp, ind, tgt, cond = full_batch(seqs, vocab, groups, style)
    nll = 0.0
    correct = n = 0
    with torch.no_grad():
        for i in range(0, len(seqs), 64):
            x = torch.from_numpy(inp[i:i + 64]).to(device)
            xd = torch.from_numpy(ind[i:i + 64]).to(device)
            y = torch.from_numpy(tgt[i:i + 64]).to(device)
            c = torch.from_numpy(cond[i:i + 64]).to(device)
            logits, _ = model(x, xd, c)
            lp = torch.log_softmax(logits, -1)
            mask = y != PAD
            nll -= lp.gather(-1, y.unsqueeze(-1)).squeeze(-1)[mask].sum().item()
            pred = lp.clone()
            pred[..., :2] = -1e9  # never predict pad/bos
            correct += (pred.argmax(-1) == y)[mask].sum().item()
            n += mask.sum().item()
    model.train()
    return {"perplexity": math.exp(nll / n), "top1": correct / n, "tokens": n}


def train(out: Path = DEFAULT_WEIGHTS, *, epochs: int = 12, seed: int = 0, batch: int = 32,
          lr: float = 3e-3, device: str = "auto", log: Callable[[str], None] = print,
          threads: int = 1, hidden: int = 160, exclude_source: str | None = None,
          max_train: int | None = None, force: bool = False) -> dict:
    """Train, keep the epoch with the best validation perplexity, save safetensors + sha256
    (atomically; an existing ``out`` is refused before training, and again before saving,
    unless ``force``)."""
    from musicapp_lab.cli._out import refuse_existing

    refuse_existing(out, force=force)
    import torch
    from torch import nn

    from musicapp.compose.model import build_torch_model, torch_state_to_numpy

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    seqs, splits, vocab = prepare(seed=0, exclude_source=exclude_source)
    if max_train:
        splits["train"] = splits["train"][:max_train]
    groups = group_conditions(splits["train"])
    log(f"sequences: {len(seqs)}  train {len(splits['train'])}  valid {len(splits['valid'])}  "
        f"test {len(splits['test'])}  cross {len(splits['cross'])}  vocab {len(vocab)}  "
        f"device {device}")
    x, xd, y, d, c = encode_windows(splits["train"], vocab)
    log(f"training windows: {len(x)} x {x.shape[1]}")
    cfg = GRUConfig(vocab_size=len(vocab), cond_dim=COND_DIM, hidden=hidden, n_dur=N_DUR)
    model = build_torch_model(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    ce = nn.CrossEntropyLoss(ignore_index=PAD)
    ce_d = nn.CrossEntropyLoss(ignore_index=-1)
    X, XD, Y, D, C = (torch.from_numpy(a).to(device) for a in (x, xd, y, d, c))
    gen = torch.Generator().manual_seed(seed)
    best = (float("inf"), None, -1)
    t0 = time.time()
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch].to(device)
            logits, dlog = model(X[idx], XD[idx], C[idx])
            loss = ce(logits.reshape(-1, cfg.vocab_size), Y[idx].reshape(-1)) + \
                0.3 * ce_d(dlog.reshape(-1, cfg.n_dur), D[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        val = torch_eval(model, splits["valid"], vocab, groups, device)
        log(f"epoch {epoch:3d}  train loss {total / len(X):.3f}  valid ppl {val['perplexity']:.3f}"
            f"  top1 {val['top1']:.3f}  {time.time() - t0:.0f}s")
        if val["perplexity"] < best[0]:
            best = (val["perplexity"], {k: v.detach().clone() for k, v in
                                        model.state_dict().items()}, epoch)
    model.load_state_dict(best[1])
    test = torch_eval(model, splits["test"], vocab, groups, device)
    meta = {
        "vocab": vocab.itos,
        "config": asdict(cfg),
        "cond_version": 2,
        "dur_unit": "bar",
        "styles": list(STYLES),
        "meter_families": list(METER_FAMILIES),
        "group_conditions": groups,
        "training": {"seed": seed, "epochs": epochs, "best_epoch": best[2], "lr": lr,
                     "batch": batch, "valid_perplexity": best[0],
                     "test_perplexity": test["perplexity"], "test_top1": test["top1"],
                     "exclude_source": exclude_source,
                     "seconds": round(time.time() - t0, 1), "device": device},
    }
    tensors = torch_state_to_numpy(model)
    tensors["novelty.ngram8"] = ngram_hashes(splits["train"], 8)
    refuse_existing(out, force=force)  # one written meanwhile is kept too
    digest = save_weights(tensors, meta, Path(out))
    log(f"best epoch {best[2]}  valid ppl {best[0]:.3f}  test ppl {test['perplexity']:.3f}  "
        f"test top1 {test['top1']:.3f}")
    log(f"wrote {out}  sha256 {digest}")
    return meta["training"] | {"sha256": digest, "path": str(out)}


if __name__ == "__main__":
    print(json.dumps(train(), indent=1))
