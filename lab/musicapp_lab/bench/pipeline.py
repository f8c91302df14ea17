"""Benchmark: the full analysis of one track (tags, codes, valence/arousal, key, tempo, beats,
chords) on one core against the same analysis sharing every usable core, in one process.

``musicapp bench pipeline [FILE]`` (default ``data/bench_3min.wav``, else a rendered 3-minute
track). Both paths are :func:`musicapp.pipeline.analyze_path`: ``cores=1`` is the one-core path
(the batch indexer's serial run and each of its worker processes), ``cores=None`` the concurrent
path that ``musicapp analyze FILE`` and the GUI's worker use. After one untimed run of each
(models, numba's cache, oneDNN primitives), the two alternate for ``--repeats`` rounds (the order
flips every round) and their results are checked to be identical. Printed: median and best wall
time of each, their ratio, the CPU seconds per run (CPU / wall = cores kept busy) and context
switches (waits: for the GIL, a lock or I/O; pre-empted: by other processes), the parts
timed alone (decode, tagger on one thread, music analysis) with the ideal two-core figure
``decode + (tagger + music) / 2``, and the load average before and after (other processes on
the machine slow both paths; compare the ratio, re-run on a quiet machine for the absolute
figure). On a busy machine it also prints an estimate of both on idle cores from their CPU
seconds.

``--alternatives`` also times the designs that were not chosen, in the same rounds: the two
parts in two threads without work sharing (BLAS pools at one thread, and at their default), and
one after the other with the tagger on two torch intra-op threads.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_FILE = Path("data/bench_3min.wav")
TARGET_S = 3.0  # issue 16: the full analysis of a 3-minute track on the 2 cores


def _timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, this process's CPU seconds in all threads, fn's value)."""
    c0, t0 = time.process_time(), time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, time.process_time() - c0, value


def _switches() -> tuple[int, int]:
    """(voluntary, involuntary) context switches of this process so far: a thread that waits
    (for the GIL, a lock, I/O) switches voluntarily; one that another process pre-empts
    (a busy machine), involuntarily."""
    try:
        import resource

        use = resource.getrusage(resource.RUSAGE_SELF)
        return int(use.ru_nvcsw), int(use.ru_nivcsw)
    except (ImportError, OSError):
        return 0, 0


def _no_sharing(path: str, blas_one: bool) -> dict:
    """Decode, then the tagger in one thread and the music analysis in another, neither helping
    the other (the design before work sharing)."""
    from contextlib import nullcontext

    from musicapp.analysis import analyze_music
    from musicapp.audio import load_audio, resample
    from musicapp.params import ANALYSIS, MEL
    from musicapp.pipeline import get_engine, one_blas_thread

    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    out: dict = {}

    def tags() -> None:
        engine = get_engine("auto", None)
        run = engine.start(resample(audio.samples, audio.sample_rate, MEL.sample_rate))
        run.work(torch_threads=1)
        out["tags"] = run.result()

    with one_blas_thread() if blas_one else nullcontext():
        thread = threading.Thread(target=tags)
        thread.start()
        out["music"] = analyze_music(audio.samples, audio.sample_rate)
        thread.join()
    return out


def _intra_op_two(path: str) -> dict:
    """Decode, then the tagger with two torch intra-op threads per batch, then the music
    analysis (BLAS pools at their default)."""
    from musicapp.analysis import analyze_music
    from musicapp.audio import load_audio, resample
    from musicapp.params import ANALYSIS, MEL
    from musicapp.pipeline import get_engine

    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    engine = get_engine("auto", None)
    run = engine.start(resample(audio.samples, audio.sample_rate, MEL.sample_rate))
    run.work(torch_threads=2)
    tags = run.result()
    import torch

    torch.set_num_threads(1)
    return {"tags": tags, "music": analyze_music(audio.samples, audio.sample_rate)}


def _parts_alone(path: str) -> dict[str, float]:
    """Decode, tagger (one thread) and music analysis timed alone, one after the other."""
    from musicapp.analysis import analyze_music
    from musicapp.audio import load_audio, resample
    from musicapp.params import ANALYSIS, MEL
    from musicapp.pipeline import get_engine, one_blas_thread

    wall, cpu, audio = _timed(lambda: load_audio(path, sr=ANALYSIS.sample_rate, mono=True))
    engine = get_engine("auto", None)
    out = {"decode": wall, "decode_cpu": cpu}
    with one_blas_thread():
        out["tagger"], out["tagger_cpu"], _ = _timed(lambda: engine.analyze(
            resample(audio.samples, audio.sample_rate, MEL.sample_rate)))
        out["music"], out["music_cpu"], _ = _timed(
            lambda: analyze_music(audio.samples, audio.sample_rate))
    return out


def _track(path: str | None) -> tuple[str, str, tempfile.TemporaryDirectory | None]:
    """(path, label, temporary folder to clean up)."""
    if path is not None:
        return str(path), str(path), None
    if DEFAULT_FILE.is_file():
        return str(DEFAULT_FILE), str(DEFAULT_FILE), None
    from musicapp.audio import write_wav
    from musicapp_lab.bench.analysis import synth_track

    tmp = tempfile.TemporaryDirectory(prefix="musicapp-bench-pipeline-")
    out = Path(tmp.name) / "rendered_3min.wav"
    write_wav(out, synth_track(180.0, 22050), 22050)
    return str(out), "rendered progression track, 180 s (no data/bench_3min.wav here)", tmp


