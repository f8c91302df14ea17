"""The one reliability-diagram code: binning, the evaluation's diagram and the key model's
calibration panels drawn by it, written all or nothing."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.analysis.evalset.evaluate import reliability_diagram
from musicapp_lab.analysis.key_model.calibration import reliability_figure
from musicapp_lab.analysis.reliability_plot import binned

from musicapp.errors import FileExistsRefusal


def test_binned_means_and_counts():
    conf = [0.05, 0.07, 0.55, 1.0, 0.95]
    right = [0, 1, 1, 1, 0]
    xs, ys, ns = binned(conf, right, bins=10)
    assert xs == pytest.approx([0.06, 0.55, 0.975])  # 1.0 falls in the last bin
    assert ys == pytest.approx([0.5, 1.0, 0.5]) and ns == [2, 1, 2]


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_both_diagrams_are_drawn_and_an_old_one_is_kept_without_force(tmp_path):
    rng = np.random.default_rng(0)
    c = rng.random(100)
    y = (rng.random(100) < c).astype(float)
    out = tmp_path / "eval.png"
    out.write_bytes(b"an older diagram")
    with pytest.raises(FileExistsRefusal, match="pass --force"):
        reliability_diagram(list(zip(c, y, strict=True)), out)
    assert out.read_bytes() == b"an older diagram"
    reliability_diagram(list(zip(c, y, strict=True)), out, force=True)
    assert _png_size(out) == (450, 450)
    key = reliability_figure([("a", c, c ** 0.8, y), ("b", c[:50], c[:50], y[:50])],
                             tmp_path / "key.png")
    assert _png_size(key) == (840, 440)  # two panels of 4.2 x 4.4 inches at 100 dpi
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.png", "key.png"]
