"""The batch worker's CPU stage before/after in one run (issue 17).

``python -m musicapp_lab.bench.worker_stage --base REV [files...]`` (with ``PYTHONPATH=lab``)
runs :func:`musicapp.batch.stages.process_track` - as a batch worker runs it with the tagger in
the model stage: ``TrackSpec(tags=True, tags_in_worker=False, device="cpu", threads=1)``,
``OMP_NUM_THREADS=1``, numpy's BLAS at one thread - on the same files in a detached worktree of
``REV`` and in the current tree. Each run is a fresh child process whose ``PYTHONPATH`` puts one
tree's ``musicapp`` first; the trees alternate (A B, B A, ...). A child first processes the first
file once untimed (imports, cached filter banks, JIT kernels: a worker pays this once), then every
file once, and reports the per-stage seconds of each track (the ``timings`` the worker records)
and a digest of each stored result.

Printed: per stage, seconds per track (the mean over the files of one run, the median over the
runs) for base and now and their ratio, the process CPU time of the whole call (less disturbed
than the wall-clock stage times when other programs share the cores), and whether the stored
results (``stored_form``, which holds no timings, plus the 16 kHz samples handed to the model
stage) are identical between the trees for every file. Exit status 0 when they are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from musicapp_lab.bench.gui_compare import base_tree, child_env

DEFAULT_FILES = (".gpu_real/AmbientBattle.ogg", ".gpu_real/hr-savino-palace.ogg",
                 ".gpu_real/town.ogg", ".gpu_real/underwater.ogg")

_CHILD = r"""
import hashlib, json, sys, time
from musicapp.batch.stages import TrackSpec, process_track, stored_form
from musicapp.pipeline import one_blas_thread

spec = TrackSpec(tags=True, tags_in_worker=False, device="cpu", threads=1)
files = sys.argv[1:]
out = {"first_s": 0.0, "timings": [], "cpu": [], "digests": []}
with one_blas_thread():
    t = time.perf_counter()
    process_track(files[0], spec)
    out["first_s"] = time.perf_counter() - t
    for path in files:
        cpu = time.process_time()
        result = process_track(path, spec)
        cpu = time.process_time() - cpu
        if not result.get("ok"):
            raise SystemExit(f"{path}: {result.get('error')}")
        out["timings"].append(result["timings"])
        out["cpu"].append(cpu)
        stored = stored_form(result)
        fp = stored.pop("fingerprint") or b""
        h = hashlib.sha256(json.dumps(stored, sort_keys=True, default=str).encode())
        h.update(fp)
        y16 = result.get("y16")
        if y16 is not None:
            h.update(y16.tobytes())
        out["digests"].append(h.hexdigest())
print("RESULT " + json.dumps(out), flush=True)
"""


def run_child(tree: Path, files: list[str], timeout: float = 900.0) -> dict:
    """One child process on ``tree``: the first-call seconds, per-track timings and digests."""
    env = child_env(tree)
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([sys.executable, "-c", _CHILD, *files], cwd=str(tree), env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr or "").strip().splitlines()[-5:]
    raise RuntimeError(f"child on {tree} failed (exit {proc.returncode}): {' | '.join(tail)}")


def compare(base: Path, now: Path, files: list[str], runs: int) -> dict[str, list[dict]]:
    """``runs`` children per tree, alternating; per tree, each child's result."""
    trees = {"base": base, "now": now}
    results: dict[str, list[dict]] = {"base": [], "now": []}
    for i in range(runs):
        for name in (("base", "now") if i % 2 == 0 else ("now", "base")):
            results[name].append(run_child(trees[name], files))
            print(f"  run {i + 1}/{runs} {name}: done", flush=True)
    return results


def stage_medians(runs: list[dict]) -> dict[str, float]:
    """Per stage (and ``total``): the median over runs of the mean seconds per track."""
    per_run: list[dict[str, float]] = []
    for res in runs:
        stages: dict[str, float] = {}
        for timing in res["timings"]:
            for stage, seconds in timing.items():
                stages[stage] = stages.get(stage, 0.0) + seconds / len(res["timings"])
        stages["total"] = sum(stages.values())
        stages["CPU seconds (all stages, process time)"] = sum(res["cpu"]) / len(res["cpu"])
        stages["first call in a fresh process"] = res["first_s"]
        per_run.append(stages)
    keys = list(per_run[0])
    return {k: statistics.median(r.get(k, 0.0) for r in per_run) for k in keys}


def report(results: dict[str, list[dict]], files: list[str], base_label: str) -> bool:
    """Print the table and the equality check; True when every stored result is identical."""
    base, now = stage_medians(results["base"]), stage_medians(results["now"])
    print(f"{'stage (s per track, median of runs)':40s} {'base ' + base_label:>14s} "
          f"{'now':>8s} {'now/base':>9s}")
    for key in base:
        b, n = base[key], now.get(key, 0.0)
        print(f"{key:40s} {b:14.3f} {n:8.3f} {n / b if b else float('nan'):9.2f}")
    same = True
    digests = {name: {tuple(r["digests"]) for r in res} for name, res in results.items()}
    for name, seen in digests.items():
        if len(seen) != 1:
            print(f"{name}: results differ between runs of the same tree")
            same = False
    b_dig, n_dig = results["base"][0]["digests"], results["now"][0]["digests"]
    for path, b, n in zip(files, b_dig, n_dig, strict=True):
        if b != n:
            print(f"DIFFERENT stored result: {path}")
            same = False
    print("stored results identical (analysis, fingerprint, 16 kHz samples)" if same
          else "stored results differ")
    return same


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--base REV [--runs N] [files...]``."""
    parser = argparse.ArgumentParser(prog="python -m musicapp_lab.bench.worker_stage",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=3, help="child processes per tree (3)")
    parser.add_argument("files", nargs="*", help=f"audio files (default: {DEFAULT_FILES})")
    args = parser.parse_args(argv)
    now = Path(subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True,
                              capture_output=True, text=True).stdout.strip())
    files = [str(Path(f).resolve()) for f in (args.files or [now / f for f in DEFAULT_FILES])]
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        print(f"worker_stage: error: no such file: {missing[0]}", file=sys.stderr)
        return 2
    base, tmp = base_tree(args.base, now)
    print(f"worker stage, base {args.base} vs the working tree: {len(files)} files, "
          f"{args.runs} runs per tree, alternating; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    try:
        results = compare(base, now, files, args.runs)
    finally:
        subprocess.run(["git", "-C", str(now), "worktree", "remove", "--force", str(base)],
                       check=False, capture_output=True)
        tmp.cleanup()
    same = report(results, files, args.base[:10])
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
