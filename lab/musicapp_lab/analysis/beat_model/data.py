"""Training data for the learned beat activation: POP909 excerpts (MIT) with exact beats.

Only songs the realistic evaluation set never uses are rendered: every development song (number
divisible by 4) is excluded, and so are the first :data:`EVAL_BUFFER` songs of the evaluation pool
in the order the evaluation builder draws them (it needs ~72 of them for its 70 excerpts); the
same rule as the chord model's training data. Split by song, one excerpt per song.

Each excerpt is the evaluation builder's own :func:`~musicapp_lab.analysis.evalset.pop909.load_song`
(30-45 s from the first downbeat with a chord; a Groove MIDI drum performance, CC BY 4.0, warped
onto the beat grid on half of the 4/4 songs), then re-voiced on GM programs drawn from a broad
pool and time-stretched by a random factor (0.8-1.25; the shipped model: tempi then stay near
POP909's annotated ones, median 74 BPM) or, with ``--wide-tempo``, to a random tempo
(log-uniform 55-200 BPM, stretch 0.45-2.2; a second model, worse on the development split -
see the model card), rendered with the project's
renderer (:mod:`musicapp_lab.analysis.render`). Beat and downbeat times come from POP909's
``beat_midi.txt`` (exact for the MIDI that is rendered). Stored per excerpt: the network input
(:func:`musicapp.analysis.beat_model.input_features`, float16) and the beat/downbeat times.

Run: ``nice -n 5 python -m musicapp_lab.analysis.beat_model.data --pop909 data/pop909/POP909
--groove data/groove --out data/beatnet --songs 200``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

EVAL_BUFFER = 150
TRAIN_SEED = 1111
PROGRAM_POOL = (*range(0, 8), 11, 12, 13, *range(16, 32), *range(40, 50), 52, 53, *range(56, 96))
#: time-stretch factors of the shipped model's excerpts (uniform)
STRETCH = (0.8, 1.25)
#: ``--wide-tempo``: target tempi (log-uniform), stretch factors kept within WIDE_STRETCH
TEMPO_RANGE = (55.0, 200.0)
WIDE_STRETCH = (0.45, 2.2)


def training_songs(root: Path, count: int | None = None) -> list[str]:
    """POP909 songs never used by the realistic set (neither dev nor eval), in a fixed order."""
    from musicapp_lab.analysis.evalset.pop909 import songs_outside_the_evaluation

    return songs_outside_the_evaluation(root, TRAIN_SEED, EVAL_BUFFER, count)


def training_piece(root: Path, song: str, groove: list[Path], wide_tempo: bool = False):
    """The training excerpt of ``song`` as a :class:`~musicapp_lab.analysis.evalset.piece.Piece`
    (time-stretched, re-voiced, its level in ``extra["gain"]``), or None when the song's
    annotations do not fit (as in the evaluation builder). Every draw comes from the song's seed."""
    from musicapp_lab.analysis.evalset.pop909 import load_song
    from musicapp_lab.analysis.render import DRUM_CHANNEL

    rng = np.random.default_rng([TRAIN_SEED, int(song)])
    piece = load_song(root, song, rng, groove, float(rng.uniform(30.0, 45.0)))
    if piece is None or not piece.beats:
        return None
    if wide_tempo:
        target = float(np.exp(rng.uniform(*np.log(TEMPO_RANGE))))
        s = float(np.clip(piece.tempo / target, *WIDE_STRETCH))  # time factor: tempo / s
    else:
        s = float(rng.uniform(*STRETCH))
    notes = [dataclasses.replace(n, start=n.start * s,
                                 end=(n.start + 0.1) * s if n.channel == DRUM_CHANNEL
                                 else n.end * s) for n in piece.notes]
    programs = {ch: int(rng.choice(PROGRAM_POOL)) for ch in piece.programs}
    gain = float(10 ** (rng.uniform(-20, 0) / 20))
    return dataclasses.replace(
        piece, name=f"train-{song}", notes=notes, programs=programs,
        key_segments=[(a * s, b * s, pc, m) for a, b, pc, m in piece.key_segments],
        chords=[(a * s, b * s, lab) for a, b, lab in piece.chords],
        beats=[b * s for b in piece.beats], downbeats=[b * s for b in piece.downbeats or []],
        tempo=piece.tempo / s, duration=piece.duration * s,
        description=f"{piece.description}, stretch {s:.3f}",
        extra={**piece.extra, "gain": gain, "stretch": s})


def render_excerpt(root: Path, song: str, groove: list[Path],
                   wide_tempo: bool = False) -> tuple[np.ndarray, dict] | None:
    """(features (128, n) float16, truth) of one training excerpt; None when the song's
    annotations do not fit (as in the evaluation builder)."""
    from musicapp.analysis.beat_model import input_features
    from musicapp_lab.analysis.render import render_notes

    piece = training_piece(root, song, groove, wide_tempo)
    if piece is None:
        return None
    y = render_notes(piece.notes, piece.programs, sample_rate=22050)
    y = y * piece.extra["gain"]
    x = input_features(y).astype(np.float16)
    truth = {"song": song, "beats": piece.beats, "downbeats": piece.downbeats,
             "meter": piece.meter, "tempo": piece.tempo, "stretch": piece.extra["stretch"],
             "programs": piece.programs, "drums": "drums" in piece.description,
             "duration": y.size / 22050}
    return x, truth


def build(root: Path, groove_root: Path | None, out: Path, songs: list[str],
          wide_tempo: bool = False) -> None:
    """Render ``songs`` into ``out/NNN.npz`` (+ ``index.json``); songs already there are kept."""
    from musicapp_lab.analysis.evalset.pop909 import groove_files

    out.mkdir(parents=True, exist_ok=True)
    groove = groove_files(groove_root) if groove_root else []
    done = []
    t0 = time.time()
    for i, song in enumerate(songs):
        path = out / f"{song}.npz"
        if not path.is_file():
            r = render_excerpt(root, song, groove, wide_tempo)
            if r is None:
                continue
            x, truth = r
            np.savez(path, x=x, beats=np.array(truth["beats"]),
                     downbeats=np.array(truth["downbeats"]), truth=json.dumps(truth))
        done.append(song)
        if i % 10 == 0:
            print(f"{i + 1}/{len(songs)} {song} {time.time() - t0:.0f}s", flush=True)
        (out / "index.json").write_text(json.dumps({"songs": done}))


def main(argv: list[str] | None = None) -> None:
    """Command line: render the training excerpts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pop909", type=Path, required=True)
    ap.add_argument("--groove", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("data/beatnet"))
    ap.add_argument("--songs", type=int, default=200)
    ap.add_argument("--wide-tempo", action="store_true",
                    help="stretch to tempi log-uniform in 55-200 BPM (second model, not shipped)")
    args = ap.parse_args(argv)
    build(args.pop909, args.groove, args.out, training_songs(args.pop909, args.songs),
          args.wide_tempo)


if __name__ == "__main__":
    main()
