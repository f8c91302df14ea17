"""``musicapp bench batch``: library indexing throughput, serial path against the batch path.

Generates N real-length tracks (synthesised music: a melody and bass of harmonic notes with
envelopes plus noise-burst drums, 44.1 kHz stereo, written alternately as OGG Vorbis and FLAC),
then indexes them with the full analysis (tagger, key/tempo/beats/chords, fingerprint) into fresh
databases, in the same process one after the other:

* ``serial``: the old path, one track after another in this process (decode once,
  ``musicapp.pipeline.analyze_samples``, fingerprint; ``library add --workers 0``);
* ``single-file``: what ``musicapp analyze`` does for one file (tagger and key/tempo/chords
  concurrently on every core), one file after another, plus the fingerprint (no database): the
  fastest a user gets without the batch path (:mod:`.single_file`);
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


def _write_track(path: Path, y: np.ndarray, sr: int, fmt: str, sub: str) -> None:
    import soundfile as sf

    tmp = path.with_suffix(".part")
    # Block writes: one huge Vorbis write crashed libsndfile here.
    with sf.SoundFile(str(tmp), "w", sr, y.shape[1], format=fmt, subtype=sub) as f:
        for j in range(0, len(y), sr):
            f.write(y[j:j + sr])
    tmp.rename(path)


def _make_one(job: tuple[int, str, float, str | None]) -> str:
    """Write track ``i`` (synthesised, or a gain variant of a real file) unless it exists."""
    i, folder, seconds, source = job
    if source is None:
        ext, fmt, sub = (".ogg", "OGG", "VORBIS") if i % 2 == 0 else (".flac", "FLAC", "PCM_16")
        path = Path(folder) / f"track{i:03d}_{int(seconds)}s{ext}"
        if not path.exists():
            _write_track(path, synth_track(1000 + i, seconds), SR, fmt, sub)
        return str(path)
    path = Path(folder) / f"real{i:04d}_{Path(source).stem[:40]}.ogg"
    if not path.exists():
        from musicapp.audio import load_audio

        audio = load_audio(source)
        y = audio.samples.T if audio.samples.ndim == 2 else audio.samples[:, None]
        # A distinct gain per copy makes every file's content (and so its library entry) unique.
        y = np.ascontiguousarray(y * (0.95 - 0.0005 * (i % 800)), dtype=np.float32)
        _write_track(path, y, audio.sample_rate, "OGG", "VORBIS")
    return str(path)


def make_tracks(folder: Path, n: int, seconds: float, *, real: Path | None = None,
                processes: int = 1) -> list[Path]:
    """Write ``n`` tracks into ``folder`` (existing ones are reused): synthesised music (OGG and
    FLAC alternately), or with ``real`` (a folder of audio files) gain variants of those files,
    re-encoded as OGG Vorbis, cycling through them. ``processes`` > 1 writes them in parallel."""
    folder.mkdir(parents=True, exist_ok=True)
    sources: list[str | None] = [None] * n
    if real is not None:
        from musicapp.filetypes import is_audio_name

        files = sorted(str(p) for p in Path(real).iterdir() if p.is_file() and is_audio_name(p.name))
        if not files:
            raise SystemExit(f"musicapp: error: no audio files in {real}")
        sources = [files[i % len(files)] for i in range(n)]
    jobs = [(i, str(folder), seconds, sources[i]) for i in range(n)]
    if processes > 1 and n > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(processes) as pool:
            return [Path(p) for p in pool.map(_make_one, jobs, chunksize=1)]
    return [Path(_make_one(job)) for job in jobs]


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
               device: str, batch_size: int | None = None) -> dict[str, Any]:
    """Index the folder ``music`` into a fresh ``db`` with the full analysis; figures of the run."""
    from musicapp.library.indexer import Indexer, default_analyser
    from musicapp.library.store import Store

    with Store(db) as st:
        n = len(st.scan(music).added)
        finished: list[float] = []  # when each track completed (perf_counter)
        with MemorySampler() as mem:
            def progress(done: int, total: int, path: str) -> None:
                finished.append(time.perf_counter())
                if done == max(1, total // 2):
                    mem.mark("half")

            indexer = Indexer(st, analyser=default_analyser, workers=workers, progress=progress,
                              model=model, device=device, batch_size=batch_size)
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
        "stage_seconds": dict(stats.stage_seconds), "patches": stats.patches,
        "batches": stats.batches, "steady_tracks_per_min": steady_rate(finished),
    }


def steady_rate(finished: list[float], low: float = 0.1, high: float = 0.9) -> float | None:
    """Tracks per minute between the ``low`` and ``high`` fractions of the completions: the
    rate once every stage runs, without the start (worker start-up, model loading) and the tail
    (the last tracks finishing on few workers). None for fewer than 20 tracks."""
    n = len(finished)
    if n < 20:
        return None
    times = sorted(finished)
    a, b = int(low * n), int(high * n) - 1
    span = times[b] - times[a]
    return 60.0 * (b - a) / span if span > 0 else None


def utilisation_lines(res: dict[str, Any]) -> list[str]:
    """Per-stage figures of one run: seconds per track, and the share of the stage's capacity it
    kept busy (worker stages: of ``workers`` x wall; model stage: of the one model process's wall).
    The stage closest to 100 % is what limits the run."""
    lines = []
    done = max(1, res["tracks"])
    workers = max(1, res["workers"])
    wall = max(1e-9, res["seconds"])
    worker_total = 0.0
    for stage, sec in sorted(res["stage_seconds"].items(), key=lambda kv: -kv[1]):
        if stage.startswith("model:"):
            share = sec / wall
            where = "of the model process"
        else:
            worker_total += sec
            share = sec / (wall * (workers if res["model"] != "in-process" else 1))
            where = "of the workers" if res["model"] != "in-process" else "of this process"
        lines.append(f"    {stage:28} {sec / done:7.3f} s/track  {100 * share:5.1f} % {where}")
    if res["model"] != "in-process" and worker_total:
        lines.append(f"    {'all worker stages':28} {worker_total / done:7.3f} s/track  "
                     f"{100 * worker_total / (wall * workers):5.1f} % of the workers")
    if res.get("batches"):
        lines.append(f"    model batches: {res['batches']} forward passes of "
                     f"{res['patches'] / res['batches']:.1f} patches on average")
    return lines


#: stored fields that may differ between runs without the analysis differing
_IGNORED = {"path", "device", "format"}
#: fields whose numbers are model outputs (compared within a tolerance); all others must be equal
_TOLERANT = {"moods", "genres", "valence", "arousal", "curves", "embedding", "energy", "segments"}


def _last_digit(x: float) -> float:
    """The unit of the last stored decimal of ``x`` (the stored scores are rounded: 4 decimals
    for valence/arousal, 4 significant digits for tag scores, 1 decimal for percentiles)."""
    text = repr(float(x))
    if "e" in text:
        mantissa, exp = text.split("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return 10.0 ** (int(exp) - decimals)
    return 10.0 ** -len(text.split(".")[1]) if "." in text else 1.0


def _diff(a: Any, b: Any, tolerant: bool) -> tuple[bool, float]:
    """(equal apart from tolerated number differences, largest tolerated difference in units of
    the last stored digit: float noise flips at most that digit by 1)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False, 0.0
        parts = [_diff(a[k], b[k], tolerant) for k in a]
        return all(p[0] for p in parts), max((p[1] for p in parts), default=0.0)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False, 0.0
        parts = [_diff(x, y, tolerant) for x, y in zip(a, b, strict=True)]
        return all(p[0] for p in parts), max((p[1] for p in parts), default=0.0)
    if tolerant and isinstance(a, float) and isinstance(b, float):
        unit = max(_last_digit(a), _last_digit(b))
        return True, abs(a - b) / unit
    return a == b, 0.0


def compare_results(db_a: Path, db_b: Path, tol: float = 1.0001) -> dict[str, Any]:
    """Compare the stored analyses of the tracks two databases share (matched by file name):
    every field equal (hash code, segment hash codes, key, tempo, beats, chords, tag names, ...)
    except the model's scores (moods, genres, valence/arousal, curves, embedding, segment scores),
    which must agree to within ``tol`` units of their last stored digit (1e-4 for valence and
    arousal); the integer track energy within 1."""
    from musicapp.library.store import Store

    def load(db: Path) -> dict[str, dict]:
        with Store(db) as st:
            return {Path(t.path).name: st.analysis(t.id) or {} for t in st.tracks("ok")}

    a, b = load(db_a), load(db_b)
    common = sorted(set(a) & set(b))
    mismatched: dict[str, int] = {}
    worst = 0.0
    for name in common:
        ra, rb = a[name], b[name]
        for field in sorted((set(ra) | set(rb)) - _IGNORED):
            same, diff = _diff(ra.get(field), rb.get(field), field in _TOLERANT)
            if field == "energy":
                same, diff = same and diff <= 1, 0.0
            else:
                worst = max(worst, diff)
            if not same:
                mismatched[field] = mismatched.get(field, 0) + 1
    return {"tracks": len(common), "mismatched": mismatched, "max_last_digit_diff": worst,
            "equal": bool(common) and not mismatched and worst <= tol}


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


def single_file_reference(results: dict[str, Any], paths: list[Path]) -> None:
    """Time the single-file path (``analyze`` one file after another on all cores, see
    :mod:`.single_file`) on ``paths`` and print every batch run's speed-up over it too."""
    from musicapp_lab.bench.single_file import single_file_once

    res = single_file_once(paths)
    results["single-file all cores"] = res
    serial = results.get("serial", {}).get("tracks_per_min") or 0.0
    print(f"{'single-file':18} {res['tracks']:3d} tracks ({res['failed']} failed) in "
          f"{res['seconds']:6.1f} s: {res['tracks_per_min']:6.1f} tracks/min, "
          f"{res['audio_min_per_s']:5.2f} audio-min/s"
          + (f", x{res['tracks_per_min'] / serial:.2f} vs serial" if serial else "")
          + f" (musicapp analyze's path: tagger and music analysis concurrently on every core, "
          f"one file after another, no database); CPU {res['cpu_s_per_track']:.1f} s per track, "
          f"{res['cores_used']:.2f} cores busy on average; load {os.getloadavg()[0]:.1f}",
          flush=True)
    for name, other in results.items():
        if name.startswith("batch/") and not name.endswith("cuda") and res["tracks_per_min"]:
            print(f"{name} vs single-file: x{other['tracks_per_min'] / res['tracks_per_min']:.2f}",
                  flush=True)


def run(args: Any) -> int:
    """Entry point of ``musicapp bench batch``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    folder = Path(args.dir)
    real = Path(args.real) if getattr(args, "real", None) else None
    label = "real" if real is not None else f"{int(args.seconds)}s"
    music = folder / f"{args.tracks}x{label}"
    t0 = time.perf_counter()
    paths = make_tracks(music, args.tracks, args.seconds, real=real,
                        processes=getattr(args, "gen_processes", 1) or os.cpu_count() or 1)
    gpu = f"yes: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no"
    print(f"{len(paths)} tracks ({'gain variants of the files in ' + str(real) if real else 'synthesised'}) "
          f"in {music} (generated/reused in {time.perf_counter() - t0:.0f} s); "
          f"{os.cpu_count()} logical cores, load average {os.getloadavg()[0]:.1f}; "
          f"torch {torch.__version__}, CUDA {gpu}",
          flush=True)
    serial_n = getattr(args, "serial_tracks", None)
    serial_music = music
    if serial_n and serial_n < len(paths):
        serial_music = folder / f"{serial_n}-of-{music.name}"
        serial_music.mkdir(parents=True, exist_ok=True)
        for p in paths[:serial_n]:
            link = serial_music / p.name
            if not link.exists():
                os.link(p, link)
    configs: list[tuple[str, Path, int | None, str, str]] = []
    cuda = torch.cuda.is_available() and not args.cpu_only
    if not getattr(args, "no_serial", False):
        configs.append(("serial", serial_music, 0, "workers", "cpu"))
        if cuda:
            configs.append(("serial cuda", serial_music, 0, "workers", "cuda"))
    if cuda:  # before the CPU batch runs, which take longest on a GPU machine
        configs.append(("batch/parent cuda", music, args.workers, "parent", "cuda"))
    for model in (m.strip() for m in args.models.split(",") if m.strip()):
        configs.append((f"batch/{model} cpu", music, args.workers, model, "cpu"))
    results: dict[str, Any] = {}
    base = None
    for name, tracks_dir, workers, model, device in configs:
        db = folder / f"bench-{name.replace('/', '-').replace(' ', '-')}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        res = index_once(tracks_dir, db, workers=workers, model=model, device=device,
                         batch_size=getattr(args, "batch_size", None) if workers != 0 else None)
        res["db"] = str(db)
        results[name] = res
        base = base or res["tracks_per_min"]
        print(f"{name:18} {res['tracks']:3d} tracks ({res['failed']} failed) in {res['seconds']:6.1f} s: "
              f"{res['tracks_per_min']:6.1f} tracks/min, {res['audio_min_per_s']:5.2f} audio-min/s, "
              f"x{res['tracks_per_min'] / base:.2f} vs {configs[0][0]}"
              + (f" (steady, middle 80 % of the tracks: {res['steady_tracks_per_min']:.1f} "
                 f"tracks/min)" if res.get("steady_tracks_per_min") else "")
              + "; peak RSS of the process tree "
              f"{res['peak_rss_half_mb']:.0f} MB at N/2, {res['peak_rss_all_mb']:.0f} MB at N "
              f"({res['workers']} workers, model {res['model']}); CPU {res['cpu_s_per_track']:.1f} s "
              f"per track, {res['cores_used']:.2f} cores busy on average; load {os.getloadavg()[0]:.1f}",
              flush=True)
        for line in utilisation_lines(res):
            print(line, flush=True)
        if res["errors"]:
            print(f"  errors: {res['errors']}")
    pairs = [(name, ref) for name in results for ref in ("serial", "serial cuda")
             if ref in results and name != ref and not name.startswith("serial")
             and (ref == "serial cuda") == name.endswith("cuda")]
    if "serial cuda" in results:
        pairs.append(("serial cuda", "serial"))
    for name, ref_name in pairs:
        cmp = compare_results(Path(results[ref_name]["db"]), Path(results[name]["db"]))
        results[name]["same_as_" + ref_name.replace(" ", "_")] = cmp
        print(f"{name} vs {ref_name}: {cmp['tracks']} common tracks, "
              f"{'identical' if cmp['equal'] else 'DIFFERENT'} (fields that differ, with the "
              f"number of tracks: {cmp['mismatched'] or 'none'}; largest score difference "
              f"{cmp['max_last_digit_diff']:.2f} units of the last stored digit)", flush=True)
    if not getattr(args, "no_serial", False) and not getattr(args, "no_single_file", False):
        single_file_reference(results, sorted(p for p in serial_music.iterdir()
                                              if p.is_file() and not p.name.startswith(".")))
    if args.json:
        print(json.dumps(results, indent=1))
    out = getattr(args, "out", None)
    if out:
        from musicapp_lab.cli._out import write_json

        write_json(out, results, force=getattr(args, "force", False), indent=1)
    return 0
