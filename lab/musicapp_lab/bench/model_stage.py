"""The batch path's model stage alone: how many tracks per minute it can tag, and where its time goes.

Decodes the audio files given once (16 kHz mono), then feeds N copies to a
:class:`musicapp.batch.tagging.BatchTagger` for each batch size, timing the front end (log-Mel and
patch cutting), the network (``backend.run``, synchronised because the outputs are read back) and
the per-track accumulation and result building. This is the ceiling of the parent-model batch path
on a GPU (issue 17): with every worker busy, the batch path cannot tag faster than this.

    python -m musicapp_lab.bench.model_stage --device cuda --tracks 120 --batch-sizes 64,128,256 FILES...
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def measure(tracks: list[Any], device: str, batch_size: int) -> dict[str, float]:
    """Tag ``tracks`` (16 kHz arrays) with one BatchTagger; seconds per stage and tracks/min."""
    from musicapp.batch.tagging import BatchTagger
    from musicapp.models import engine as engine_module

    tagger = BatchTagger(device, None, batch_size)
    tagger.add(-1, tracks[0][: 16000 * 10])  # warm-up: CUDA kernels, allocator
    tagger.drain()
    run = tagger.backend.run
    spent = {"network": 0.0, "result": 0.0}

    def timed_run(x: Any, maps: bool) -> Any:
        t = time.perf_counter()
        out = run(x, maps)
        spent["network"] += time.perf_counter() - t
        return out

    result = engine_module._Accumulator.result

    def timed_result(self: Any, *args: Any) -> Any:
        t = time.perf_counter()
        out = result(self, *args)
        spent["result"] += time.perf_counter() - t
        return out

    tagger.backend.run = timed_run
    engine_module._Accumulator.result = timed_result
    try:
        tagger.timings = {k: 0.0 for k in tagger.timings}
        start = time.perf_counter()
        done = 0
        for i, y in enumerate(tracks):
            tagger.add(i, y)
            while tagger.full_batch():
                done += len(tagger.step())
        done += len(tagger.drain())
        seconds = time.perf_counter() - start
    finally:
        engine_module._Accumulator.result = result
    forward = tagger.timings["model: forward"]
    return {
        "tracks": done, "seconds": seconds, "tracks_per_min": 60.0 * done / seconds,
        "log-Mel ms/track": 1000 * tagger.timings["model: log-Mel"] / done,
        "network ms/track": 1000 * spent["network"] / done,
        "result ms/track": 1000 * spent["result"] / done,
        "other ms/track": 1000 * (forward - spent["network"] - spent["result"]) / done,
        "patches": tagger.patches_run, "batches": tagger.batches_run,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module documentation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tracks", type=int, default=60)
    parser.add_argument("--batch-sizes", default="64,128,256")
    args = parser.parse_args(argv)
    from musicapp.audio import load_audio
    from musicapp.params import MEL

    decoded = [load_audio(f, sr=MEL.sample_rate, mono=True).samples for f in args.files]
    tracks = [decoded[i % len(decoded)] for i in range(args.tracks)]
    minutes = sum(len(y) for y in tracks) / MEL.sample_rate / 60
    print(f"model stage alone: {len(tracks)} tracks ({minutes:.0f} audio-minutes), device {args.device}")
    for size in (int(s) for s in args.batch_sizes.split(",")):
        r = measure(tracks, args.device, size)
        print(f"batch {size:4d}: {r['tracks_per_min']:7.1f} tracks/min; per track: log-Mel "
              f"{r['log-Mel ms/track']:.1f} ms, network {r['network ms/track']:.1f} ms, results "
              f"{r['result ms/track']:.1f} ms, other {r['other ms/track']:.1f} ms "
              f"({r['patches']} patches in {r['batches']} passes)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
