"""Round trip of generated loops through MIDI: compose, write the composer's MIDI, read it back
with :mod:`musicapp.compose.midi_input` and count exact chord and key read-backs.

Run: ``OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python -m musicapp_lab.compose.midi_roundtrip``
(PYTHONPATH=lab).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def _per_beat(items: list[tuple[float, tuple[int, str] | None]], total: float,
              step: float = 0.5) -> list[tuple[int, str] | None]:
    out = []
    t = 0.0
    while t < total - 1e-9:
        cur = None
        for start, val in items:
            if start <= t + 1e-9:
                cur = val
        out.append(cur)
        t += step
    return out


def run(n: int = 50, verbose: bool = False, start: int = 0, signature: bool = True
        ) -> tuple[int, int, int]:
    """(loops, chords exact, key exact) over ``n`` generated loops from index ``start``; with
    ``signature`` the key is read as ``musicapp chords --from-midi`` reads it, with the clip's
    key signature (the composer writes one), else from the notes alone."""

    from musicapp.compose.arrange import arrange
    from musicapp.compose.conditioning import STYLES
    from musicapp.compose.generate import Constraints, Generator
    from musicapp.compose.midi_export import build_midi
    from musicapp.compose.midi_input import detect_key, read_clip, recognise_chords
    from musicapp.compose.model import ChordModel
    from musicapp.compose.rhythm import Meter
    from musicapp.compose.theory import Key

    gen = Generator(ChordModel.load(None))
    tonics = ("C", "G", "D", "A", "E", "F", "Bb", "Eb", "F#", "Ab", "B", "Db")
    meters = ("4/4", "4/4", "3/4", "4/4", "6/8")
    ok_chords = ok_key = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(start, start + n):
            key = Key(tonics[i % 12], ("major", "minor")[(i // 2) % 2])
            style = STYLES[i % len(STYLES)]
            meter = Meter.parse(meters[i % len(meters)])
            cpb = ("1", "2", "auto")[i % 3]
            va = (0.5, 0.5) if key.mode == "major" else (-0.5, 0.0)
            prog = gen.generate(*va, key, Constraints(length=(4, 8)[i % 2], meter=meter,
                                                      chords_per_bar=cpb),
                                seed=i, candidates=4, style=style)
            arr = arrange(prog, seed=i)
            path = Path(tmp) / f"loop{i}.mid"
            build_midi(arr).save(path)
            clip = read_clip(path)
            found, _ = detect_key(clip.notes,
                                  signature=clip.key_signature if signature else None)
            spans = recognise_chords(clip, found)
            t, want = 0.0, []
            for tok, b in zip(prog.tokens, prog.beats, strict=True):
                pcs = tok.pitch_classes(key)
                want.append((t, (pcs[0] % 12, tok.quality)))
                t += b
            got = [(s.start, None if s.token is None else
                    (s.token.pitch_classes(found)[0] % 12, s.token.quality)) for s in spans]
            total = sum(prog.beats)
            chords_ok = _per_beat(want, total) == _per_beat(got, total)
            key_ok = found.pc == key.pc and found.mode == key.mode
            ok_chords += chords_ok
            ok_key += key_ok
            if verbose and not (chords_ok and key_ok):
                print(i, key.name, meter.text, style, cpb, prog.names, "->", found.name,
                      [s.token.name(found) if s.token else "-" for s in spans])
    return n, ok_chords, ok_key


def main() -> None:
    """Command line: print the shares."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--start", type=int, default=0,
                    help="first loop index (seed); 50 gives loops the rules were not tuned on")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--no-signature", action="store_true",
                    help="read the key from the notes alone (ignore the key signature)")
    a = ap.parse_args()
    n, c, k = run(a.n, a.v, a.start, signature=not a.no_signature)
    print(f"{n} loops: chords exact {c}/{n} ({100 * c / n:.0f}%), key exact {k}/{n} "
          f"({100 * k / n:.0f}%)")


if __name__ == "__main__":
    main()
