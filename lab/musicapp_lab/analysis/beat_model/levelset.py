"""Audio development data for the tactus and downbeat choice (the training excerpts, rendered).

Two sets in the evaluation cache format (``index.json`` + WAV + truth JSON per piece), so that
``evaluate_split`` scores them like the development split:

* ``train-real``: the beat model's POP909 training excerpts (:func:`~.data.training_piece`: songs
  outside every evaluation split, time-stretched and re-voiced), as audio;
* ``train-gen``: generated progressions (the old set's generator) with a seed of their own
  (:data:`GEN_SEED`, neither the dev nor the eval seed), tempi drawn from the generator's range,
  so that a chooser fitted on them does not learn POP909's slow beat level alone.

Run: ``nice -n 5 python -m musicapp_lab.analysis.beat_model.levelset --pop909 data/pop909/POP909
--groove data/groove --out data/tactus``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

GEN_SEED = 4242
GEN_COUNT = 60


def real_pieces(root: Path, groove_root: Path | None, count: int) -> Iterator:
    """The training excerpts of the first ``count`` training songs (those that fit)."""
    from musicapp_lab.analysis.beat_model.data import training_piece, training_songs
    from musicapp_lab.analysis.evalset.pop909 import groove_files

    groove = groove_files(groove_root) if groove_root else []
    for song in training_songs(root, count):
        piece = training_piece(root, song, groove)
        if piece is not None:
            yield piece


def generated_pieces(count: int = GEN_COUNT) -> Iterator:
    """Generated progressions with :data:`GEN_SEED` (random key, mode, tempo and meter)."""
    import dataclasses

    from musicapp_lab.analysis.evalset.dataset import SPLIT_SEEDS
    from musicapp_lab.analysis.evalset.progressions import make_progression_piece

    assert GEN_SEED not in SPLIT_SEEDS.values()
    for i in range(count):
        piece = make_progression_piece(GEN_SEED, i)
        yield dataclasses.replace(piece, name=f"train-gen-{i:03d}")


def main(argv: list[str] | None = None) -> None:
    """Command line: render both sets into ``--out``."""
    from musicapp_lab.analysis.evalset.dataset import render_pieces

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pop909", type=Path, required=True)
    ap.add_argument("--groove", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("data/tactus"))
    ap.add_argument("--songs", type=int, default=200)
    args = ap.parse_args(argv)
    render_pieces(generated_pieces(), args.out / "train-gen", progress=print, label="train-gen")
    render_pieces(real_pieces(args.pop909, args.groove, args.songs), args.out / "train-real",
                  progress=print, label="train-real")


if __name__ == "__main__":
    main()
