"""Build and load the rendered evaluation / development sets (audio + ground-truth JSON).

Splits are disjoint: generated pieces use different seeds, corpus pieces different works
(development: chorales Riemenschneider 1-6 and Monteverdi book 5; evaluation: the rest).

Every file of a set (WAV, truth JSON, ``index.json``) is written atomically, as a new file
renamed into place: a copy of a cache made with hard links (``cp -al``) and built further never
changes the original's files (an in-place ``index.json`` write once made the original's
``dev-real`` index list OpenEWLD pieces rendered only in the copy).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicapp_lab.analysis.evalset.corpus import analysis_files, load_corpus_piece
from musicapp_lab.analysis.evalset.piece import Piece
from musicapp_lab.analysis.evalset.progressions import EVAL_TEMPI, make_progression_piece
from musicapp_lab.analysis.render import render_notes

SAMPLE_RATE = 22050
SPLIT_SEEDS = {"eval": 2026, "dev": 7}
SPLIT_GENERATED = {"eval": 48, "dev": 24}
FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``$MUSICAPP_CACHE`` or the per-user cache dir (``~/.cache/musicapp``) + ``analysis-eval``."""
    env = os.environ.get("MUSICAPP_CACHE")
    if env:
        return Path(env) / "analysis-eval"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("musicapp")) / "analysis-eval"


def _is_dev_corpus(path: Path) -> bool:
    name = path.name
    if name.startswith("riemenschneider"):
        return int(name[len("riemenschneider"):len("riemenschneider") + 3]) <= 6
    return name.startswith("madrigal.5.")


