"""Benchmark: peak memory of ``library add`` and ``analyze`` on long generated tracks.

A 3-hour file once peaked at about 4 GB in ``library add`` (the landmark fingerprint held the
whole track's spectrogram several times). Each command runs in its own process, as a user runs
it; the resident memory of its whole process tree (worker processes included) is sampled from
/proc every 50 ms, and the largest single process is read from ``getrusage``. The tracks are
synthesised music (chords, bass, drums: 44.1 kHz stereo FLAC), written in blocks and cached.

Figures for the stages of one track (decode, fingerprint, tagger, music analysis) come from
``--stages``: the same track through each stage in a fresh process.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from musicapp_lab.bench.audio import synth_track
from musicapp_lab.bench.batch import tree_rss_bytes

SR = 44100


def make_track(path: Path, minutes: float) -> Path:
    """A music-like stereo FLAC of ``minutes``, written a minute at a time (cached by name)."""
    import soundfile as sf

    if path.exists():
        return path
    part = path.with_suffix(".part")
    with sf.SoundFile(str(part), "w", SR, 2, format="FLAC", subtype="PCM_16") as f:
        for k in range(int(round(minutes))):
            f.write(synth_track(60.0, SR, seed=k).T)
    part.rename(path)
    return path


def peak_rss(cmd: list[str], env: dict[str, str] | None = None,
             timeout: float = 3600.0) -> dict[str, float]:
    """Run ``cmd``; its process tree's peak RSS (sampled), the largest process's (rusage), wall s."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(proc.pid))
            done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        _out, err = proc.communicate(timeout=timeout)
    finally:
        done.set()
        thread.join()
    wall = time.perf_counter() - start
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, max over children
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"tree_peak_mb": peak / 2**20,
            "largest_process_mb": largest / 1024 if largest > before else float("nan"),
            "seconds": wall}


_STAGE = r"""
import sys, numpy as np
from musicapp.audio import load_audio
from musicapp.params import ANALYSIS
stage, path = sys.argv[1], sys.argv[2]
audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
if stage == "fingerprint":
    from musicapp.library import fingerprint as fp
    fp.compute_resampled(audio.samples, audio.sample_rate)
elif stage == "music":
    from musicapp.pipeline import analyze_samples
    analyze_samples(audio.samples, audio.sample_rate, tags=False, music=True)
elif stage == "tags":
    from musicapp.pipeline import analyze_samples
    analyze_samples(audio.samples, audio.sample_rate, tags=True, music=False, device="cpu")
"""


def run(minutes: list[float], folder: Path, stages: bool = False) -> list[dict]:
    """Measure ``library add`` (and ``analyze`` on the longest track); one row per command."""
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    python = sys.executable
    rows = []
    for m in minutes:
        track = make_track(folder / f"synth_{m:g}min.flac", m)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            one = Path(tmp) / "tracks"
            one.mkdir()
            (one / track.name).symlink_to(track.resolve())
            db = Path(tmp) / "library.sqlite3"
            r = peak_rss([python, "-m", "musicapp", "library", "add", str(one), "--db", str(db)], env)
            rows.append({"command": f"library add ({m:g} min)", **r})
        if stages:
            for stage in ("decode", "fingerprint", "tags", "music"):
                r = peak_rss([python, "-c", _STAGE, stage, str(track)], env)
                rows.append({"command": f"stage {stage} ({m:g} min)", **r})
    longest = folder / f"synth_{max(minutes):g}min.flac"
    r = peak_rss([python, "-m", "musicapp", "analyze", str(longest)], env)
    rows.append({"command": f"analyze ({max(minutes):g} min)", **r})
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m musicapp_lab.bench.memory [--minutes 30,180] [--dir DIR] [--stages]``."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", default="30,180", help="track lengths in minutes (default 30,180)")
    p.add_argument("--dir", default="data/bench_memory", help="where the tracks are cached")
    p.add_argument("--stages", action="store_true", help="also measure each stage on its own")
    args = p.parse_args(argv)
    minutes = [float(v) for v in args.minutes.split(",")]
    print(f"{'command':28} {'tree peak':>10} {'largest':>10} {'wall':>8}")
    for row in run(minutes, Path(args.dir), args.stages):
        print(f"{row['command']:28} {row['tree_peak_mb']:8.0f} MB {row['largest_process_mb']:7.0f} MB "
              f"{row['seconds']:7.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
