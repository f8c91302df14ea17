"""Key read-back of the composer's MIDI input (:func:`musicapp.compose.midi_input.detect_key`) on
POP909 songs' MIDI, against the songs' key annotations (``key_audio.txt``; the key held longest).

Development pool only (song numbers divisible by 4; never the evaluation splits). Each song is
read whole (:func:`read_clip`), from its notes alone and with the annotated key's signature given
(the analysis export writes one: the round trip analyse -> MIDI -> from-midi), once named as the
annotated key and once as its major key.

Run: ``PYTHONPATH=lab nice -n 5 .venv/bin/python -m musicapp_lab.compose.pop909_clip_keys
--root data/pop909/POP909 -n 100``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def annotated_key(song_dir: Path) -> tuple[int, str] | None:
    """(tonic pc, mode) held longest in ``key_audio.txt``, or None."""
    from musicapp.pitch import note_pc

    held: dict[tuple[int, str], float] = {}
    p = song_dir / "key_audio.txt"
    if not p.is_file():
        return None
    for line in p.read_text().splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[2]:
            continue
        tonic, q = parts[2].split(":")
        k = (note_pc(tonic), "minor" if q.startswith("min") else "major")
        held[k] = held.get(k, 0.0) + float(parts[1]) - float(parts[0])
    return max(held, key=lambda k: held[k]) if held else None


def dev_songs(root: Path, n: int) -> list[Path]:
    """The first ``n`` development-pool songs (number divisible by 4) under ``root``."""
    out = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.isdigit()
           and int(d.name) % 4 == 0 and (d / f"{d.name}.mid").is_file()]
    return out[:n]


def run(root: Path, n: int, verbose: bool = False) -> dict[str, tuple[int, int]]:
    """{"plain": (exact, read), "signature": ..., "major-named signature": ...} over ``n``
    development songs: notes alone, with the annotated key's signature (as the analysis export
    names it), and with that signature named as its major key (mode-neutral)."""
    from musicapp.compose.midi_input import detect_key, read_clip
    from musicapp.compose.theory import Key
    from musicapp.errors import MusicappError
    from musicapp.pitch import key_tonic_name

    res = {"plain": [0, 0], "signature": [0, 0], "major-named signature": [0, 0]}
    for d in dev_songs(root, n):
        truth = annotated_key(d)
        if truth is None:
            continue
        try:
            clip = read_clip(d / f"{d.name}.mid")
        except MusicappError as exc:
            if verbose:
                print(d.name, "skipped:", exc)
            continue
        got = detect_key(clip.notes)[0]
        res["plain"][0] += (got.pc, got.mode) == truth
        res["plain"][1] += 1
        sig = Key(key_tonic_name(*truth), truth[1]).mido_key()
        got2 = detect_key(clip.notes, signature=sig)[0]
        res["signature"][0] += (got2.pc, got2.mode) == truth
        res["signature"][1] += 1
        # a mode-neutral signature: named as its major key even for a minor song
        major_pc = truth[0] if truth[1] == "major" else (truth[0] + 3) % 12
        got3 = detect_key(clip.notes, signature=Key(key_tonic_name(major_pc, "major")).mido_key()
                          )[0]
        res["major-named signature"][0] += (got3.pc, got3.mode) == truth
        res["major-named signature"][1] += 1
        if verbose and (got.pc, got.mode) != truth:
            print(d.name, "truth", key_tonic_name(*truth), truth[1], "got", got.name,
                  "with signature", got2.name)
    return {k: (v[0], v[1]) for k, v in res.items()}


def main() -> None:
    """Print the exact-key counts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("data/pop909/POP909"))
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    for k, (ok, total) in run(a.root, a.n, a.verbose).items():
        print(f"{k}: key exact {ok}/{total}")


if __name__ == "__main__":
    main()
