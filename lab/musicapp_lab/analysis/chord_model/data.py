"""Training data for the learned chord recogniser: POP909 songs (MIT) rendered with exact labels.

Only songs that the realistic evaluation set can never use are rendered: the whole development
pool (song numbers divisible by 4) is excluded, and so are the first :data:`EVAL_BUFFER` songs of
the evaluation pool in the order the evaluation builder draws them (it uses the first ~72 for its
70 excerpts). The split is by song. Each song is rendered whole with the project's renderer
(:mod:`musicapp_lab.analysis.render`, via the evaluation builder's own
:func:`~musicapp_lab.analysis.evalset.pop909.load_song`) on randomly chosen GM programs from a
broad pool, random track levels and overall gain, with a Groove MIDI drum performance on half of
the 4/4 songs. Features are what the product's decoder sees: the beat-synchronous 84-semitone
spectrum on the app's own beat grid (:func:`beat_segments`), labelled by the POP909 chord that
covers most of each segment.

Run: ``python -m musicapp_lab.analysis.chord_model.data --pop909 data/pop909/POP909
--groove data/groove --out data/chordcnn [--songs 320] [--part 0/2]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from musicapp.analysis.labels import N_CHORDS, QUALITY_NAMES, quality_from_pitch_classes

EVAL_BUFFER = 150
#: GM programs the training renders draw from (pitched families; wider than the evaluation set's)
PROGRAM_POOL = (*range(0, 8), 11, 12, 13, *range(16, 32), *range(40, 50), 52, 53, *range(56, 96))
TRAIN_SEED = 4242
IGNORE = -1


def training_songs(root: Path, count: int | None = None) -> list[str]:
    """POP909 songs never used by the realistic set (neither dev nor eval), in a fixed order."""
    from musicapp_lab.analysis.evalset.pop909 import songs_outside_the_evaluation

    return songs_outside_the_evaluation(root, TRAIN_SEED, EVAL_BUFFER, count)


def label_class(label: str) -> int:
    """Decoder class of a Harte label (root x quality, N = :data:`N_CHORDS`); IGNORE when the
    chord is outside the vocabulary (aug, X) or unreadable."""
    import mir_eval

    if label == "N":
        return N_CHORDS
    try:
        root, bitmap, _ = mir_eval.chord.encode(label)
    except Exception:
        return IGNORE
    if root < 0:
        return IGNORE
    q = quality_from_pitch_classes(0, {int(i) for i in np.flatnonzero(bitmap)})
    if q not in QUALITY_NAMES:
        return IGNORE
    return int(root) * len(QUALITY_NAMES) + QUALITY_NAMES.index(q)


def segment_labels(bounds_s: np.ndarray, chords: list) -> np.ndarray:
    """Class of the chord covering most of each segment ``bounds_s[i]:bounds_s[i+1]`` (N where
    nothing is annotated)."""
    out = np.full(len(bounds_s) - 1, N_CHORDS, dtype=np.int64)
    classes = [label_class(lab) for _, _, lab in chords]
    for i in range(len(bounds_s) - 1):
        a, b = bounds_s[i], bounds_s[i + 1]
        best, cover = N_CHORDS, 0.0
        for (ca, cb, _), c in zip(chords, classes, strict=True):
            ov = min(b, cb) - max(a, ca)
            if ov > cover:
                best, cover = c, ov
        if cover < 0.5 * (b - a):  # mostly unannotated or between two chords: N only if no chord
            best = best if cover > 0 else N_CHORDS
        out[i] = best
    return out


def beat_segments(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(semitone spectrum per segment (84, m), segment bounds in seconds (m + 1), silent (m,))
    on the beat grid :func:`musicapp.analysis.analyze_music` finds, as its chord decoder sees it."""
    from musicapp.analysis import analyze_music, api
    from musicapp.analysis import features as F

    res = analyze_music(y, F.SAMPLE_RATE)
    fr = F.compute_frames(y)
    n = fr.n_frames
    beat_frames = np.round(np.asarray(res.beats) * F.FPS).astype(int)
    if beat_frames.size >= 4:
        bounds = np.unique(np.concatenate([[0], beat_frames, [n]]))
    else:
        step = max(1, int(round(api.FALLBACK_SEGMENT_S * F.FPS)))
        bounds = np.unique(np.concatenate([np.arange(0, n, step), [n]]))
    spec = F.segment_mean(fr.semitones, bounds).astype(np.float32)
    seg_rms = F.segment_mean(fr.rms[None, :], bounds)[0]
    ref = max(float(fr.rms.max()), 1e-12)
    silent = 20 * np.log10(np.maximum(seg_rms, 1e-12) / ref) < api.SILENCE_DB
    bounds_s = bounds / F.FPS
    bounds_s[-1] = y.size / F.SAMPLE_RATE
    return spec, bounds_s, silent