def split_pieces(split: str, include_corpus: bool = True,
                 n_generated: int | None = None) -> Iterator[Piece]:
    """Yield the pieces of ``split`` ("eval" or "dev") in a stable order."""
    seed = SPLIT_SEEDS[split]
    count = SPLIT_GENERATED[split] if n_generated is None else n_generated
    for i in range(count):
        tonic = (i * 7) % 12
        mode = "major" if (i // 12) % 2 == 0 else "minor"
        tempo = EVAL_TEMPI[(i * 5) % len(EVAL_TEMPI)]
        yield make_progression_piece(seed, i, tempo=tempo, tonic=tonic, mode=mode)
    if not include_corpus:
        return
    for path in analysis_files():
        if _is_dev_corpus(path) != (split == "dev"):
            continue
        piece = load_corpus_piece(path, seed)
        if piece is not None:
            yield piece


@dataclass
class Item:
    """One rendered piece on disk."""

    name: str
    audio_path: Path
    truth: dict

    def load(self) -> tuple[np.ndarray, int]:
        """Return (mono float32 samples, sample rate)."""
        from musicapp.audio import load_audio

        audio = load_audio(self.audio_path, sr=None)
        return audio.samples, audio.sample_rate


def build(split: str, cache_dir: Path | None = None, force: bool = False,
          progress: Callable[[str], None] | None = None, include_corpus: bool = True,
          n_generated: int | None = None) -> Path:
    """Render every piece of ``split`` into ``cache_dir/split`` (skips pieces already there).

    ``include_corpus=False`` / ``n_generated`` build a smaller set (used by the tests).
    """
    out = (cache_dir or default_cache_dir()) / split
    return render_pieces(split_pieces(split, include_corpus, n_generated), out, force, progress,
                         label=split)


def render_pieces(pieces: Iterable[Piece], out: Path, force: bool = False,
                  progress: Callable[[str], None] | None = None, label: str = "") -> Path:
    """Render ``pieces`` (audio WAV + truth JSON each) into ``out`` and write its index."""
    from musicapp.audio import write_wav

    out.mkdir(parents=True, exist_ok=True)
    names = []
    for piece in pieces:
        wav = out / f"{piece.name}.wav"
        meta = out / f"{piece.name}.json"
        names.append(piece.name)
        if wav.is_file() and meta.is_file() and not force:
            continue
        y = render_notes(piece.notes, piece.programs, sample_rate=SAMPLE_RATE)
        y = (y * float(piece.extra.get("gain", 1.0))).astype(np.float32)
        write_wav(wav, y, SAMPLE_RATE)
        _write(meta, json.dumps(piece.truth()))
        if progress:
            progress(f"{label}: {piece.name} ({piece.duration:.0f} s, {piece.description})")
    _write(out / "index.json", json.dumps({"version": FORMAT_VERSION, "pieces": names}))
    return out


def _write(path: Path, text: str) -> None:
    """Replace ``path`` by a new file (never writing through a hard link into another copy)."""
    from musicapp_lab.cli._out import write_text

    write_text(path, text, force=True, kind="JSON")


def build_realistic(split: str, cache_dir: Path | None = None, *, pop909: Path | None = None,
                    groove: Path | None = None, openewld: Path | None = None,
                    force: bool = False, progress: Callable[[str], None] | None = None,
                    count: int | None = None) -> Path:
    """Render the realistic set of ``split`` (POP909 excerpts, OpenEWLD lead sheets) from local
    copies into ``cache_dir/<split>-real``. Raises FileNotFoundError naming a missing copy.

    Pieces of a source not built in this call stay in the set's index (building OpenEWLD alone
    keeps the POP909 pieces already there, and the other way round)."""
    from musicapp_lab.analysis.evalset.pop909 import pop909_pieces

    if pop909 is None and openewld is None:
        raise FileNotFoundError("no local copy given: pass --pop909 DIR (POP909/ folder of "
                                "music-x-lab/POP909-Dataset) and/or --openewld DIR (a copy of "
                                "00sapo/OpenEWLD)")
    if openewld is not None:
        from musicapp_lab.analysis.evalset.openewld import SPLIT_COUNTS, sheet_files

        if split not in SPLIT_COUNTS:
            raise FileNotFoundError(f"split {split!r} has no OpenEWLD part (only "
                                    f"{', '.join(SPLIT_COUNTS)}); build it without --openewld")
        sheet_files(openewld)  # fails early, naming the folder, when it holds no lead sheets

    def pieces() -> Iterator[Piece]:
        if pop909 is not None:
            yield from pop909_pieces(pop909, split, groove, count)
        if openewld is not None:
            from musicapp_lab.analysis.evalset.openewld import openewld_pieces

            yield from openewld_pieces(openewld, split, count, groove)

    out = (cache_dir or default_cache_dir()) / f"{split}-real"
    built = {name for name, root in (("pop909", pop909), ("openewld", openewld))
             if root is not None}
    kept = _kept_names(out, built)
    render_pieces(pieces(), out, force, progress, label=f"{split}-real")
    if kept:
        names = json.loads((out / "index.json").read_text())["pieces"]
        _write(out / "index.json", json.dumps({"version": FORMAT_VERSION,
                                               "pieces": kept + names}))
    return out


def _kept_names(out: Path, built: set[str]) -> list[str]:
    """Names in ``out``'s index whose source is not in ``built`` (and whose files exist)."""
    index = out / "index.json"
    if not index.is_file():
        return []
    kept = []
    for name in json.loads(index.read_text())["pieces"]:
        meta, wav = out / f"{name}.json", out / f"{name}.wav"
        if meta.is_file() and wav.is_file() and \
                json.loads(meta.read_text()).get("source") not in built:
            kept.append(name)
    return kept


def load_split(split: str, cache_dir: Path | None = None) -> list[Item]:
    """Items of a built split, read from its own folder ``cache_dir/split``.

    Raises:
        FileNotFoundError: the split has not been built, or its index lists pieces whose audio
            or truth file is not in that folder (the message names them and how to repair it).
    """
    out = (cache_dir or default_cache_dir()) / split
    index = out / "index.json"
    if not index.is_file():
        raise FileNotFoundError(f"{out}: evaluation set not built (run with --build)")
    names = json.loads(index.read_text())["pieces"]
    missing = [n for n in names
               if not (out / f"{n}.wav").is_file() or not (out / f"{n}.json").is_file()]
    if missing:
        sources = sorted({n.split("-", 1)[0] for n in missing})
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise FileNotFoundError(
            f"{out}: {len(missing)} of the {len(names)} pieces its index.json lists are not in "
            f"that folder ({shown}; source {', '.join(sources)}): the index names pieces rendered "
            "elsewhere (another cache) or deleted. Rebuild the set with --build and the sources "
            "it should hold (pieces already rendered are kept, the index then lists only pieces "
            "present)")
    return [Item(n, out / f"{n}.wav", json.loads((out / f"{n}.json").read_text()))
            for n in names]
