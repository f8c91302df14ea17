"""Default ideas of the composer: bar counts and diminished chords among the first two chords.

Generates the composer's default 8-chord idea (seeds 1..N, temperature 1, the first Generate
press is seed 1) for every mood of ``musicapp.compose.labels.MOODS`` plus POP909-113's emotion
(valence 0.24, arousal -0.54), in G major and G minor, for the styles "any" and pop, and prints
the bar counts and the share of ideas with vii° (or any diminished chord) in the first two
chords. ``--rev REV`` measures the generator of a git revision instead (its
``musicapp/compose/generate.py``, the rest of the package from this tree), for a before/after.

Run: ``PYTHONPATH=lab nice -n 5 .venv/bin/python -m musicapp_lab.compose.default_ideas -n 20
[--rev 440bf5d]``.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

POP909_113 = (0.2377, -0.544)


def _generate_module(rev: str | None):
    """``musicapp.compose.generate`` of this tree, or of git revision ``rev``."""
    if rev is None:
        from musicapp.compose import generate

        return generate
    src = subprocess.run(["git", "show", f"{rev}:musicapp/compose/generate.py"], check=True,
                         capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "generate_rev.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("generate_rev", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["generate_rev"] = mod
    spec.loader.exec_module(mod)
    return mod


def run(n: int, rev: str | None = None) -> list[str]:
    """One line per (style, mode): ideas, bar counts, vii° and any diminished chord in the
    first two chords."""
    from musicapp.compose.labels import MOODS
    from musicapp.compose.theory import Key

    mod = _generate_module(rev)
    gen = mod.Generator()
    points = [POP909_113, *(MOODS[m] for m in sorted(MOODS))]
    lines = []
    for style in (None, "pop"):
        for mode in ("major", "minor"):
            bars: collections.Counter = collections.Counter()
            vii = dim = total = 0
            for v, a in points:
                for seed in range(1, n + 1):
                    p = gen.generate(v, a, Key("G", mode), mod.Constraints(length=8), seed=seed,
                                     style=style)
                    total += 1
                    bars[p.bars] += 1
                    first = p.tokens[:2]
                    vii += any(t.degree == 7 and t.alter == 0 and t.of_degree is None
                               and t.quality in ("dim", "dim7", "m7b5") for t in first)
                    dim += any(t.quality in ("dim", "dim7", "m7b5") for t in first)
            lines.append(f"style={style or 'any'} {mode}: {total} ideas, bars "
                         f"{dict(sorted(bars.items()))}, vii° in the first two {vii / total:.2%}, "
                         f"any diminished chord there {dim / total:.2%}")
    return lines


def main() -> None:
    """Command line: print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=20, help="seeds per emotion (default 20)")
    ap.add_argument("--rev", help="measure this git revision's generator")
    a = ap.parse_args()
    for line in run(a.n, a.rev):
        print(line, flush=True)


if __name__ == "__main__":
    main()
