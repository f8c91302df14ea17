"""``musicapp bench library``: search and identification latency, index size, indexing throughput.

Each figure comes with a reference measured in the same process:

* Hamming top-10 over N 64-bit codes (packed uint64, XOR + ``np.bitwise_count``, histogram
  top-k) vs the same search on unpacked bits (a bool matrix, the naive numpy way).
* Identification of a 10 s query (5 dB pink noise, full query path: peaks, 13 stretch factors,
  voting) against a 1,000-track index vs a linear scan (``np.isin`` over every landmark) for the
  same query. The index holds the real tracks' landmarks plus hash-scrambled copies of them
  (each copy XORs every hash with its own random 22-bit key: same landmark statistics, different
  hashes) up to ``--tracks`` tracks.
* Index size per hour of audio: fingerprint bytes and the whole SQLite file, after indexing real
  tracks (fingerprint-only).
* Indexing throughput (tracks/min) with 2 worker processes vs 1, fingerprint-only, and with the
  full analysis (``musicapp.pipeline``) when it is importable.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from argparse import Namespace
from pathlib import Path

import numpy as np


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def bench_hamming(n: int, repeats: int = 30) -> dict:
    """Top-10 Hamming search over ``n`` random 64-bit codes."""
    from musicapp.library.similarity import hamming_topk, pack_codes

    rng = np.random.default_rng(0)
    packed = rng.integers(0, 2**63, size=(n, 1), dtype=np.int64).view(np.uint64) ^ (
        rng.integers(0, 2, size=(n, 1), dtype=np.int64).view(np.uint64) << np.uint64(63)
    )
    queries = rng.integers(0, 2**63, size=(repeats, 1), dtype=np.int64).view(np.uint64)
    it = iter(range(10**9))
    scratch: dict = {}  # reusable buffers, as CodeIndex keeps them
    fast = _median_ms(lambda: hamming_topk(packed, queries[next(it) % repeats], 10, scratch), repeats)

    def unpack(words: np.ndarray) -> np.ndarray:
        raw = words.astype(">u8").view(np.uint8).reshape(words.shape[0], -1)
        return np.unpackbits(raw, axis=1).astype(bool)

    bits, qbits = unpack(packed), unpack(queries)
    assert np.array_equal(pack_codes(bits[:5]), packed[:5])

    def naive(q=qbits[0]):
        d = (bits != q).sum(axis=1)
        return np.argsort(d, kind="stable")[:10]

    ref = _median_ms(naive, 3)
    idx, _ = hamming_topk(packed, queries[0], 10)
    assert np.array_equal(idx, naive()), "packed search disagrees with the naive one"
    return {"codes": n, "top10_ms": fast, "naive_unpacked_ms": ref, "speedup": ref / fast}


def _real_tracks(data: str, limit: int) -> list[str]:
    from musicapp_lab.library.evaluate import find_tracks

    root = Path(data)
    if not root.exists():
        return []
    tracks = find_tracks(root, 30.0)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(tracks))
    return [tracks[i][0] for i in order[:limit]]


def _generated_tracks(folder: Path, n: int) -> list[str]:
    """Music-like WAVs (60 s) when no real music is available."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        sr = 16000
        t = np.arange(60 * sr) / sr
        notes = rng.uniform(100, 2000, size=240)
        y = np.zeros_like(t)
        for j, f in enumerate(notes):
            seg = slice(j * sr // 4, (j + 1) * sr // 4)
            y[seg] = np.sin(2 * np.pi * f * t[seg]) * np.exp(-8 * (t[seg] - t[seg][0]))
        path = folder / f"gen{i:03d}.wav"
        sf.write(str(path), (0.5 * y).astype(np.float32), sr)
        out.append(str(path))
    return out


def bench_index(tracks: list[str], tmp: Path) -> dict:
    """Index ``tracks`` (fingerprint-only) with 1 then 2 workers; sizes per hour."""
    from musicapp.library.indexer import Indexer, no_analyser
    from musicapp.library.store import Store

    music = tmp / "music"
    music.mkdir()
    for i, p in enumerate(tracks):
        os.symlink(os.path.abspath(p), music / f"{i:04d}{Path(p).suffix}")
    out = {}
    for workers in (1, 2):
        db = tmp / f"w{workers}.sqlite3"
        with Store(db) as st:
            st.scan(music)
            t = time.perf_counter()
            report = Indexer(st, analyser=no_analyser, workers=workers).run()
            secs = time.perf_counter() - t
            out[f"fingerprint_tracks_per_min_{workers}w"] = 60 * report.done / secs
            if workers == 2:
                stats = st.stats()
                st.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if workers == 2:
            hours = stats["audio_hours"]
            out["audio_hours"] = hours
            out["fingerprint_mb_per_hour"] = stats["fingerprint_bytes"] / 1e6 / hours
            out["sqlite_mb_per_hour"] = db.stat().st_size / 1e6 / hours
    out["speedup_2w_vs_1w"] = out["fingerprint_tracks_per_min_2w"] / out["fingerprint_tracks_per_min_1w"]
    return out


def bench_full_analysis(tracks: list[str], tmp: Path) -> dict | None:
    """Tracks/min with the full analysis pipeline (2 workers), if it is importable."""
    try:
        import musicapp.pipeline  # noqa: F401
    except ImportError:
        return None
    from musicapp.library.indexer import Indexer, default_analyser
    from musicapp.library.store import Store

    music = tmp / "music_full"
    music.mkdir()
    for i, p in enumerate(tracks):
        os.symlink(os.path.abspath(p), music / f"{i:04d}{Path(p).suffix}")
    with Store(tmp / "full.sqlite3") as st:
        st.scan(music)
        t = time.perf_counter()
        report = Indexer(st, analyser=default_analyser, workers=2).run()
        secs = time.perf_counter() - t
        errors = list(report.errors.values())[:3]
        with_codes = st.stats()["codes"]
    return {
        "tracks": report.done,
        "failed": report.failed,
        "tracks_per_min_2w": 60 * report.done / secs,
        "with_hash_codes": with_codes,
        "errors": errors,
    }


def bench_identify(tracks: list[str], n_tracks: int, repeats: int = 20) -> dict:
    """10 s noisy query against an index of ``n_tracks`` tracks."""
    from musicapp.library import fingerprint as fp
    from musicapp.library._audio import load_mono
    from musicapp.library.matcher import FingerprintIndex
    from musicapp_lab.library import degrade

    rng = np.random.default_rng(1)
    real = []
    audio = []
    for i, p in enumerate(tracks):
        y = load_mono(p, fp.SAMPLE_RATE)
        audio.append(y)
        real.append((i, fp.compute(y)))
    items = list(real)
    k = len(real)
    while len(items) < n_tracks:
        _, f = real[len(items) % len(real)]
        # A stand-in track: the same landmark statistics under different hashes, and the
        # signature rolled in time and XOR-ed so that it is unrelated to the original's audio.
        key = np.uint32(rng.integers(1, 2**fp.HASH_BITS))
        roll = int(rng.integers(1, max(2, f.signature.size)))
        words = np.roll(f.signature, roll) ^ np.uint32(rng.integers(1, 2**32))
        items.append((k, fp.Fingerprint(f.hashes ^ key, f.times, words)))
        k += 1
    t0 = time.perf_counter()
    index = FingerprintIndex.build(items)
    build_s = time.perf_counter() - t0
    queries = []
    for q in range(repeats):
        i = q % len(audio)
        y = audio[i]
        start = int(rng.integers(0, max(1, y.size - 10 * fp.SAMPLE_RATE)))
        x = degrade.add_noise(y[start : start + 10 * fp.SAMPLE_RATE], 5.0, rng)
        queries.append((i, x))
    times, hits = [], 0
    for i, x in queries:
        t = time.perf_counter()
        m = index.match_samples(x)
        times.append(time.perf_counter() - t)
        hits += int(m is not None and m.track_id == i)

    i, x = queries[0]
    peaks = fp.find_peaks(x, index.query_density)

    def linear():
        qh, _qt = fp.pair_peaks(peaks, 1.0, index.query_fan_out)
        mask = np.isin(index.hashes, qh)
        return np.bincount(index.tracks[mask])

    ref = _median_ms(linear, 3)
    hours = sum(y.size for y in audio) / fp.SAMPLE_RATE / 3600 * n_tracks / len(audio)
    return {
        "tracks": n_tracks,
        "landmarks": len(index),
        "approx_audio_hours": hours,
        "index_mib": index.nbytes / 2**20,
        "build_s": build_s,
        "query_median_ms": 1000 * float(np.median(times)),
        "query_p90_ms": 1000 * float(np.percentile(times, 90)),
        "queries": len(times),
        "correct": hits,
        "linear_scan_one_stretch_ms": ref,
        "speedup_vs_linear_scan": ref / (1000 * float(np.median(times))),
    }


def main(args: Namespace) -> int:
    """Entry point of ``musicapp bench library``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    res: dict = {}
    h = bench_hamming(args.codes)
    res["hamming"] = h
    print(
        f"Hamming top-10 over {h['codes']:,} 64-bit codes: {h['top10_ms']:.2f} ms "
        f"(target < 5 ms); naive unpacked-bits search {h['naive_unpacked_ms']:.1f} ms "
        f"-> x{h['speedup']:.0f}",
        flush=True,
    )

    tmp = Path(tempfile.mkdtemp(prefix="musicapp-bench-"))
    try:
        real = _real_tracks(args.data, max(args.throughput_tracks, 40))
        source = "real Debian game music"
        if len(real) < 8:
            real = _generated_tracks(tmp / "gen", 24)
            source = "generated 60 s tracks"
        ident = bench_identify(real[:40], args.tracks)
        res["identify"] = ident
        print(
            f"Identify a 10 s query (5 dB noise) in a {ident['tracks']}-track index "
            f"({ident['landmarks'] / 1e6:.1f} M landmarks, ~{ident['approx_audio_hours']:.0f} h, "
            f"{ident['index_mib']:.0f} MiB): median {ident['query_median_ms']:.1f} ms, "
            f"p90 {ident['query_p90_ms']:.1f} ms (target < 100 ms), "
            f"{ident['correct']}/{ident['queries']} correct; linear scan of the index for one "
            f"stretch factor {ident['linear_scan_one_stretch_ms']:.0f} ms -> "
            f"x{ident['speedup_vs_linear_scan']:.0f}",
            flush=True,
        )
        idx = bench_index(real[: args.throughput_tracks], tmp)
        res["index"] = idx
        print(
            f"Index size: {idx['fingerprint_mb_per_hour']:.1f} MB fingerprints per hour of "
            f"audio, {idx['sqlite_mb_per_hour']:.1f} MB SQLite file per hour "
            f"({idx['audio_hours']:.2f} h indexed, {source})",
            flush=True,
        )
        print(
            f"Indexing throughput (fingerprint-only): "
            f"{idx['fingerprint_tracks_per_min_2w']:.0f} tracks/min with 2 workers, "
            f"{idx['fingerprint_tracks_per_min_1w']:.0f} with 1 -> "
            f"x{idx['speedup_2w_vs_1w']:.2f}",
            flush=True,
        )
        full = bench_full_analysis(real[:6], tmp)
        res["full_analysis"] = full
        if full:
            print(
                f"Indexing throughput (full analysis via musicapp.pipeline, 2 workers): "
                f"{full['tracks_per_min_2w']:.1f} tracks/min on {full['tracks']} tracks "
                f"({full['with_hash_codes']} with hash codes, {full['failed']} failed)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(res, indent=1))
    return 0
