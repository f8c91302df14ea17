"""The "feel" lane under the spectrogram: energy (1-10) and valence (-1 … +1) over time.

The tagger gives, per 3-s segment, valence and arousal in -1 … +1 and energy 1-10 (energy is the
arousal on the DJs' 1-10 scale: ``1 + 9 (arousal + 1) / 2``, so the two are one curve). The lane
draws energy as a filled amber step curve (its top edge is the arousal) and valence as a teal
line, on the spectrogram's time axis. The left axis is the legend, each name in its curve's
colour followed by the curve's value at the play cursor ("energy here 7/10", "valence here
+0.31": "here" tells them from the track's overall energy in the window's summary line,
"track energy 3/10"); hovering shows the values at any time.
Silence or a too-short track hides both curves and says why.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontMetrics

from musicapp.gui.theme import ACCENT, ACCENT2
from musicapp.wording import signed

if TYPE_CHECKING:
    from musicapp.gui.lane import Lane

#: legend names of the lane's curves and their colours
COLORS = {"energy": ACCENT, "valence": ACCENT2}
#: y of each legend entry on the lane's -1 … +1 scale
LEGEND_Y = {"energy": 0.5, "valence": -0.5}
#: the widest legend texts (what the lanes' shared left axis must fit)
WIDEST_LEGEND = ("energy here 10/10", "valence here +0.00", "valence here -0.00")


def legend_texts(point: dict[str, float]) -> list[str]:
    """The legend at the play cursor: "energy here 7/10", "valence here +0.31"."""
    return [f"energy here {point['energy']:.0f}/10", f"valence here {signed(point['valence'])}"]


def legend_width(font: QFont) -> int:
    """Pixels the lanes' left axis needs to show the widest legend in ``font`` (with the axis's
    5-px text offset and a margin)."""
    metrics = QFontMetrics(font)
    return max(metrics.horizontalAdvance(t) for t in WIDEST_LEGEND) + 12


def energy_to_y(energy: float) -> float:
    """Energy 1-10 on the lane's -1 … +1 scale (1 → -1, 10 → +1; the arousal's place)."""
    return (float(energy) - 5.5) / 4.5


def valence_word(valence: float) -> str:
    """"negative", "neutral" or "positive" for a valence in -1 … +1."""
    return "negative" if valence < -0.2 else "positive" if valence > 0.2 else "neutral"


def fmt_time(seconds: float) -> str:
    """"1:05" for 65 s."""
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


def feel_points(curves: dict[str, Any] | None, duration_s: float | None = None
                ) -> list[dict[str, float]]:
    """The curves as [{start, end, energy, valence, arousal}], each point lasting until the next
    one starts (the last one ``step_s`` or to the end of the track); points with a missing
    value are dropped."""
    if not curves:
        return []
    starts = list(curves.get("start") or [])
    step = float(curves.get("step_s") or 3.0)
    out = []
    for i, start in enumerate(starts):
        try:
            e = float(curves["energy"][i])
            v = float(curves["valence"][i])
            a = float(curves["arousal"][i])
            s = float(start)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if not all(math.isfinite(x) for x in (e, v, a, s)):
            continue
        end = float(starts[i + 1]) if i + 1 < len(starts) else s + step
        if duration_s and i + 1 == len(starts):
            end = min(end, float(duration_s)) if float(duration_s) > s else end
        out.append({"start": s, "end": max(end, s + 1e-3), "energy": e, "valence": v,
                    "arousal": a})
    return out


def describe(point: dict[str, float]) -> str:
    """"0:42–0:45  energy 7.2/10 (arousal +0.27) · valence -0.12 (neutral)"."""
    return (f"{fmt_time(point['start'])}–{fmt_time(point['end'])}  energy "
            f"{point['energy']:.1f}/10 (arousal {signed(point['arousal'])}) · valence "
            f"{signed(point['valence'])} ({valence_word(point['valence'])})")


class LegendAxis(pg.AxisItem):
    """A left axis whose tick texts are drawn in the colour of the curve they name (the text's
    first word)."""

    def __init__(self, colors: dict[str, str], **kw) -> None:
        super().__init__("left", **kw)
        self.colors = {k: QColor(c) for k, c in colors.items()}

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802
        super().drawPicture(p, axisSpec, tickSpecs, [])
        for rect, flags, text in textSpecs:
            name = text.split(" ", 1)[0]
            p.setPen(pg.mkPen(self.colors.get(name, self.textPen().color())))
            p.drawText(rect, int(flags), text)


class FeelLane:
    """Energy and valence curves drawn in ``plot`` (a lane of the spectrogram view whose left
    axis is a :class:`LegendAxis`)."""

    def __init__(self, plot: Lane) -> None:
        self.plot = plot
        plot.setYRange(-1.0, 1.0, padding=0.06)
        plot.getAxis("left").setTicks([[(y, name) for name, y in LEGEND_Y.items()]])
        self.zero = pg.InfiniteLine(0.0, angle=0, pen=pg.mkPen((255, 255, 255, 45), width=1,
                                                                  style=pg.QtCore.Qt.DashLine))
        fill = QColor(ACCENT)
        fill.setAlpha(80)
        self.energy = pg.PlotDataItem(stepMode="center", fillLevel=-1.0, brush=fill,
                                      pen=pg.mkPen(ACCENT, width=1))
        self.valence = pg.PlotDataItem(stepMode="center", pen=pg.mkPen(ACCENT2, width=2))
        self.note = pg.TextItem("", color="#8a8f99", anchor=(0, 0.5))
        for item in (self.zero, self.energy, self.valence):
            plot.addItem(item)
        vb = plot.getViewBox()
        self.note.setParentItem(vb)  # fixed in the lane, whatever the zoom
        vb.sigResized.connect(lambda *_: self._place_note())
        self.points: list[dict[str, float]] = []
        self._starts: list[float] = []
        self.message = ""
        self.legend: list[str] = []
        self.clear()

    def clear(self, message: str = "") -> None:
        """Hide the curves; show ``message`` (why there are none) when given."""
        self.points, self._starts = [], []
        self.energy.setData([], [])
        self.valence.setData([], [])
        self.energy.hide()
        self.valence.hide()
        self.message = message
        self.note.setText(message)
        self.note.setVisible(bool(message))
        self._place_note()
        self._set_legend([] if message else list(LEGEND_Y))

    def set_data(self, curves: dict[str, Any] | None, status: str = "ok",
                 duration_s: float | None = None) -> None:
        """Draw the tagger's ``curves`` (see module docstring); a ``status`` other than "ok"
        (silence, too short) or no curves hides the lane's curves with the reason."""
        if status != "ok":
            what = "this track is silent" if status == "silence" else f"the track is {status}"
            self.clear(f"No energy or valence curve: {what}.")
            return
        points = feel_points(curves, duration_s)
        if not points:
            self.clear("No energy or valence curve in this analysis (the mood model gave none).")
            return
        self.clear()
        x = np.array([p["start"] for p in points] + [points[-1]["end"]])
        self.energy.setData(x, np.array([energy_to_y(p["energy"]) for p in points]))
        self.valence.setData(x, np.array([p["valence"] for p in points]))
        self.energy.show()
        self.valence.show()
        self.points = points
        self._starts = [p["start"] for p in points]

    def point_at(self, seconds: float) -> dict[str, float] | None:
        """The curve point covering ``seconds``, or None."""
        i = bisect.bisect_right(self._starts, float(seconds)) - 1
        if i < 0 or seconds >= self.points[i]["end"]:
            return None
        return self.points[i]

    def show_cursor(self, seconds: float) -> None:
        """Show the curves' values at the play cursor in the legend ("energy here 7/10",
        "valence here +0.31"); only the names where the cursor is outside the curves."""
        if not self.points:
            return
        point = self.point_at(seconds)
        if point is None:
            self._set_legend(list(LEGEND_Y))
        else:
            self._set_legend(legend_texts(point))

    def _set_legend(self, texts: list[str]) -> None:
        if texts != self.legend:
            self.legend = texts
            self.plot.getAxis("left").setTicks(
                [[(y, t) for y, t in zip(LEGEND_Y.values(), texts, strict=False)]])

    def _place_note(self) -> None:
        rect = self.plot.getViewBox().boundingRect()
        self.note.setPos(rect.left() + 6, rect.center().y())
