"""``musicapp bench batch``: library indexing throughput, serial path against the batch path.

Generates N real-length tracks (synthesised music: a melody and bass of harmonic notes with
envelopes plus noise-burst drums, 44.1 kHz stereo, written alternately as OGG Vorbis and FLAC),
then indexes them with the full analysis (tagger, key/tempo/beats/chords, fingerprint) into fresh
databases, in the same process one after the other:

* ``serial``: the old path, one track after another in this process (decode once,
  ``musicapp.pipeline.analyze_samples``, fingerprint; ``library add --workers 0``);
* ``batch/<model>``: :func:`musicapp.batch.run_batch` with one worker per core, the tagger in the
  workers (``workers``) or in this process fed with batches of patches of many tracks
  (``parent``), on the CPU and, when CUDA is present, on the GPU.

For each it prints tracks/min, audio-minutes per second, CPU seconds per track (this process and
its workers) with the average number of cores the run kept busy, and the peak resident memory of
the whole process tree (this process and its workers, sampled every 0.5 s from /proc) until half the
tracks were done and until all were: equal peaks mean memory does not grow with the tracks.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

SR = 44100


def synth_track(seed: int, seconds: float, sr: int = SR) -> np.ndarray:
    """A deterministic music-like stereo signal ``(n, 2)`` in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n, np.float32)
    beat = rng.uniform(0.35, 0.6)
    root = int(rng.integers(45, 57))
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    t_note = 0.0
    while t_note < seconds:
        dur = beat * float(rng.choice([1, 1, 2, 0.5]))
        start = int(t_note * sr)
        for voice, octave in ((0, 12), (1, -12)):
            if voice == 1 and rng.random() < 0.4:
                continue
            midi = root + octave + int(rng.choice(scale))
            f0 = 440.0 * 2 ** ((midi - 69) / 12)
            m = min(int(dur * sr), n - start)
            t = np.arange(m, dtype=np.float32) / sr
            env = np.exp(-t * rng.uniform(2, 6)) * np.minimum(1, t / 0.005)
            tone = sum((0.6 ** h) * np.sin(2 * np.pi * f0 * (h + 1) * t) for h in range(5)
                       if f0 * (h + 1) < sr / 2)
            y[start:start + m] += (env * tone * (0.45 if voice else 0.3)).astype(np.float32)
        if rng.random() < 0.7:
            k = min(int(0.05 * sr), n - start)
            y[start:start + k] += (0.3 * rng.standard_normal(k) * np.exp(-np.arange(k) / (0.01 * sr))
                                   ).astype(np.float32)
        t_note += dur
    y = 0.9 * y / (np.max(np.abs(y)) + 1e-9)
    return np.stack([y, 0.9 * y + 0.02 * rng.standard_normal(n).astype(np.float32)], axis=1)


