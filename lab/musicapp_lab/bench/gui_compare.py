"""GUI before/after in one run: ``musicapp bench gui --base REV``.

Issue 15 asks for the GUI figures of the current tree and of an older one *in the same run*, so
that both meet the same machine load. Each part runs in a fresh child process whose
``PYTHONPATH`` puts one tree's ``musicapp`` first, with this lab's harness (the same
:mod:`musicapp_lab.bench.gui` functions for both trees, so both are measured by one rule). The
trees alternate run by run (A B, B A, ...), and the median of each figure is reported with the
ratio now/base.

Measured per tree: cold start to a visible window (the spectrogram painted), the longest
event-loop stall while a file opens and while a full analysis runs and its result is drawn, and
- with an input device - live frames per second and input overflows while recording. Both trees
run with bytecode caches, as an installed app does (``PYTHONDONTWRITEBYTECODE`` is dropped for
the children; the first run of each tree writes them).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parents[2]  # .../lab

_CHILD = r"""
import json, sys
lab, part, arg = sys.argv[1], sys.argv[2], float(sys.argv[3])
sys.path.insert(1, lab)
from musicapp_lab.bench import gui
if part == "start":
    import tempfile, pathlib
    with tempfile.TemporaryDirectory() as tmp:
        dt, torch_loaded = gui._time_child(gui._CHILD_APP, str(pathlib.Path(tmp) / "s.ini"))
    out = {"start_s": dt, "torch": torch_loaded}
elif part == "stalls":
    st = gui.analysis_stalls(arg)
    out = {"load_ms": st["load"]["max_ms"], "analysis_ms": st["analysis"]["max_ms"],
           "analysis_p99_ms": st["analysis"]["p99_ms"], "idle_ms": st["idle"]["max_ms"],
           "parts": st["analysis"]["parts"]}
else:
    rec = gui.recording(arg)
    out = rec if "skipped" in rec else {"fps": rec["fps"], "overflows": rec["overflows"],
                                        "record_stall_ms": rec["stalls"]["max_ms"]}
print("RESULT " + json.dumps(out), flush=True)
"""


def child_env(tree: Path) -> dict[str, str]:
    """The environment of a child that runs ``tree``'s musicapp with bytecode caches."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_part(tree: Path, part: str, arg: float = 0.0, timeout: float = 900.0) -> dict:
    """One part of the harness in a fresh process on ``tree``, with an empty data folder (no
    analysis cache: trees without one would analyse while this one reads); its result."""
    with tempfile.TemporaryDirectory(prefix="musicapp-data-") as data:
        env = child_env(tree)
        env["MUSICAPP_DATA_DIR"] = data  # an empty analysis cache: every tree analyses afresh
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(LAB_DIR), part, str(arg)],
                              cwd=str(tree), env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr or "").strip().splitlines()[-5:]
    raise RuntimeError(f"{part} on {tree} failed (exit {proc.returncode}): {' | '.join(tail)}")


def resolve_commit(rev: str, repo: Path) -> str:
    """The commit ``rev`` names in ``repo`` (full hash).

    Raises:
        MusicappError: ``rev`` names no commit there (a typo printed a CalledProcessError
            traceback, and a REV starting with '-' reached git as an option).
    """
    from musicapp.errors import MusicappError

    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                           "--end-of-options", f"{rev}^{{commit}}"],
                          capture_output=True, text=True, check=False)
    sha = proc.stdout.strip()
    if proc.returncode != 0 or not rev.strip() or len(sha) < 40:
        raise MusicappError(f"--base {rev!r}: not a commit of the repository at {repo}")
    return sha


def base_tree(rev: str, repo: Path) -> tuple[Path, tempfile.TemporaryDirectory]:
    """A detached git worktree of ``rev`` in a temporary folder (removed by the caller)."""
    from musicapp.errors import MusicappError

    sha = resolve_commit(rev, repo)
    tmp = tempfile.TemporaryDirectory(prefix="musicapp-base-")
    path = Path(tmp.name) / "tree"
    proc = subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(path), sha],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tmp.cleanup()
        raise MusicappError(f"--base {rev}: git worktree add failed: {proc.stderr.strip()[-300:]}")
    return path, tmp


