"""Speed of the shipped tagger against the teachers it replaces, and of the full analysis, in one
process on one file (best of ``--repeats`` after a warm-up run of each path)::

    python -m musicapp_lab.models.bench_student TRACK.wav [--repeats 2] [--threads 1]

Paths timed: the engine with the distilled student (``TaggerEngine().analyze_path``), the engine
with both musicnn teachers (``use_student=False``), and the whole pipeline
(``musicapp.pipeline.analyze_path``: tags, codes, valence/arousal, key, tempo, beats, chords).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from musicapp_lab.bench.timing import best_of


def _best(fn: Callable[[], object], repeats: int) -> float:
    return best_of(fn, repeats, warm_up=True)  # warm-up: model loading, numba compilation


def main(argv: list[str] | None = None) -> int:
    """Time the three paths and print them (JSON with ``--json``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import torch

    from musicapp.audio import probe
    from musicapp.models.engine import TaggerEngine
    from musicapp.pipeline import analyze_path

    torch.set_num_threads(args.threads)
    student = TaggerEngine(device="cpu", threads=args.threads)
    teachers = TaggerEngine(device="cpu", threads=args.threads, use_student=False)
    res = {
        "file": args.file,
        "duration_s": probe(args.file).duration_s,
        "threads": args.threads,
        "student_s": _best(lambda: student.analyze_path(args.file), args.repeats),
        "teachers_s": _best(lambda: teachers.analyze_path(args.file), args.repeats),
        "full_analysis_s": _best(lambda: analyze_path(args.file, device="cpu",
                                                      threads=args.threads), args.repeats),
    }  # fmt: skip
    res["student_over_teachers"] = res["student_s"] / res["teachers_s"]
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