def make_tracks(folder: Path, n: int, seconds: float) -> list[Path]:
    """Write ``n`` tracks (OGG and FLAC alternately) into ``folder``; existing ones are reused."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        ext, fmt, sub = (".ogg", "OGG", "VORBIS") if i % 2 == 0 else (".flac", "FLAC", "PCM_16")
        path = folder / f"track{i:03d}_{int(seconds)}s{ext}"
        if not path.exists():
            y = synth_track(1000 + i, seconds)
            tmp = path.with_suffix(".part")
            # Block writes: one huge Vorbis write crashed libsndfile here.
            with sf.SoundFile(str(tmp), "w", SR, 2, format=fmt, subtype=sub) as f:
                for j in range(0, len(y), SR):
                    f.write(y[j:j + SR])
            tmp.rename(path)
        paths.append(path)
    return paths


def tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            pages = int(Path(f"/proc/{entry}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(stat[1]), []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class MemorySampler:
    """Samples the process tree's RSS in a thread; ``mark()`` snapshots the peak so far."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak = 0
        self.marks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(os.getpid()))
            self._stop.wait(self.interval)

    def mark(self, name: str) -> None:
        """Remember the peak reached so far under ``name``."""
        self.marks[name] = max(self.peak, tree_rss_bytes(os.getpid()))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def index_once(music: Path, db: Path, *, workers: int | None, model: str,
               device: str) -> dict[str, Any]:
    """Index the folder ``music`` into a fresh ``db`` with the full analysis; figures of the run."""
    from musicapp.library.indexer import Indexer, default_analyser
    from musicapp.library.store import Store

    with Store(db) as st:
        n = len(st.scan(music).added)
        with MemorySampler() as mem:
            def progress(done: int, total: int, path: str) -> None:
                if done == max(1, total // 2):
                    mem.mark("half")

            indexer = Indexer(st, analyser=default_analyser, workers=workers, progress=progress,
                              model=model, device=device)
            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            report = indexer.run()
            seconds = time.perf_counter() - t0
            cpu = _cpu_seconds() - cpu0
            mem.mark("all")
        audio_s = sum(float(t.get("duration_s") or 0.0) for t in st_list(st))
        with_codes = st.stats().get("codes")
    stats = indexer.last_stats
    return {
        "tracks": report.done, "failed": report.failed, "errors": list(report.errors.values())[:3],
        "seconds": seconds, "tracks_per_min": 60.0 * report.done / seconds,
        "audio_min_per_s": audio_s / 60.0 / seconds, "with_codes": with_codes,
        "peak_rss_half_mb": mem.marks.get("half", 0) / 2**20,
        "peak_rss_all_mb": mem.marks["all"] / 2**20,
        "model": stats.model, "workers": stats.workers, "n": n,
        "cpu_s_per_track": cpu / max(1, report.done), "cores_used": cpu / seconds,
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished (joined) children: the workers' share is
    counted once the pool has been closed."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def st_list(st: Any) -> list[dict]:
    """Stored analyses of the ok tracks."""
    return [st.analysis(t.id) or {} for t in st.tracks("ok")]


def run(args: Any) -> int:
    """Entry point of ``musicapp bench batch``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    folder = Path(args.dir)
    music = folder / f"{args.tracks}x{int(args.seconds)}s"
    t0 = time.perf_counter()
    paths = make_tracks(music, args.tracks, args.seconds)
    print(f"{len(paths)} tracks of {args.seconds:.0f} s in {folder} "
          f"(generated/reused in {time.perf_counter() - t0:.0f} s); "
          f"{os.cpu_count()} logical cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    configs: list[tuple[str, int | None, str, str]] = [("serial", 0, "workers", "cpu")]
    for model in args.models.split(","):
        configs.append((f"batch/{model} cpu", args.workers, model.strip(), "cpu"))
    if torch.cuda.is_available() and not args.cpu_only:
        configs.append(("batch/parent cuda", args.workers, "parent", "cuda"))
    results: dict[str, Any] = {}
    base = None
    for name, workers, model, device in configs:
        db = folder / f"bench-{name.replace('/', '-').replace(' ', '-')}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        res = index_once(music, db, workers=workers, model=model, device=device)
        results[name] = res
        base = base or res["tracks_per_min"]
        print(f"{name:18} {res['tracks']:3d} tracks ({res['failed']} failed) in {res['seconds']:6.1f} s: "
              f"{res['tracks_per_min']:6.1f} tracks/min, {res['audio_min_per_s']:5.2f} audio-min/s, "
              f"x{res['tracks_per_min'] / base:.2f} vs serial; peak RSS of the process tree "
              f"{res['peak_rss_half_mb']:.0f} MB at N/2, {res['peak_rss_all_mb']:.0f} MB at N "
              f"({res['workers']} workers, model {res['model']}); CPU {res['cpu_s_per_track']:.1f} s "
              f"per track, {res['cores_used']:.2f} cores busy on average; load {os.getloadavg()[0]:.1f}",
              flush=True)
        if res["errors"]:
            print(f"  errors: {res['errors']}")
    if args.json:
        print(json.dumps(results, indent=1))
    return 0
