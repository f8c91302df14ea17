"""``musicapp evaluate library``: identification under degradations, similarity mAP of the codes.

Identification protocol
-----------------------
* Real, freely licensed music (the Debian game-music packages, see ENVIRONMENT.md): every file of
  at least ``--min-seconds``. Whole packages (soundtracks) go to the library in a seeded order
  until it holds ``--library-fraction`` of the tracks (tracks of one soundtrack share recorded
  material, see ``split_tracks``); the others are NON-library tracks, split in two halves:
  *calibration* (sets the threshold) and *test* (checks the false-positive rate at that
  threshold on unseen tracks).
* Queries: excerpts of 3, 5, 10 s at uniformly random offsets, degraded by one condition of
  ``degrade.CONDITIONS`` (pink noise 20/10/5/0 dB, reverb RT60 0.8 s + 10 dB noise, telephone band
  300-3400 Hz + 20 dB noise + soft clipping, MP3 64 kbit/s, tempo +-5 % with the pitch kept).
* One global threshold on the match score: the smallest score for which at most 1 % of the
  calibration non-library queries (all durations and conditions pooled) are accepted. A library
  query is a hit when its best track is the right one AND its score reaches the threshold.
* Reported per cell: hit rate, and the false-positive rate of the test non-library queries.

Similarity protocol (needs the tagger's codes/embeddings: ``musicapp.models.engine``)
-----------------------------------------------------------------------------------
Each real track is cut into 30 s segments; a segment's relevant items are the segments of other
tracks from the same Debian package (same game soundtrack: same composer(s) and style), segments
of its own track excluded. mAP@10 of: the tagger's hash codes (Hamming), random-projection LSH and
ITQ of the embeddings at the same bit count, and exact embedding cosine (upper bound).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from argparse import Namespace
from pathlib import Path

import numpy as np

from musicapp.filetypes import AUDIO_EXTENSIONS
from musicapp.library import fingerprint as fp
from musicapp.library.matcher import FingerprintIndex
from musicapp.library.store import LibraryError
from musicapp_lab.library import degrade

SR = fp.SAMPLE_RATE  # queries are made and degraded at the fingerprinting rate (8 kHz)


def find_tracks(root: Path, min_seconds: float) -> list[tuple[str, str, float]]:
    """``(path, package, duration)`` of real music files under ``root``."""
    import soundfile as sf

    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            path = os.path.join(dirpath, name)
            try:
                duration = sf.info(path).duration
            except Exception:
                continue
            if duration >= min_seconds:
                out.append((path, package_of(path, root), float(duration)))
    return out


def package_of(path: str, root: Path) -> str:
    """The game/package a file belongs to (first folder after usr/share[/games])."""
    parts = Path(path).relative_to(root).parts
    parts = [p for p in parts if p not in ("usr", "share", "games")]
    return parts[0] if parts else "?"


def _cached_audio(path: str, cache: Path) -> np.ndarray:
    from musicapp.library._audio import load_mono

    st = os.stat(path)
    key = hashlib.md5(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
    file = cache / f"audio8k_{key}.npy"
    if not file.exists():
        y = load_mono(path, SR)
        tmp = file.with_suffix(".tmp.npy")
        np.save(tmp, y)
        os.replace(tmp, file)
    return np.load(file, mmap_mode="r")


def _cached_fingerprint(path: str, y: np.ndarray, cache: Path) -> fp.Fingerprint:
    st = os.stat(path)
    params = (
        fp.FINGERPRINT_VERSION,
        fp.MIN_BIN,
        fp.SMOOTH_FRAMES,
        fp.PEAKS_PER_SECOND,
        fp.FAN_OUT,
        fp.PEAK_TIME_NEIGHBOURS,
        fp.PEAK_FREQ_NEIGHBOURS,
        fp.MAX_DT,
        fp.MAX_DF,
        fp.WHITEN_FRAMES,
    )
    key = hashlib.md5(f"{path}:{st.st_size}:{st.st_mtime_ns}:{params}".encode()).hexdigest()
    file = cache / f"fp_{key}.bin"
    if file.exists():
        return fp.Fingerprint.unpack(file.read_bytes())
    fingerprint = fp.compute(np.asarray(y))
    file.write_bytes(fingerprint.pack())
    return fingerprint


def split_tracks(tracks: list, fraction: float, seed: int) -> tuple[list, list, list]:
    """Seeded split BY PACKAGE into (library, calibration non-library, test non-library).

    A whole soundtrack is either in the library or not: tracks of one game reuse recorded
    material (an "enhanced" menu theme built from a level track, shared instrument phrases),
    so a non-library track of a library package would be partly the same recording. Packages
    are added to the library in a seeded order until it holds ``fraction`` of the tracks; the
    non-library tracks alternate between calibration and test.
    """
    rng = np.random.default_rng(seed)
    packages = sorted({t[1] for t in tracks})
    order = [packages[i] for i in rng.permutation(len(packages))]
    lib_packages: set[str] = set()
    for pkg in order:
        if sum(t[1] in lib_packages for t in tracks) >= fraction * len(tracks):
            break
        lib_packages.add(pkg)
    lib = [t for t in tracks if t[1] in lib_packages]
    rest = [t for t in tracks if t[1] not in lib_packages]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    return lib, rest[0::2], rest[1::2]


def _excerpt(y: np.ndarray, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    n = int(seconds * SR)
    start = int(rng.integers(0, max(1, y.size - n)))
    return np.array(y[start : start + n], dtype=np.float32), start


def run_identification(args: Namespace, log=print) -> dict:
    """The identification table (see the module docstring)."""
    root = Path(args.data)
    if not root.exists():
        raise LibraryError(f"{root}: no such folder (see ENVIRONMENT.md for the music packages)")
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    tracks = find_tracks(root, args.min_seconds)
    if len(tracks) < 10:
        raise LibraryError(f"{root}: only {len(tracks)} music files of >= {args.min_seconds} s")
    lib, calib, test = split_tracks(tracks, args.library_fraction, args.seed)
    log(
        f"tracks: {len(tracks)} ({sum(t[2] for t in tracks) / 3600:.1f} h); library {len(lib)}, "
        f"non-library calibration {len(calib)}, non-library test {len(test)}"
    )

    t0 = time.perf_counter()
    items = []
    audio: dict[str, np.ndarray] = {}
    for i, (path, _, _) in enumerate(lib):
        audio[path] = _cached_audio(path, cache)
        items.append((i, _cached_fingerprint(path, audio[path], cache)))
    for path, _, _ in calib + test:
        audio[path] = _cached_audio(path, cache)
    index = FingerprintIndex.build(items)
    lib_hours = sum(t[2] for t in lib) / 3600
    log(
        f"library index: {len(index)} landmarks for {lib_hours:.2f} h "
        f"({len(index) / lib_hours / 1e6:.2f} M/h, {index.nbytes / 2**20:.0f} MiB in memory), "
        f"built in {time.perf_counter() - t0:.1f} s"
    )

    durations = [float(d) for d in str(args.durations).split(",")]
    conditions = args.conditions.split(",") if args.conditions else list(degrade.CONDITIONS)
    n_q = int(args.queries)
    n_non = max(20, n_q // 5)  # per pool (calibration, test) and cell
    rng = np.random.default_rng(args.seed + 1)
    cells: dict[str, dict] = {}
    for dur in durations:
        for cond in conditions:
            t_cell = time.perf_counter()
            lib_rows, calib_scores, test_scores = [], [], []
            for q in range(n_q):
                i = q % len(lib)
                x, _start = _excerpt(audio[lib[i][0]], dur, rng)
                m = index.match_samples(degrade.apply(cond, x, SR, rng))
                lib_rows.append(
                    (
                        int(m is not None and m.track_id == i),
                        m.score if m else 0.0,
                        m.second_score if m else 0.0,
                        m.votes if m else 0,
                    )
                )
            for pool, scores in ((calib, calib_scores), (test, test_scores)):
                for q in range(n_non):
                    x, _ = _excerpt(audio[pool[q % len(pool)][0]], dur, rng)
                    m = index.match_samples(degrade.apply(cond, x, SR, rng))
                    scores.append((m.score, m.second_score, m.votes) if m else (0.0, 0.0, 0))
            cells[f"{dur:g}s/{cond}"] = {
                "duration_s": dur,
                "condition": cond,
                "library": lib_rows,
                "test_nonlib": test_scores,
                "calib_nonlib": calib_scores,
                "seconds": time.perf_counter() - t_cell,
            }
            rows = np.array(lib_rows)
            log(
                f"  {dur:>4g} s {cond:<13} top-1 {rows[:, 0].mean():.3f}  score median "
                f"{np.median(rows[:, 1]):.1f}  non-library max "
                f"{max(c[0] for c in calib_scores + test_scores):.1f}"
                f"  ({time.perf_counter() - t_cell:.0f} s)"
            )

    meta = {
        "library_tracks": len(lib),
        "library_packages": sorted({t[1] for t in lib}),
        "nonlib_packages": sorted({t[1] for t in calib + test}),
        "nonlib_tracks": {"calibration": len(calib), "test": len(test)},
        "library_hours": lib_hours,
        "landmarks": len(index),
    }
    return summarise(cells, meta)


def summarise(cells: dict[str, dict], meta: dict) -> dict:
    """Threshold from the calibration non-library scores of all ``cells`` pooled, then the
    per-cell hit and false-positive rates at it (the ``identification`` result)."""
    non_calib = [c[0] for cell in cells.values() for c in cell["calib_nonlib"]]
    threshold = choose_threshold(non_calib, 0.01)
    table = {}
    for name, c in cells.items():
        rows = np.array(c["library"])
        test_scores = np.array(c["test_nonlib"])[:, 0]
        table[name] = {
            "duration_s": c["duration_s"],
            "condition": c["condition"],
            "queries": len(rows),
            "top1": float(rows[:, 0].mean()),
            "hit_rate": float(np.mean((rows[:, 0] == 1) & (rows[:, 1] >= threshold))),
            "nonlib_queries": int(test_scores.size),
            "false_positive_rate": float(np.mean(test_scores >= threshold)),
        }
    all_test = np.concatenate([np.array(c["test_nonlib"])[:, 0] for c in cells.values()])
    return {
        "threshold": threshold,
        "threshold_rule": "smallest score with <= 1% of calibration non-library queries accepted",
        "calibration_fp_rate": float(np.mean(np.array(non_calib) >= threshold)),
        "test_fp_rate": float(np.mean(all_test >= threshold)),
        **meta,
        "cells": table,
        "raw": cells,
    }


def merge_identification(results: list[dict]) -> dict:
    """Pool runs made in parallel (e.g. ``--durations 3,5`` and ``--durations 10``) into one
    result with a single threshold, as if they were one run. The runs must share the library."""
    if not results:
        raise LibraryError("nothing to merge")
    keys = ("library_tracks", "library_packages", "nonlib_packages", "landmarks")
    for other in results[1:]:
        if any(other.get(k) != results[0].get(k) for k in keys):
            raise LibraryError("these runs used different libraries; they cannot be merged")
    cells: dict[str, dict] = {}
    for res in results:
        for name, cell in res["raw"].items():
            if name in cells:
                raise LibraryError(f"cell {name} appears in more than one run")
            cells[name] = cell
    meta = {k: results[0][k] for k in (*keys, "nonlib_tracks", "library_hours")}
    return summarise(cells, meta)


def choose_threshold(nonlib_scores: list[float], max_fp: float, step: float = 0.1) -> float:
    """Smallest multiple of ``step`` (score units) with ``mean(scores >= t) <= max_fp``.

    Rounding up to a round number keeps the shipped constant readable; the rate it gives is
    still at most ``max_fp``.
    """
    s = np.sort(np.asarray(nonlib_scores, dtype=np.float64))[::-1]
    if s.size == 0:
        return step
    allowed = int(np.floor(max_fp * s.size))  # this many may be accepted
    above = s[allowed]  # the largest score that must be rejected
    t = np.ceil((above + 1e-9) / step) * step
    if above == t:
        t += step
    return float(round(t, 6))


def format_identification(res: dict) -> str:
    """Markdown table: rows = conditions, columns = durations."""
    cells = res["cells"]
    durations = sorted({c["duration_s"] for c in cells.values()})
    conditions = list(dict.fromkeys(c["condition"] for c in cells.values()))
    head = "| condition | " + " | ".join(f"{d:g} s hit (FP)" for d in durations) + " |"
    lines = [head, "|" + "---|" * (len(durations) + 1)]
    for cond in conditions:
        row = [cond]
        for d in durations:
            c = cells.get(f"{d:g}s/{cond}")
            row.append(
                "-" if c is None else f"{100 * c['hit_rate']:.1f}% ({100 * c['false_positive_rate']:.1f}%)"
            )
        lines.append("| " + " | ".join(row) + " |")
    n = next(iter(cells.values()))
    lines.append("")
    lines.append(
        f"threshold {res['threshold']:g} (score = standardised signature agreement z of the best "
        f"verified candidate); FP on calibration "
        f"non-library {100 * res['calibration_fp_rate']:.2f}%, on test non-library "
        f"{100 * res['test_fp_rate']:.2f}%; {n['queries']} library queries and "
        f"{n['nonlib_queries']} test non-library queries per cell; library "
        f"{res['library_tracks']} tracks ({res['library_hours']:.1f} h)"
    )
    return "\n".join(lines)


def main(args: Namespace) -> int:
    """Entry point of ``musicapp evaluate library``."""
    out: dict = {}
    if getattr(args, "merge", None):
        runs = [json.loads(Path(f).read_text())["identification"] for f in args.merge]
        res = merge_identification(runs)
        out["identification"] = res
        print("Identification, merged (top-1 hit rate at the threshold; false positives in brackets)")
        print(format_identification(res))
    elif args.part in ("identify", "all"):
        res = run_identification(args)
        out["identification"] = res
        print("\nIdentification (top-1 hit rate at the threshold; false positives in brackets)")
        print(format_identification(res))
    if args.part in ("similarity", "all") and not getattr(args, "merge", None):
        from musicapp_lab.library.evaluate_similarity import run_similarity

        sim = run_similarity(args)
        out["similarity"] = sim
    if args.out:
        from musicapp_lab.cli._out import write_json

        write_json(args.out, out, force=getattr(args, "force", False), indent=1)
        print(f"wrote {args.out}")
    return 0
