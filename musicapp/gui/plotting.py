"""Small pyqtgraph settings shared by the plot views."""

from __future__ import annotations

import pyqtgraph as pg


def fixed_unit_axes(plot: pg.PlotItem) -> None:
    """Turn off pyqtgraph's automatic SI prefix on every axis of ``plot`` (seconds stay
    seconds). With it on, each axis rewrote its label's HTML on every change of range - on
    every frame of a live take, for each of the linked lanes."""
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).enableAutoSIPrefix(False)
