"""Reliability diagrams (stated confidence against the share that was right), the one axis code
for every such plot of the lab: the key-confidence diagram of ``musicapp evaluate analysis
--reliability`` and the before/after panels of ``key_model.calibration``.

matplotlib loads inside :func:`figure` (the Agg backend: no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Curve:
    """One line of a reliability panel: per-item confidence and 1/0 correctness."""

    confidence: np.ndarray
    correct: np.ndarray
    label: str
    style: str = "o-"
    counts: bool = False  # write the number of items beside each point


def binned(confidence: Sequence[float] | np.ndarray, correct: Sequence[float] | np.ndarray,
           bins: int = 10) -> tuple[list[float], list[float], list[int]]:
    """Mean confidence, share correct and item count of each non-empty equal-width bin of [0, 1]
    (1.0 falls in the last bin)."""
    conf = np.asarray(confidence, dtype=float)
    right = np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges) - 1, 0, bins - 1)
    xs, ys, ns = [], [], []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            xs.append(float(conf[sel].mean()))
            ys.append(float(right[sel].mean()))
            ns.append(int(sel.sum()))
    return xs, ys, ns


def figure(panels: int, size: tuple[float, float]) -> tuple[Any, list[Any]]:
    """A matplotlib figure of ``panels`` side-by-side axes, each ``size`` inches (100 dpi)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(size[0] * panels, size[1]), dpi=100)
    return fig, list(np.atleast_1d(axes))


def draw_panel(ax: Any, curves: Sequence[Curve], *, title: str, xlabel: str, ylabel: str,
               bins: int = 10, title_size: float | None = None, legend_size: float = 8) -> None:
    """Draw one reliability panel on ``ax``: the diagonal, each curve (binned), the labels, the
    unit square and the legend (upper left)."""
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    for curve in curves:
        xs, ys, ns = binned(curve.confidence, curve.correct, bins)
        ax.plot(xs, ys, curve.style, label=curve.label)
        if curve.counts:
            for x, y, n in zip(xs, ys, ns, strict=True):
                ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10),
                            fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, **({} if title_size is None else {"fontsize": title_size}))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=legend_size)


def save(fig: Any, path: Path, *, force: bool) -> Path:
    """Lay out, write ``fig`` to ``path`` (atomically; an existing file only with ``force``)
    and close it."""
    import matplotlib.pyplot as plt

    from musicapp_lab.cli._out import save_figure

    try:
        fig.tight_layout()
        return save_figure(fig, path, force=force)
    finally:
        plt.close(fig)