def run(path: str | None = None, repeats: int = 5, alternatives: bool = False,
        out: Callable[[str], None] = print) -> dict:
    """Run the benchmark, print its lines; returns the figures."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from musicapp.models.device import usable_cores
    from musicapp.pipeline import analysis_threads, analyze_path

    track, label, tmp = _track(path)
    try:
        load_before = os.getloadavg()
        cores = analysis_threads(None)
        variants: dict[str, Callable[[], object]] = {
            "one core": lambda: analyze_path(track, cores=1),
            "all cores": lambda: analyze_path(track, cores=None),
        }
        if alternatives:
            variants["two threads, no sharing, BLAS 1 thread"] = lambda: _no_sharing(track, True)
            variants["two threads, no sharing, BLAS default"] = lambda: _no_sharing(track, False)
            variants["serial, tagger on 2 intra-op threads"] = lambda: _intra_op_two(track)
        out(f"track: {label}")
        out(f"machine: {os.cpu_count()} logical CPUs, {usable_cores()} usable; the concurrent "
            f"path runs {cores} threads with 1 torch thread each (torch {torch.__version__})")
        out(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
        first = {name: fn() for name, fn in variants.items()}  # warm-up, untimed
        same = first["one core"].to_dict() == first["all cores"].to_dict()
        walls: dict[str, list[float]] = {name: [] for name in variants}
        cpus: dict[str, list[float]] = {name: [] for name in variants}
        waits: dict[str, list[int]] = {name: [] for name in variants}
        preempted: dict[str, list[int]] = {name: [] for name in variants}
        names = list(variants)
        for r in range(max(1, repeats)):
            for name in names if r % 2 == 0 else names[::-1]:
                v0, i0 = _switches()
                wall, cpu, value = _timed(variants[name])
                v1, i1 = _switches()
                waits[name].append(v1 - v0)
                preempted[name].append(i1 - i0)
                walls[name].append(wall)
                cpus[name].append(cpu)
                if name == "all cores":
                    same &= value.to_dict() == first["one core"].to_dict()
        parts = _parts_alone(track)
        load_after = os.getloadavg()
        med = {name: statistics.median(v) for name, v in walls.items()}
        width = max(len(n) for n in names)
        out(f"full analysis (decode + tags, codes, V/A + key, tempo, beats, chords), "
            f"{max(1, repeats)} alternating runs each:")
        for name in names:
            cpu = statistics.median(cpus[name])
            out(f"  {name:<{width}}  median {med[name]:6.2f} s  best {min(walls[name]):6.2f} s  "
                f"CPU {cpu:6.2f} s ({cpu / med[name]:.2f} cores busy)  context switches: "
                f"{statistics.median(waits[name]):.0f} waits, "
                f"{statistics.median(preempted[name]):.0f} pre-empted")
        ratio = med["one core"] / med["all cores"]
        best_ratio = min(walls["one core"]) / min(walls["all cores"])
        out(f"ratio one core / all cores: {ratio:.2f}x (medians), {best_ratio:.2f}x (bests)")
        for name in names[2:]:
            out(f"ratio {name} / all cores: {med[name] / med['all cores']:.2f}x (medians)")
        ideal = parts["decode"] + (parts["tagger"] + parts["music"]) / cores
        out(f"parts alone: decode {parts['decode']:.2f} s, tagger {parts['tagger']:.2f} s "
            f"(1 thread), music analysis {parts['music']:.2f} s; ideal on {cores} cores: decode "
            f"+ (tagger + music) / {cores} = {ideal:.2f} s")
        # On idle cores a thread that never waits runs in its CPU time; the pipeline's threads
        # do not wait for each other (work sharing) or for the GIL (few voluntary switches), so
        # the all-cores run would take the decode plus its remaining CPU time spread evenly.
        cpu_one = statistics.median(cpus["one core"])
        cpu_all = statistics.median(cpus["all cores"])
        dec = parts["decode"]  # its wall time: decoding waits for its reader thread
        est_one = dec + cpu_one - parts["decode_cpu"]
        est_all = dec + max(parts["music_cpu"], (cpu_all - parts["decode_cpu"]) / cores)
        out(f"estimate on idle cores from the CPU seconds (for a busy machine): one core "
            f"{est_one:.2f} s, all cores decode {dec:.2f} + max(music {parts['music_cpu']:.2f}, "
            f"rest / {cores}) = {est_all:.2f} s, ratio {est_one / est_all:.2f}x")
        out(f"results identical on both paths: {'yes' if same else 'NO'}")
        out(f"target: all cores <= {TARGET_S:.1f} s for a 3-minute track (issue 16): "
            f"{'met' if med['all cores'] <= TARGET_S else 'not met'} here")
        out(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
            + ("  (a busy machine: compare ratios, not seconds)" if max(load_before[0],
                                                                        load_after[0]) > 0.5
               else ""))
        return {"median_s": med, "walls": walls, "cpu": cpus, "ratio": ratio, "parts": parts,
                "estimate_all_cores_s": est_all,
                "identical": same, "load_before": load_before, "load_after": load_after,
                "threads": cores}
    finally:
        if tmp is not None:
            tmp.cleanup()
