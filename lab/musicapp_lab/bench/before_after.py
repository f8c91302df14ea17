"""What the user sees, before and after a change, in one run: ``musicapp bench before-after``.

Checks out ``--base`` (a git revision) into a temporary worktree and times, for the base and for
the working tree, alternately (so both see the same machine load):

* ``analyze``: ``musicapp analyze --json`` of a 3-minute track, wall time of the whole process
  (start-up, model loading, decoding, every part) — what a CLI user waits for;
* ``gui start``: the desktop app's cold start to a visible window (``MUSICAPP_GUI_REPORT_START``);
* ``chords``: ``musicapp chords -o`` of an 8-chord idea, whole process.

Each tree runs with the same virtual environment; the base tree is put first on ``PYTHONPATH``
so that its own ``musicapp`` package is imported. Prints medians and the ratio after/before.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from musicapp_lab.paths import REPO


def _track(path: Path, seconds: float = 180.0) -> Path:
    import numpy as np
    import soundfile as sf

    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    roots = [220.0, 174.61, 261.63, 196.0]
    y = np.zeros_like(t)
    for i, root in enumerate(roots * int(seconds // 8 + 1)):
        sl = slice(int(i * 2 * sr), int((i + 1) * 2 * sr))
        tt = t[sl]
        y[sl] = sum(0.15 * np.sin(2 * np.pi * root * r * tt) for r in (1, 1.26, 1.5))
    y += 0.4 * np.exp(-(t % 0.5) * 30) * np.sin(2 * np.pi * 60 * t)
    sf.write(path, np.stack([y, y], 1).astype(np.float32), sr, format="FLAC")
    return path


def _run(tree: Path, argv: list[str], env_extra: dict[str, str] | None = None) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "musicapp", *argv], cwd=tree, env=env,
                         capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{tree}: musicapp {' '.join(argv)} failed: {out.stderr[-800:]}")
    return wall, out.stdout


def _gui_start(tree: Path, data: Path) -> float:
    """Seconds to a visible window as the app reports it; the window is closed right after."""
    code = ("import os, sys, time; t0 = time.perf_counter(); from musicapp.gui.app import create_app, "
            "create_window; app = create_app(); w = create_window(); w.show(); app.processEvents(); "
            "print(f'visible {time.perf_counter() - t0:.4f}'); w.close()")
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM="offscreen",
               MUSICAPP_DATA_DIR=str(data), XDG_CONFIG_HOME=str(data / "config"))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True,
                         text=True, timeout=300)
    wall = time.perf_counter() - t0
    m = re.search(r"visible ([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"{tree}: GUI start failed: {out.stderr[-800:]}")
    return wall


def run(base: str = "HEAD~1", repeats: int = 3) -> str:
    """Time both trees; return the table as text."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base_tree = tmp / "base"
        from musicapp_lab.bench.gui_compare import resolve_commit

        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base_tree),
                        resolve_commit(base, REPO)], check=True)
        try:
            track = _track(tmp / "track.flac")
            trees = {"before": base_tree, "after": REPO}
            times: dict[str, dict[str, list[float]]] = {k: {} for k in trees}
            for _ in range(repeats):
                for label, tree in trees.items():
                    data = tmp / f"data-{label}"
                    env = {"MUSICAPP_DATA_DIR": str(data)}
                    times[label].setdefault("analyze (3-min track, whole process)", []).append(
                        _run(tree, ["analyze", "--json", str(track)], env)[0])
                    times[label].setdefault("gui start to visible window", []).append(
                        _gui_start(tree, data))
                    mid = tmp / f"idea-{label}-{time.time_ns()}.mid"
                    times[label].setdefault("chords -o (whole process)", []).append(
                        _run(tree, ["chords", "--mood", "happy", "--key", "G", "-o", str(mid)],
                             env)[0])
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)],
                           check=False)
    rows = [f"before = {base}, after = working tree; medians of {repeats} alternating runs (s)",
            f"{'what':40} {'before':>8} {'after':>8} {'after/before':>13}"]
    for what in times["before"]:
        b, a = statistics.median(times["before"][what]), statistics.median(times["after"][what])
        rows.append(f"{what:40} {b:8.2f} {a:8.2f} {a / b:13.2f}")
    return "\n".join(rows)
