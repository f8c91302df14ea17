"""Benchmark: an 8-chord loop (8 reranked candidates) + arrangement + atomic MIDI write.

Target: < 50 ms on the project's 2-core machines. Stages are timed separately and the medians
over ``repeats`` runs are compared with two references measured in the same process: the 50 ms
budget and a plain ``mido`` save of the same MIDI file (the I/O floor).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path


def main(repeats: int = 50) -> int:
    """Run the benchmark and print figures and ratios."""
    from musicapp.compose.arrange import arrange
    from musicapp.compose.generate import Constraints, Generator
    from musicapp.compose.midi_export import build_midi, write_midi
    from musicapp.compose.model import ChordModel
    from musicapp.compose.theory import Key

    t = time.perf_counter()
    gen = Generator(ChordModel.load())
    load_ms = 1000 * (time.perf_counter() - t)
    key = Key("A", "minor")
    stages: dict[str, list[float]] = {"generate": [], "arrange": [], "midi write": [],
                                      "total": [], "reference: mido save": []}
    with tempfile.TemporaryDirectory() as d:
        for i in range(repeats + 3):
            t0 = time.perf_counter()
            prog = gen.generate(-0.3, 0.4, key, Constraints(length=8), seed=i, candidates=8)
            t1 = time.perf_counter()
            arr = arrange(prog, seed=i)
            t2 = time.perf_counter()
            write_midi(arr, Path(d) / f"loop{i}.mid")
            t3 = time.perf_counter()
            mid = build_midi(arr)
            t4 = time.perf_counter()
            mid.save(Path(d) / f"ref{i}.mid")
            t5 = time.perf_counter()
            if i < 3:  # warm-up
                continue
            stages["generate"].append(t1 - t0)
            stages["arrange"].append(t2 - t1)
            stages["midi write"].append(t3 - t2)
            stages["total"].append(t3 - t0)
            stages["reference: mido save"].append(t5 - t4)
    med = {k: 1000 * statistics.median(v) for k, v in stages.items()}
    print(f"ChordGRU load (once): {load_ms:.1f} ms")
    print(f"{'stage':24s} {'median ms':>10s}")
    for k, v in med.items():
        print(f"{k:24s} {v:10.2f}")
    total = med["total"]
    print(f"total / 50 ms budget: {total / 50.0:.2f}  ({'PASS' if total < 50 else 'FAIL'})")
    print(f"total / plain mido save of the same file: {total / med['reference: mido save']:.1f}x")
    return 0 if total < 50 else 1