def compare(base: Path, now: Path, runs: int = 5, stall_runs: int = 2,
            track_seconds: float = 30.0, record_seconds: float = 20.0) -> dict:
    """Interleaved runs of both trees (``runs`` cold starts, ``stall_runs`` analyses and as
    many recordings, at least one); per tree, the list of each figure."""
    trees = {"base": base, "now": now}
    figures: dict[str, dict[str, list[float]]] = {k: {} for k in trees}

    def add(name: str, res: dict) -> None:
        for key, value in res.items():
            if isinstance(value, bool | int | float):
                figures[name].setdefault(key, []).append(float(value))

    for tree in trees.values():  # warm the file cache and write the bytecode caches
        run_part(tree, "start")
    for i in range(runs):
        for name in (("base", "now") if i % 2 == 0 else ("now", "base")):
            add(name, run_part(trees[name], "start"))
    for i in range(stall_runs):
        for name in (("base", "now") if i % 2 == 0 else ("now", "base")):
            add(name, run_part(trees[name], "stalls", track_seconds))
    for i in range(max(1, stall_runs) if record_seconds > 0 else 0):
        for name in (("base", "now") if i % 2 == 0 else ("now", "base")):
            res = run_part(trees[name], "record", record_seconds)
            if "skipped" in res:
                print(f"recording ({name}): skipped ({res['skipped']})")
            else:
                add(name, res)
    return figures


TOLERANCE = 0.03  # relative difference below which two medians count as equal

ROWS = (  # key, label, better when lower
    ("start_s", "cold start to visible window (s)", True),
    ("load_ms", "longest stall while a file opens (ms)", True),
    ("analysis_ms", "longest stall during analysis and drawing (ms)", True),
    ("analysis_p99_ms", "p99 stall during analysis (ms)", True),
    ("idle_ms", "idle reference, longest (ms)", True),
    ("fps", "live frames per second while recording", False),
    ("overflows", "input overflows while recording", True),
    ("record_stall_ms", "longest stall while recording (ms)", True),
)


def report(figures: dict, base_label: str) -> bool:
    """Print the table (medians, ratio now/base, verdict); True when no figure is worse
    beyond the spread of the two trees' runs (and beyond :data:`TOLERANCE`); the p99 and idle
    rows are shown, not judged (the p99 depends on how long each tree's analysis lasts)."""
    print(f"{'figure':48s} {'base ' + base_label:>16s} {'now':>10s} {'now/base':>9s}  runs")
    none_worse = True
    for key, label, lower_better in ROWS:
        b, n = figures["base"].get(key), figures["now"].get(key)
        if not b or not n:
            continue
        mb, mn = statistics.median(b), statistics.median(n)
        ratio = mn / mb if mb else float("nan") if mn else 1.0
        worse = (mn > mb) if lower_better else (mn < mb)
        if key in ("idle_ms", "analysis_p99_ms"):
            worse = False
        # "worse" only when the medians differ by more than half the runs' own spread and by
        # more than TOLERANCE of the base (one run per tree has no spread)
        spread = max(max(b) - min(b), max(n) - min(n))
        beyond = abs(mn - mb) > max(spread / 2, TOLERANCE * abs(mb))
        verdict = "worse" if worse and beyond else "ok"
        if key == "overflows":
            verdict = "worse" if mn > mb else "ok"
        none_worse &= verdict == "ok"
        runs = " ".join(f"{x:.2f}" for x in b) + " | " + " ".join(f"{x:.2f}" for x in n)
        print(f"{label:48s} {mb:16.3f} {mn:10.3f} {ratio:9.2f}  {verdict}  [{runs}]")
    return none_worse


def run(base_rev: str, runs: int = 5, stall_runs: int = 2, track_seconds: float = 30.0,
        record_seconds: float = 20.0, repo: Path | None = None) -> int:
    """``musicapp bench gui --base REV``: print the before/after table; 0 when none is worse."""
    repo = repo or Path.cwd()
    now = Path(subprocess.run(["git", "-C", str(repo), "rev-parse", "--show-toplevel"],
                              check=True, capture_output=True, text=True).stdout.strip())
    base, tmp = base_tree(base_rev, now)
    print(f"musicapp bench gui --base {base_rev}: {runs} cold starts and {stall_runs} analyses "
          f"per tree, alternating; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    try:
        figures = compare(base, now, runs, stall_runs, track_seconds, record_seconds)
    finally:
        subprocess.run(["git", "-C", str(now), "worktree", "remove", "--force", str(base)],
                       check=False, capture_output=True)
        tmp.cleanup()
    ok = report(figures, base_rev[:10])
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("none worse" if ok else "some figures worse than the base")
    return 0 if ok else 1
