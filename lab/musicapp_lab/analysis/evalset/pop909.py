"""Realistic evaluation pieces from POP909 (MIT): melody, bridge and piano tracks of pop songs.

Each piece is the opening 30-45 s of a song (from the first downbeat with a chord), with POP909's chord
(``chord_midi.txt``), beat/downbeat (``beat_midi.txt``) and key (``key_audio.txt``) annotations cut
to the excerpt. The three tracks are voiced by randomly chosen General MIDI programs at random
levels; where the style fits (4/4) about half the pieces get a human drum performance from the
Groove MIDI Dataset (CC BY 4.0, rock/pop/funk/soul "beat" files) warped onto the song's beat grid.

The split is by song: songs whose number is divisible by 4 are development songs, the rest
evaluation songs. The evaluation split takes its excerpts from the front of the evaluation pool's
drawing order; the second, fresh evaluation split "eval2" (see EVAL2.md) takes the next songs of
that same order, within the first :data:`EVAL_BUFFER` songs that no training set uses; the third,
"eval3" (EVAL3.md), takes songs after the buffer that no analysis training list draws. Nothing
here is trained on. The builder reads local copies the user points to; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from musicapp_lab.analysis.evalset.piece import Piece
from musicapp_lab.analysis.render import DRUM_CHANNEL, Note

MELODY_PROGRAMS = [73, 65, 56, 40, 80, 71, 11, 0, 22, 68]
BRIDGE_PROGRAMS = [48, 49, 52, 89, 11, 61, 26, 0]
PIANO_PROGRAMS = [0, 1, 2, 4, 5, 24, 25, 46, 16, 19]
GROOVE_STYLES = ("rock", "pop", "funk", "soul", "country", "gospel")
SPLIT_COUNTS = {"eval": 70, "dev": 30, "eval2": 70, "eval3": 70}
#: drawing-order and per-song seed of each song pool ("eval2" draws from the "eval" pool)
SPLIT_SEED = {"eval": 909, "dev": 90}
#: the first EVAL_BUFFER songs of the eval pool's drawing order are never trained on
EVAL_BUFFER = 150
#: splits that draw from another split's pool, after that split's excerpts
FOLLOWS = {"eval2": "eval"}
#: "eval3" (EVAL3.md): eval-pool songs after the buffer that no analysis training list draws, in
#: the order of this seed; each song is rendered with the eval pool's per-song seed
EVAL3_SEED = 3033
#: songs the analysis' training lists draw (seed: how many), with a margin over the counts used
#: (the chord model drew 340, the beat model 200; data/tactus train-real is the beat model's)
TRAINING_DRAWS = {4242: 360, 1111: 220}


def song_split(song: str) -> str:
    """"dev" for songs whose number is divisible by 4, else "eval" (the pool of eval and eval2)."""
    return "dev" if int(song) % 4 == 0 else "eval"


def check_root(root: Path, what: str, probe: str) -> Path:
    """``root`` if ``root/probe`` exists, else FileNotFoundError naming what to point to."""
    root = Path(root).expanduser()
    if not (root / probe).exists():
        raise FileNotFoundError(
            f"{root}: no {what} here (expected {root / probe}); point the builder to a local copy")
    return root


def _read_table(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts:
            rows.append(parts)
    return rows


def _key_of(label: str) -> tuple[int, str]:
    from musicapp.pitch import parse_key

    k = parse_key(label.replace(":maj", " major").replace(":min", " minor"))
    return k.pc, k.mode


def groove_files(groove_root: Path) -> list[Path]:
    """Groove MIDI 4/4 "beat" performances in pop-compatible styles, sorted."""
    out = []
    for f in sorted(Path(groove_root).rglob("*_beat_4-4.mid")):
        style = f.name.split("_")[1].split("-")[0]
        if style in GROOVE_STYLES:
            out.append(f)
    return out


def groove_notes(path: Path, beat_times: np.ndarray, t0: float, t1: float,
                 velocity_scale: float) -> list[Note]:
    """Drum notes of a Groove MIDI performance warped onto ``beat_times`` (looped, from t0 to t1).

    The performance's own tempo turns note times into beat positions (fractional), which are then
    mapped onto the song's beat times by linear interpolation; human micro-timing is kept.
    """
    import pretty_midi

    m = pretty_midi.PrettyMIDI(str(path))
    bpm = float(m.get_tempo_changes()[1][0])
    notes = [n for inst in m.instruments for n in inst.notes]
    if not notes:
        return []
    pos = np.array([n.start * bpm / 60.0 for n in notes])
    length = max(4.0, np.floor(pos.max() / 4.0) * 4.0)  # whole bars
    keep = pos < length
    out: list[Note] = []
    n_beats = beat_times.size
    idx = np.arange(n_beats, dtype=float)
    start_beat = float(np.interp(t0, beat_times, idx))
    loop = 0
    while start_beat + loop * length < n_beats - 1:
        base = start_beat + loop * length
        for n, p, k in zip(notes, pos, keep, strict=True):
            if not k:
                continue
            b = base + p
            if b >= n_beats - 1:
                continue
            t = float(np.interp(b, idx, beat_times))
            if t0 <= t < t1:
                vel = int(np.clip(n.velocity * velocity_scale, 1, 127))
                out.append(Note(t - t0, t - t0 + 0.1, DRUM_CHANNEL, int(n.pitch), vel))
        loop += 1
    return out


def load_song(root: Path, song: str, rng: np.random.Generator, groove: list[Path],
              seconds: float) -> Piece | None:
    """One excerpt of POP909 song ``song`` (None when its annotations do not fit)."""
    import pretty_midi

    folder = root / song
    m = pretty_midi.PrettyMIDI(str(folder / f"{song}.mid"))
    beats = np.array([[float(x) for x in r[:3]] for r in _read_table(folder / "beat_midi.txt")])
    if beats.shape[0] < 40:
        return None
    bt = beats[:, 0]
    down = bt[beats[:, 2] == 1]
    if down.size < 8:
        return None
    bpb = int(np.round(np.median(np.diff(np.searchsorted(bt, down)))))
    if bpb not in (3, 4):
        return None
    # the opening of the song, as a listener hears it: from the first downbeat with a chord
    first_chord = min((float(r[0]) for r in _read_table(folder / "chord_midi.txt")
                       if r[2] != "N"), default=None)
    if first_chord is None:
        return None
    cand = down[down >= first_chord - 0.1]
    if cand.size == 0:
        return None
    t0 = float(cand[0])
    t1 = min(t0 + seconds, float(bt[-1]))
    if t1 - t0 < 25.0:
        return None
    chords = []
    for a, b, lab in (r[:3] for r in _read_table(folder / "chord_midi.txt")):
        a, b = float(a), float(b)
        if b <= t0 or a >= t1:
            continue
        chords.append((max(a, t0) - t0, min(b, t1) - t0, lab))
    keys = []
    for a, b, lab in (r[:3] for r in _read_table(folder / "key_audio.txt")):
        a, b = float(a), float(b)
        if b <= t0 or a >= t1:
            continue
        pc, mode = _key_of(lab)
        keys.append((max(a, t0) - t0, min(b, t1) - t0, pc, mode))
    if not chords or not keys:
        return None
    main = max(keys, key=lambda k: k[1] - k[0])
    programs = {0: int(rng.choice(MELODY_PROGRAMS)), 1: int(rng.choice(BRIDGE_PROGRAMS)),
                2: int(rng.choice(PIANO_PROGRAMS))}
    levels = {0: float(rng.uniform(0.75, 1.1)), 1: float(rng.uniform(0.4, 0.9)),
              2: float(rng.uniform(0.6, 1.0))}
    notes: list[Note] = []
    by_name = {inst.name.upper(): inst for inst in m.instruments}
    for ch, name in ((0, "MELODY"), (1, "BRIDGE"), (2, "PIANO")):
        inst = by_name.get(name)
        if inst is None:
            continue
        for n in inst.notes:
            if t0 <= n.start < t1:
                vel = int(np.clip(n.velocity * levels[ch], 1, 127))
                notes.append(Note(n.start - t0, min(n.end, t1 + 1.0) - t0, ch, int(n.pitch), vel))
    drums = ""
    if groove and bpb == 4 and rng.random() < 0.5:
        g = groove[int(rng.integers(0, len(groove)))]
        notes += groove_notes(g, bt, t0, t1, float(rng.uniform(0.5, 0.9)))
        drums = f" drums {g.stem}"
    sel = (bt >= t0 - 1e-6) & (bt < t1)
    seg_beats = [float(b - t0) for b in bt[sel]]
    seg_down = [float(b - t0) for b in down[(down >= t0 - 1e-6) & (down < t1)]]
    ibi = np.diff(seg_beats)
    tempo = float(60.0 / np.median(ibi))
    constant = bool(np.max(np.abs(ibi / np.median(ibi) - 1.0)) < 0.02)
    return Piece(
        name=f"pop909-{song}", source="pop909", notes=notes, programs=programs,
        key=(main[2], main[3]), key_segments=keys, chords=chords, beats=seg_beats,
        downbeats=seg_down, tempo=tempo, meter=f"{bpb}/4", duration=t1 - t0,
        description=f"POP909 {song} {t0:.0f}-{t1:.0f} s, programs {programs}{drums}",
        extra={"gain": float(10 ** (rng.uniform(-18, 0) / 20)), "constant_tempo": constant},
    )


def _check_pop909(root: Path) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir() or not any((d / f"{d.name}.mid").is_file() for d in root.iterdir()
                                    if d.name.isdigit()):
        raise FileNotFoundError(f"{root}: no POP909 songs here (expected NNN/NNN.mid folders, "
                                "the POP909/ folder of music-x-lab/POP909-Dataset); point the "
                                "builder to a local copy")
    return root


def drawing_order(root: Path, pool: str) -> list[str]:
    """The songs of ``pool`` ("eval" or "dev") in the order the builder draws them."""
    songs = sorted(p.name for p in Path(root).iterdir() if p.is_dir() and p.name.isdigit()
                   and song_split(p.name) == pool)
    rng = np.random.default_rng(SPLIT_SEED[pool])
    return [songs[i] for i in rng.permutation(len(songs))]


def eval3_order(root: Path) -> list[str]:
    """The songs "eval3" draws from, in its order: eval-pool songs after the first
    :data:`EVAL_BUFFER` of the eval drawing order, minus every song the analysis' training lists
    draw (:data:`TRAINING_DRAWS`), shuffled with :data:`EVAL3_SEED`."""
    order = drawing_order(root, "eval")
    trained: set[str] = set()
    for seed, count in TRAINING_DRAWS.items():
        trained |= set(songs_outside_the_evaluation(root, seed, EVAL_BUFFER, count))
    rest = sorted(set(order[EVAL_BUFFER:]) - trained)
    return [rest[i] for i in np.random.default_rng(EVAL3_SEED).permutation(len(rest))]


def _split_pieces(root: Path, split: str, groove: list[Path],
                  count: int | None) -> Iterator[tuple[str, Piece]]:
    pool = "eval" if split == "eval3" else FOLLOWS.get(split, split)
    order = eval3_order(root) if split == "eval3" else drawing_order(root, pool)
    # a following split skips the excerpts of the split it follows and stays within the buffer
    skip = SPLIT_COUNTS[pool] if split in FOLLOWS else 0
    if split in FOLLOWS:
        order = order[:EVAL_BUFFER]
    want = SPLIT_COUNTS[split] if count is None else count
    made = 0
    for song in order:
        if made >= want:
            return
        piece_rng = np.random.default_rng([SPLIT_SEED[pool], int(song)])
        piece = load_song(root, song, piece_rng, groove, float(piece_rng.uniform(30.0, 45.0)))
        if piece is None:
            continue
        if skip:
            skip -= 1
            continue
        made += 1
        yield song, piece
    if split == "eval3" and count is None and made < want:
        raise ValueError(f"split 'eval3': only {made} of {want} songs fit among the "
                         f"{len(order)} untrained songs after the buffer")
    if split in FOLLOWS and count is None and made < want:
        raise ValueError(f"split {split!r}: only {made} of {want} songs fit within the first "
                         f"{EVAL_BUFFER} songs of the {pool!r} drawing order")


def pop909_pieces(root: Path, split: str, groove_root: Path | None = None,
                  count: int | None = None) -> Iterator[Piece]:
    """Excerpts of ``split`` ("eval", "dev", "eval2" or "eval3") songs (stable order; one per song)."""
    root = _check_pop909(root)
    groove = groove_files(check_root(groove_root, "Groove MIDI Dataset", "drummer1")) \
        if groove_root is not None else []
    for _, piece in _split_pieces(root, split, groove, count):
        yield piece


def split_songs(root: Path | str, split: str) -> list[str]:
    """The POP909 songs whose excerpts make up ``split`` (read, not rendered)."""
    root = _check_pop909(Path(root))
    return [song for song, _ in _split_pieces(root, split, [], None)]


def songs_outside_the_evaluation(root: Path | str, seed: int, buffer: int = EVAL_BUFFER,
                                 count: int | None = None) -> list[str]:
    """POP909 songs the realistic set never uses, for training: no dev-pool song, and none of the
    first ``buffer`` songs of the eval pool's drawing order (the set draws its eval excerpts from
    the front of that order); the rest shuffled with ``seed`` (the first ``count``)."""
    order = drawing_order(Path(root), "eval")
    pool = sorted(order[buffer:])
    picked = [pool[i] for i in np.random.default_rng(seed).permutation(len(pool))]
    return picked if count is None else picked[:count]
