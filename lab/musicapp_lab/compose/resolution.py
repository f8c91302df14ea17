"""Does the chord after a locked dominant resolve when it is regenerated?

One fixed population of loops: for each seed, a 4- or 8-chord loop (major 60 %, minor 40 %,
random valence/arousal) is generated around a locked dominant (V7 or a secondary V7/x; in half
the seeds just before the last chord), with the cadence rule off so that the population does not
depend on that rule. Then the chord after the dominant is regenerated as the GUI and
``musicapp chords --progression ... --regenerate POS`` do (default constraints, seed = the
seed). The new chord is counted as the dominant's *target* (root a fifth below), a *deceptive*
resolution (root a half or whole step above the dominant's: V7/vi -> IV, V7 -> vi) or *other*,
for the reranked result (the app's), the first sample alone (the model with the masks) and the
model's probability mass over the allowed chords (:meth:`Generator.alternatives`).

Run ``python -m musicapp_lab.compose.resolution --seeds 1000``; ``--generate FILE`` imports the
generator from another copy of ``musicapp/compose/generate.py`` (e.g. an older commit's, to
compare before and after a change).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections import Counter, defaultdict
from types import ModuleType

import numpy as np

from musicapp.compose.theory import ChordToken, Key

DOMINANTS = {"major": ("V:7", "V:7/V", "V:7/VI", "V:7/II", "V:7/IV", "V:7/III"),
             "minor": ("V:7", "V:7/IV", "V:7/bVI")}  # V7/bIII, V7/bVII: diatonic bVII7, IV7
KINDS = ("target", "deceptive", "other")
_C = Key("C")


def resolution(dominant: ChordToken, chord: ChordToken) -> str:
    """``"target"``, ``"deceptive"`` or ``"other"``: where ``chord`` goes after ``dominant``."""
    r, n = dominant.root(_C)[1], chord.root(_C)[1]
    if n == (r + 5) % 12:
        return "target"
    if n in ((r + 1) % 12, (r + 2) % 12):
        return "deceptive"
    return "other"


def _module(path: str | None) -> ModuleType:
    if path is None:
        return importlib.import_module("musicapp.compose.generate")
    spec = importlib.util.spec_from_file_location("_generate_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: cannot be imported")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def run(seeds: int, generate_module: str | None = None) -> dict[str, dict[str, float]]:
    """Shares per group (``last``/``inner`` position x whether the replaced chord was the
    target, and ``all``): ``{group: {"n": count, "rerank target": share, ...}}``."""
    gm = _module(generate_module)
    gen = gm.Generator()
    counts: Counter = Counter()
    mass: defaultdict = defaultdict(float)
    for s in range(seeds):
        rng = np.random.default_rng(10_000 + s)
        mode = "major" if rng.random() < 0.6 else "minor"
        length = int(rng.choice([4, 8]))
        pos = length - 2 if s % 2 == 0 else int(rng.integers(0, length - 2))
        dom = str(rng.choice(DOMINANTS[mode]))
        v, a = float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8))
        loop = gen.generate(v, a, Key("C", mode),
                            gm.Constraints(length=length, locked={pos: dom}, cadence=False), seed=s)
        d = loop.tokens[pos]
        replaced = "current=target" if resolution(d, loop.tokens[pos + 1]) == "target" \
            else "current!=target"
        groups = (f"{'last' if pos + 1 == length - 1 else 'inner'} {replaced}", "all")
        for label, kw in (("rerank", {}), ("sample", {"rerank": False})):
            k = resolution(d, gen.regenerate(loop, [pos + 1], seed=s, **kw).tokens[pos + 1])
            for g in groups:
                counts[(g, f"{label} {k}")] += 1
        alts = gen.alternatives(loop, pos + 1, top=10_000)
        total = sum(x.probability for x in alts) or 1.0
        for g in groups:
            counts[(g, "n")] += 1
            for x in alts:
                mass[(g, f"model {resolution(d, x.token)}")] += x.probability / total
    out: dict[str, dict[str, float]] = {}
    for g in sorted({g for g, _ in counts}):
        n = counts[(g, "n")]
        row: dict[str, float] = {"n": n}
        for label in ("rerank", "sample"):
            for k in KINDS:
                row[f"{label} {k}"] = counts[(g, f"{label} {k}")] / n
        for k in KINDS:
            row[f"model {k}"] = mass[(g, f"model {k}")] / n
        out[g] = row
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the table (see the module documentation)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=1000)
    p.add_argument("--generate", metavar="FILE", help="another generate.py to measure")
    args = p.parse_args(argv)
    for g, row in run(args.seeds, args.generate).items():
        print(f"{g}: {int(row['n'])} loops")
        for label in ("rerank", "sample", "model"):
            print(f"  {label:7s}" + "  ".join(f"{k} {row[f'{label} {k}']:6.1%}" for k in KINDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
