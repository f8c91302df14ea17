"""Weak mood labels from the titles of the allowed Debian soundtracks (documented rules).

No human valence/arousal ratings exist under a permissive licence here, but game soundtracks name
their tracks by the scene they accompany: "Battlescape", "FireFight", "menu", "IntroSad",
"win/...". A scene name is a (weak) statement about the music's character: a battle theme is
energetic, a menu theme is calm, a defeat jingle is dark. This module turns the words of a track's
file name and folder into two optional binary labels:

* **arousal**: +1 energetic, -1 calm;
* **valence**: +1 bright, -1 dark.

Rules (fixed before any model output on the labelled tracks was looked at; the words were chosen
for their meaning as scene names, from the issue's list - battle, victory, boss -> energetic;
calm, menu, peaceful, love, sad -> calm - and their obvious relatives):

* The path below the package's music folder is split into words at non-letters and lower/upper
  case changes ("MarineFireFight" -> marine, fire, fight; "lose/March Thee to Dis" -> lose, march,
  thee, to, dis).
* A word matches a rule word when it equals it or starts with it (``battle`` matches
  "battlescape"; ``fight`` "fightmare"); rule words are at least four letters, except ``war``,
  ``win`` and ``sad``, which must match whole words.
* A track gets a label on an axis when its words match rule words of one side only; words of both
  sides (e.g. "AmbientBattle") leave that axis unlabelled.

The same mapping is printed in the model card (:func:`rules_table`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: arousal +1: words naming action scenes.
ENERGETIC = ("battle", "fight", "firefight", "warfare", "war", "attack", "raid", "boss",
             "victory", "win", "chase", "pursuit", "hunt", "combat", "assault", "strike",
             "striking", "hyper", "action", "army", "hellforce", "chaos", "insanity", "beast")  # fmt: skip
#: arousal -1: words naming resting scenes or quiet feelings.
CALM = ("calm", "menu", "peace", "love", "sad", "ambient", "ambience", "ocean", "underwater",
        "nature", "dream", "sleep", "lullaby", "lose", "loose", "lost", "snow")  # fmt: skip
#: valence +1: words naming success or pleasant places and feelings.
BRIGHT = ("victory", "win", "happy", "love", "peace", "beach", "caribbean", "fruit", "sheep",
          "party", "sun")  # fmt: skip
#: valence -1: words naming defeat, threat or grim places.
DARK = ("sad", "lose", "loose", "lost", "hell", "dark", "death", "graveyard", "enemy", "threat",
        "alien", "fear", "horror", "halloween", "insanity", "chaos", "beast", "fortress",
        "underground", "fightmare")  # fmt: skip
#: Rule words that must match whole words (short, or prefixes of unrelated words).
WHOLE = frozenset({"war", "win", "sad", "sun", "lost", "lose"})


@dataclass(frozen=True)
class WeakLabel:
    """A track's weak labels (None where its title says nothing or contradicts itself)."""

    arousal: int | None
    valence: int | None
    words: tuple[str, ...]


def title_words(rel_path: str) -> tuple[str, ...]:
    """Lower-case words of a track's path below its package's music folder (no extension)."""
    stem = str(Path(rel_path).with_suffix(""))
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)
    return tuple(w.lower() for w in re.split(r"[^A-Za-z]+", spaced) if w)


def _hits(words: tuple[str, ...], rule: tuple[str, ...]) -> list[str]:
    out = []
    for r in rule:
        for w in words:
            if w == r or (r not in WHOLE and len(r) >= 4 and w.startswith(r)):
                out.append(r)
                break
    return out


def _side(words: tuple[str, ...], pos: tuple[str, ...], neg: tuple[str, ...]) -> int | None:
    p, n = _hits(words, pos), _hits(words, neg)
    if p and not n:
        return 1
    if n and not p:
        return -1
    return None


def label_path(rel_path: str) -> WeakLabel:
    """Weak labels of one track from its path below the package's music folder."""
    words = title_words(rel_path)
    return WeakLabel(_side(words, ENERGETIC, CALM), _side(words, BRIGHT, DARK), words)


def music_relpath(path: str) -> str:
    """The part of a cached track path that names the track (after its ``music``/``Music``/
    ``cdtracks``/``titles`` folder, else the file name), so folders such as ``win/`` count."""
    parts = Path(path).parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i].lower() in ("music", "cdtracks", "titles"):
            return "/".join(parts[i + 1 :])
    return parts[-1]


def rules_table() -> str:
    """Markdown table of the rules (for the model card)."""
    return "\n".join([
        "| axis | +1 words | -1 words |",
        "|---|---|---|",
        f"| arousal (energetic / calm) | {', '.join(ENERGETIC)} | {', '.join(CALM)} |",
        f"| valence (bright / dark) | {', '.join(BRIGHT)} | {', '.join(DARK)} |",
    ])
