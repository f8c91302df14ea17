"""``musicapp bench tagger``: the tagger engine against the plain reference path, same process.

* **engine**: ``TaggerEngine(device, threads).analyze_path(path).to_dict()`` — streamed decoding
  (musicapp.audio), streaming log-Mel (musicapp.features), the shipped model (the distilled hashing
  model when its weights are present, else both musicnn teachers), calibration, segments, V/A,
  hash and embedding.
* **reference**: ``librosa.load(path, sr=16000)`` + ``librosa.feature.melspectrogram`` +
  ``log10(10000 S + 1)`` + the ported MSD_musicnn alone on the non-overlapping 3-s patches (in
  batches of the engine's batch size).

Each path is warmed up once (model loading, numba compilation of librosa) and then timed
``--repeats`` times; the best time is kept. Ratios are engine / reference (lower is better).
With a GPU present the engine's throughput on it is printed as tracks per minute as well.

Figures seen on the project's 2-core machine (shared with other jobs, so absolute times vary
with the load; the ratio is measured in the same run), synthetic 3-minute 44.1 kHz stereo WAV,
``musicapp bench tagger --repeats 2``:

=============================================  =======  ==========  =========  =====
engine model                                   threads  engine (s)  reference  ratio
=============================================  =======  ==========  =========  =====
hashnet (layers/lstm, 64 bits), load ~6        1        6.75        7.62       0.89
hashnet, same run                              2        20.90       12.46      1.68
hashnet, later run, load ~4-5                  1        5.74        5.64       1.02
hashnet, same run                              2        39.63       9.29       4.27
musicnn teachers (MSD + MTT; no hashnet), ~8   1        15.05       6.69       2.25
musicnn teachers, same run                     2        57.79       25.91      2.23
=============================================  =======  ==========  =========  =====

The teacher fallback runs two full networks, hence ~2x the single-network reference. With 2
threads on the 2 shared cores the engine suffers most (not investigated; a likely cause is that
its decoder's prefetch thread competes with both torch threads); the engine's automatic choice
there is 1 thread (:mod:`musicapp.models.device`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp.params import MEL


def synthetic_track(seconds: float, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """A stereo (2, n) track with chords, a bass line and noise percussion at 120 bpm."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    beat = 0.5
    roots = np.array([220.0, 174.6, 261.6, 196.0])
    bar = (t // (4 * beat)).astype(int) % 4
    f = roots[bar]
    y = sum(np.sin(2 * np.pi * f * r * t) for r in (1.0, 1.26, 1.5)) * 0.15
    y += 0.2 * np.sin(2 * np.pi * f / 2 * t)
    phase = (t % beat) / beat
    hat = rng.standard_normal(n) * np.exp(-phase * 40) * 0.3
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-phase * 25) * 0.5
    mono = (y + hat + kick).astype(np.float32)
    return np.stack([mono, np.roll(mono, sr // 100)]) * 0.8


def _best(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def reference_path(path: Path, model: object, batch: int) -> np.ndarray:
    """librosa load + librosa Mel + the ported MSD_musicnn; returns (patches, 50) probabilities."""
    import librosa
    import torch

    y, _ = librosa.load(str(path), sr=MEL.sample_rate, mono=True)
    S = librosa.feature.melspectrogram(y=y, sr=MEL.sample_rate, n_fft=MEL.n_fft,
                                       hop_length=MEL.hop_length, n_mels=MEL.n_mels)  # fmt: skip
    logmel = np.log10(10000.0 * S.T.astype(np.float32) + 1.0).astype(np.float32)
    n = max(1, logmel.shape[0] // MEL.patch_frames)
    if logmel.shape[0] < MEL.patch_frames:
        logmel = np.pad(logmel, ((0, MEL.patch_frames - logmel.shape[0]), (0, 0)))
    patches = logmel[: n * MEL.patch_frames].reshape(n, MEL.patch_frames, MEL.n_mels)
    out = []
    with torch.inference_mode():
        for i in range(0, n, batch):
            out.append(model(torch.from_numpy(patches[i : i + batch]))["prob"].numpy())
    return np.concatenate(out)


def run(
    path: Path, threads: list[int], repeats: int, device: str = "cpu"
) -> dict[str, object]:
    """Time both paths for each thread count; return the figures."""
    import torch

    from musicapp.audio import probe
    from musicapp.models.engine import TaggerEngine
    from musicapp.models.musicnn import load_musicnn

    info = probe(path)
    teacher = load_musicnn("MSD_musicnn")
    rows = []
    model_name = ""
    for n in threads:
        engine = TaggerEngine(device="cpu", threads=n)
        model_name = engine.backend.name
        torch.set_num_threads(n)

        def engine_fn(n: int = n) -> dict:
            return TaggerEngine(device="cpu", threads=n).analyze_path(path).to_dict()

        def reference_fn(batch: int = engine.batch_size) -> np.ndarray:
            return reference_path(path, teacher, batch)

        reference_fn()  # warm-up: numba, caches
        engine_fn()
        t_ref, probs = _best(reference_fn, repeats)
        t_eng, result = _best(engine_fn, repeats)
        rows.append({
            "threads": n,
            "engine_s": round(t_eng, 3),
            "reference_s": round(t_ref, 3),
            "ratio": round(t_eng / t_ref, 3),
            "engine_x_realtime": round(info.duration_s / t_eng, 1),
            "segments": len(result["segments"]),  # type: ignore[index]
            "reference_patches": int(probs.shape[0]),  # type: ignore[union-attr]
        })  # fmt: skip
    figures: dict[str, object] = {
        "track": str(path),
        "duration_s": round(info.duration_s, 2),
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "engine_model": model_name,
        "cpu": rows,
    }
    if device != "cpu" or torch.cuda.is_available():
        gpu = TaggerEngine(device="cuda" if device == "cpu" else device)
        gpu.analyze_path(path)
        count = 5
        t0 = time.perf_counter()
        for _ in range(count):
            gpu.analyze_path(path)
        elapsed = time.perf_counter() - t0
        figures["gpu"] = {"device": str(gpu.device), "half": gpu.half,
                          "tracks_per_min": round(count / elapsed * 60, 1)}  # fmt: skip
    return figures


def main(args: argparse.Namespace) -> int:
    """Entry point of ``musicapp bench tagger``."""
    from musicapp.audio import write_wav

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "synthetic.wav"
            write_wav(path, synthetic_track(args.seconds), 44100)
        figures = run(Path(path), list(args.threads), args.repeats, args.device)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"track: {figures['track']} ({figures['duration_s']} s, {figures['sample_rate']} Hz, "
          f"{figures['channels']} ch)")  # fmt: skip
    print(f"engine model: {figures['engine_model']}")
    print("threads  engine (s)  reference (s)  engine/reference  engine x realtime")
    for r in figures["cpu"]:  # type: ignore[attr-defined]
        print(f"{r['threads']:>7}  {r['engine_s']:>10.3f}  {r['reference_s']:>13.3f}  "
              f"{r['ratio']:>16.3f}  {r['engine_x_realtime']:>17.1f}")  # fmt: skip
    if "gpu" in figures:
        g = figures["gpu"]
        print(f"GPU {g['device']} (half={g['half']}): {g['tracks_per_min']} tracks/min")  # type: ignore[index]
    return 0
