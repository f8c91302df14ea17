"""Training excerpts for the learned key scorer, cut from the chord recogniser's rendered songs.

The chord model's data (``data/chordcnn/NNN.npz``, :mod:`musicapp_lab.analysis.chord_model.data`)
holds whole POP909 training songs (none of them a development or evaluation song) rendered from
the same first downbeat with a chord that the realistic set's excerpts start at, as
beat-synchronous 84-semitone spectra on the product's own beat grid. Here each song gives its
opening excerpt (30-45 s, as the evaluation builder cuts it) and :data:`EXTRA` more excerpts of
the same lengths at random places. For each excerpt the product's own code computes what the key
reads: treble/bass chroma sums (silent segments zeroed) and the chord labels decoded on the
excerpt alone, by the learned emission (the product default) and by the templates. Truth: the
longest ``key_audio.txt`` key inside the excerpt, as the evaluation builder takes it.

Run: ``python -m musicapp_lab.analysis.key_model.data --pop909 data/pop909/POP909
--songs data/chordcnn --out data/keymodel/excerpts.json`` (about 3 minutes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

EXTRA = 5
SEED = 1111


def excerpt_inputs(spec: np.ndarray, bounds_s: np.ndarray, silent: np.ndarray, a: int,
                   b: int) -> dict:
    """What the key reads from segments ``a:b`` of a song: chroma sums, segment durations and
    chord labels decoded on those segments alone (learned emission and templates)."""
    from musicapp.analysis import api
    from musicapp.analysis import chords as chords_mod
    from musicapp.analysis import features as F

    notes = spec[:, a:b].astype(np.float32)
    treble, bass = F.bass_treble_chroma(F.suppress_partials(notes, api.PARTIAL_STRENGTH))
    sil = silent[a:b]
    dur = np.diff(bounds_s[a:b + 1])
    kc = treble * dur[None, :]
    bc = bass * dur[None, :]
    kc[:, sil] = 0.0
    bc[:, sil] = 0.0
    learned = chords_mod.decode_chords(treble, bass, sil, chords_mod.ChordParams(), notes=notes)
    templ = chords_mod.decode_chords(treble, bass, sil,
                                     chords_mod.ChordParams(emission="templates"), notes=notes)
    return {"key_chroma": kc.sum(axis=1).tolist(), "bass_chroma": bc.sum(axis=1).tolist(),
            "durations": dur.tolist(), "learned": learned, "templates": templ}


def main_key(key_segments: list, a: float, b: float) -> tuple[int, str] | None:
    """The longest annotated key inside ``a..b`` seconds (the evaluation builder's rule)."""
    best, cover = None, 0.0
    for ka, kb, pc, mode in key_segments:
        ov = min(b, kb) - max(a, ka)
        if ov > cover:
            best, cover = (int(pc), str(mode)), ov
    return best


def song_excerpts(root: Path, npz: Path, rng: np.random.Generator) -> list[dict]:
    """The opening excerpt and :data:`EXTRA` random ones of one rendered song."""
    from musicapp_lab.analysis.evalset.pop909 import load_song

    song = npz.stem
    piece = load_song(root, song, np.random.default_rng(0), [], 900.0)
    if piece is None:
        return []
    d = np.load(npz)
    spec, bounds_s, silent = d["spec"], d["bounds"], d["silent"]
    total = float(bounds_s[-1])
    out = []
    for j in range(EXTRA + 1):
        length = float(rng.uniform(30.0, 45.0))
        start = 0.0 if j == 0 else float(rng.uniform(0.0, max(0.0, total - length)))
        a = int(np.searchsorted(bounds_s, start - 1e-6))
        b = int(np.searchsorted(bounds_s, start + length + 1e-6, side="right")) - 1
        if b - a < 16:
            continue
        truth = main_key(piece.key_segments, float(bounds_s[a]), float(bounds_s[b]))
        if truth is None:
            continue
        ex = excerpt_inputs(spec, bounds_s, silent, a, b)
        ex.update({"song": song, "opening": j == 0, "start": float(bounds_s[a]),
                   "end": float(bounds_s[b]), "key": list(truth)})
        out.append(ex)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: write the training excerpts' key inputs as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pop909", type=Path, required=True)
    ap.add_argument("--songs", type=Path, default=Path("data/chordcnn"))
    ap.add_argument("--out", type=Path, default=Path("data/keymodel/excerpts.json"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(SEED)
    rows = []
    files = sorted(args.songs.glob("*.npz"))
    for i, npz in enumerate(files):
        rows += song_excerpts(args.pop909, npz, rng)
        if i % 25 == 0:
            print(f"{i}/{len(files)} songs, {len(rows)} excerpts", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows))
    print(f"{len(rows)} excerpts of {len({r['song'] for r in rows})} songs -> {args.out}")


if __name__ == "__main__":
    main()
