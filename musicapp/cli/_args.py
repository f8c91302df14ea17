"""argparse ``type=`` functions that validate numeric options and file names with a clear message.

``--tempo nan``, ``--candidates 100000000`` or ``-o ""`` are refused by argparse itself
("argument --tempo: must be a finite number from 20 to 400, got 'nan'"), exit 2, before any work.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _fmt(x: float) -> str:
    return f"{x:g}"


def finite_float(
    lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> Callable[[str], float]:
    """A ``type=`` that accepts a finite float in ``[lo, hi]`` (``lo_open``/``hi_open`` exclude the ends)."""
    want = f"a finite number in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        ok = math.isfinite(x) and (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return x

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


def int_range(lo: int, hi: int) -> Callable[[str], int]:
    """A ``type=`` that accepts a whole number in ``[lo, hi]``."""
    want = f"a whole number from {lo} to {hi}"

    def parse(text: str) -> int:
        try:
            n = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return n

    parse.__name__ = "integer"
    return parse


def file_name(text: str) -> str:
    """A ``type=`` for output file names: refuses an empty name or one with a NUL byte."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty")
    if "\0" in text:
        raise argparse.ArgumentTypeError("the file name contains a NUL byte")
    return text
