"""Capture what the product's key step sees, once per piece, for the confidence calibration.

Each piece is analysed by :func:`musicapp.analysis.analyze_music` (the product, unchanged); the
inputs it hands to ``analyse_key`` (summed key and bass chroma, chord labels, segment lengths)
are recorded with the piece's key truth, its song (for song-grouped cross-validation) and its
length. ``--crop S`` (repeatable) also records the first S seconds of every piece (short clips: the
calibration must learn that 20 s of music is less evidence than 40 s).

Only training pieces (``data/tactus`` train-real / train-gen) and the development splits
(``dev``, ``dev-real`` of the evaluation cache) are accepted; the evaluation splits are the
lead's::

    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.key_model.capture \
        --set data/tactus:train-real --set data/tactus:train-gen --crop 10 --crop 20 \
        --out data/keymodel/calib_train.json
    OMP_NUM_THREADS=1 nice -n 5 python -m musicapp_lab.analysis.key_model.capture \
        --set CACHE:dev --set CACHE:dev-real --crop 20 --out data/keymodel/calib_dev.json
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

ALLOWED = ("train-real", "train-gen", "dev", "dev-real")


def song_group(split: str, truth: dict, name: str) -> str:
    """The song a piece comes from (POP909 number), else the piece itself."""
    m = re.search(r"POP909 (\d+)", str(truth.get("description", "")))
    return f"pop909-{int(m.group(1))}" if m else f"{split}/{name}"


def _items(split: str, cache: Path | None) -> list:
    """The built pieces of a split (pieces the index names but whose files are elsewhere, e.g.
    OpenEWLD dev pieces built into another cache, are skipped)."""
    import json as _json

    from musicapp_lab.analysis.evalset.dataset import Item, default_cache_dir

    out = (cache or default_cache_dir()) / split
    names = _json.loads((out / "index.json").read_text())["pieces"]
    return [Item(n, out / f"{n}.wav", _json.loads((out / f"{n}.json").read_text()))
            for n in names if (out / f"{n}.json").is_file() and (out / f"{n}.wav").is_file()]


def capture(sets: list[tuple[Path | None, str]], crops: tuple[float, ...] = (),
            limit: int | None = None, log=print) -> list[dict]:
    """One record per analysed piece (and per crop): key inputs, truth, song, seconds."""
    from musicapp.analysis import analyze_music, api
    seen: dict = {}
    original = api.analyse_key

    def spy(key_chroma, bass_chroma, labels, durations):
        seen["args"] = (np.asarray(key_chroma, dtype=float).tolist(),
                        np.asarray(bass_chroma, dtype=float).tolist(), list(labels),
                        np.asarray(durations, dtype=float).tolist())
        return original(key_chroma, bass_chroma, labels, durations)

    records: list[dict] = []
    api.analyse_key = spy
    try:
        for cache, split in sets:
            if split not in ALLOWED:
                raise SystemExit(f"{split}: only {ALLOWED} are captured here")
            for it in _items(split, cache)[:limit]:
                if it.truth.get("key") is None:
                    continue
                y, sr = it.load()
                variants = [("full", y)]
                for crop in crops:
                    if y.size / sr > crop + 5:
                        variants.append((f"crop{crop:g}", y[: int(crop * sr)]))
                for tag, yy in variants:
                    seen.clear()
                    analyze_music(yy, sr)
                    if "args" not in seen:  # too short / silent: no key step
                        continue
                    kc, bc, labels, durs = seen["args"]
                    records.append({
                        "split": split, "name": it.name, "variant": tag,
                        "group": song_group(split, it.truth, it.name),
                        "source": it.truth.get("source"), "truth": list(it.truth["key"]),
                        "seconds": yy.size / sr, "key_chroma": kc, "bass_chroma": bc,
                        "labels": labels, "durations": durs})
                log(f"{split} {it.name} {len(variants)}")
    finally:
        api.analyse_key = original
    return records


def _parse_set(text: str) -> tuple[Path | None, str]:
    cache, _, split = text.rpartition(":")
    return (None if cache in ("", "CACHE") else Path(cache)), split


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", required=True,
                    help="CACHE_DIR:SPLIT (CACHE = the evaluation cache)")
    ap.add_argument("--crop", type=float, action="append", default=[],
                    help="also analyse the first S seconds (repeatable)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    recs = capture([_parse_set(s) for s in args.set], tuple(args.crop), args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(recs))
    print(f"{len(recs)} records -> {args.out}")


if __name__ == "__main__":
    main()
