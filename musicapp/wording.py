"""How the app writes a few kinds of numbers for musicians (one rule for the CLI and the GUI).

A probability has two decimals but never reads as a certain "1.00" (">0.99").

A percentile says where a track sits among the reference clips: "99%" or "99th percentile" for
99.6, never "100" unless the track is above every reference clip (a rounded "100%" reads like
certainty).

A signed value (valence, arousal, cents) shows its sign, but a value that rounds to zero shows
none: "0.00", never "-0.00" or "+0.00".
"""

from __future__ import annotations


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def whole_percentile(percentile: float) -> int:
    """A percentile (0-100) as a whole number: rounded, but 100 only at or above 100."""
    p = float(percentile)
    return 100 if p >= 100.0 else min(99, round(p))


def percentile_text(percentile: float) -> str:
    """"99%" for a percentile of 99.6 (see :func:`whole_percentile`)."""
    return f"{whole_percentile(percentile)}%"


def percentile_ordinal(percentile: float) -> str:
    """"99th percentile" for 99.6 (see :func:`whole_percentile`)."""
    return f"{ordinal(whole_percentile(percentile))} percentile"


def confidence_text(value: float) -> str:
    """A probability as the app prints it: two decimals, never a certain "1.00" (">0.99")."""
    return ">0.99" if float(value) > 0.995 else f"{float(value):.2f}"


def signed(value: float, decimals: int = 2) -> str:
    """``value`` with ``decimals`` decimals and its sign ("+0.35", "-0.35"); a value that rounds
    to zero is written without one ("0.00" for -0.001, never "-0.00")."""
    text = f"{float(value):+.{int(decimals)}f}"
    return text[1:] if float(text) == 0.0 else text


#: below this tempo confidence the tempo is shown with a "~" (a display threshold: the value is
#: not tuned on data; the library example that asked for it had 0.30)
LOW_TEMPO_CONFIDENCE = 0.35
#: the legend of :func:`musicapp.analysis.tempo_choice.tempo_label`, for ``--help`` texts
TEMPO_LEGEND = ("tempo shown as \"~60.6\": low tempo confidence (below "
                f"{LOW_TEMPO_CONFIDENCE:g}); \"60.6 (or 121.2)\": the half/double level scores "
                "almost as well (use --tempo-level, or the app's half/double toggle)")