def render_song(root: Path, song: str, groove: list[Path], seed: int) -> tuple[np.ndarray, dict]:
    """Render a whole POP909 song on random programs/levels; (audio at 22050 Hz, truth dict)."""
    from musicapp_lab.analysis.evalset.pop909 import load_song
    from musicapp_lab.analysis.render import DRUM_CHANNEL, Note, render_notes

    rng = np.random.default_rng([seed, int(song)])
    piece = load_song(root, song, rng, groove, 900.0)
    if piece is None:
        raise ValueError(f"POP909 {song}: annotations do not fit")
    programs = {ch: int(rng.choice(PROGRAM_POOL)) for ch in (0, 1, 2)}
    scale = {ch: float(rng.uniform(0.5, 1.2)) for ch in (0, 1, 2)}
    scale[DRUM_CHANNEL] = 1.0
    notes = [Note(n.start, n.end, n.channel, n.key,
                  int(np.clip(n.velocity * scale.get(n.channel, 1.0), 1, 127)))
             for n in piece.notes]
    y = render_notes(notes, programs, sample_rate=22050)
    y = (y * float(10 ** (rng.uniform(-18, 0) / 20))).astype(np.float32)
    truth = {"song": song, "programs": programs, "chords": piece.chords,
             "description": piece.description}
    return y, truth


def build(root: Path, groove_root: Path | None, out: Path, songs: list[str],
          seed: int = TRAIN_SEED) -> None:
    """Render ``songs`` and write ``out/<song>.npz`` (spec, labels, bounds, silent) + JSON.

    ``out`` is a resumable cache: songs already there are skipped (no ``--force``), and each
    file is written atomically, so a killed run never leaves a half-written song behind."""
    from musicapp_lab.analysis.evalset.pop909 import groove_files
    from musicapp_lab.cli._out import write_json, write_out

    out.mkdir(parents=True, exist_ok=True)
    groove = groove_files(groove_root) if groove_root else []
    for song in songs:
        target = out / f"{song}.npz"
        if target.is_file():
            continue
        try:
            y, truth = render_song(root, song, groove, seed)
        except ValueError as exc:
            print(f"skip {song}: {exc}", flush=True)
            continue
        spec, bounds_s, silent = beat_segments(y)
        labels = segment_labels(bounds_s, truth["chords"])
        write_json(out / f"{song}.json", truth, force=True)

        def save(tmp: str, spec=spec, labels=labels, bounds=bounds_s, silent=silent) -> None:
            with open(tmp, "wb") as fh:  # (a file object: savez would add ".npz" to a name)
                np.savez_compressed(fh, spec=spec, labels=labels, bounds=bounds, silent=silent)

        write_out(target, save, force=True, kind="features")  # last: it marks the song done
        print(f"{song}: {y.size / 22050:.0f} s, {spec.shape[1]} segments, programs "
              f"{truth['programs']}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Command line: render the training songs' features."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pop909", type=Path, required=True)
    ap.add_argument("--groove", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("data/chordcnn"))
    ap.add_argument("--songs", type=int, default=320)
    ap.add_argument("--part", default="0/1", help="i/n: this process renders every n-th song")
    args = ap.parse_args(argv)
    i, n = (int(v) for v in args.part.split("/"))
    songs = training_songs(args.pop909, args.songs)[i::n]
    build(args.pop909, args.groove, args.out, songs)


if __name__ == "__main__":
    main()
