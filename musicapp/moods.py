"""The one mood vocabulary of musicapp: every mood word and where it sits on the valence/arousal plane.

Used by the tagger (the valence/arousal targets of the distilled model and the teacher fallback,
:mod:`musicapp.models.circumplex`), the composer (:mod:`musicapp.compose.labels`: the mood list
and each mood's point) and the library (``library search --mood WORD``). Nothing else in the app
holds a mood -> valence/arousal table.

Where the numbers come from
---------------------------
They are **our own placements**, made for this project and released with it under its MIT
licence; no rating data set is used or quoted. The frame is Russell's circumplex model of affect
(J. A. Russell, "A circumplex model of affect", *J. Pers. Soc. Psychol.* 39:1161-1178, 1980):
affect words lie around a circle in the plane of **valence** (x: unpleasant -> pleasant) and
**arousal** (y: calm/sleepy -> excited), and the paper's eight reference categories sit 45 degrees
apart: pleasure 0, excitement 45, arousal 90, distress 135, misery 180, depression 225,
sleepiness 270, contentment 315 degrees. We gave each word

* an **angle**: the octant (or the line between two octants) whose category the word describes
  as a description of *music* (e.g. "party" between excitement and arousal, "sad" between misery
  and depression, "calm" between sleepiness and contentment), and
* a **radius** in (0, 1]: how strongly the word commits to that direction (1 for words that name
  an extreme such as "aggressive", about 0.5 for mild ones such as "mysterious"),

and store the resulting point ``(r cos angle, r sin angle)`` rounded to 0.05 (the table gives the
angle and radius of every word, :func:`placement_table`). The composer's eight conditioning moods
(happy, energetic, tense, dark, sad, calm, romantic, epic) keep the points the chord model was
trained with, which were placed the same way.

Words, synonyms and the tagger's tags
-------------------------------------
Each :class:`Mood` has a canonical word, synonyms that resolve to it (``peaceful`` -> calm), and
the tagger tags that are evidence for it (``calm`` -> chill, mellow, quiet, soft), so a search for
any word of the vocabulary can be answered from a track's tags as well as from its
valence/arousal. :func:`resolve` accepts any word or synonym (case and spaces ignored) and raises
:class:`UnknownMoodError` listing the nearest known words otherwise.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from musicapp.errors import MusicappError
from musicapp.wording import signed


class UnknownMoodError(MusicappError):
    """A mood word that is not in the vocabulary (the message lists the nearest known words)."""

    def __init__(self, word: str, suggestions: list[str]) -> None:
        self.word = word
        self.suggestions = suggestions
        hint = f"; nearest: {', '.join(suggestions)}" if suggestions else ""
        known = ", ".join(m.word for m in VOCABULARY)
        super().__init__(f"{word!r}: unknown mood{hint} (known moods: {known})")


@dataclass(frozen=True)
class Mood:
    """One word of the vocabulary: its point on the plane and the tagger tags that show it."""

    word: str
    valence: float  # [-1, 1], unpleasant -> pleasant
    arousal: float  # [-1, 1], calm -> excited
    tags: tuple[str, ...] = ()  # tagger mood tags that are evidence for this mood
    synonyms: tuple[str, ...] = ()

    @property
    def angle_deg(self) -> float:
        """Angle on Russell's circle, degrees in [0, 360) (0 = pleasure, 90 = arousal)."""
        return math.degrees(math.atan2(self.arousal, self.valence)) % 360.0

    @property
    def radius(self) -> float:
        """Distance from the neutral origin."""
        return math.hypot(self.valence, self.arousal)


def _m(word: str, v: float, a: float, tags: tuple[str, ...] = (), syn: tuple[str, ...] = ()) -> Mood:
    return Mood(word, v, a, tags, syn)


#: The vocabulary. The fifteen tagger tags come first (their points are the valence/arousal
#: targets of the tagger), then the further moods of the composer and the library.
VOCABULARY: tuple[Mood, ...] = (
    # --- the tagger's mood tags (musicnn MSD: happy ... easy listening; MTT: fast ... ambient)
    _m("happy", 0.8, 0.5, ("happy",), ("joyful", "cheerful", "joyous")),  # 32 deg, pleasure/excitement
    _m("sad", -0.75, -0.45, ("sad",), ("sorrowful", "unhappy", "depressing")),  # 211 deg
    _m("mellow", 0.3, -0.5, ("mellow",), ("gentle", "warm")),  # 301 deg, contentment side
    _m("chill", 0.4, -0.55, ("chill",), ("chilled", "laid back", "laid-back")),  # 306 deg
    _m("beautiful", 0.7, -0.1, ("beautiful",), ("lovely", "pretty", "tender")),  # 352 deg
    _m("party", 0.7, 0.8, ("party",), ("danceable", "festive")),  # 49 deg, excitement
    _m("sexy", 0.5, 0.3, ("sexy",), ("sensual", "seductive")),  # 31 deg, moderate
    _m("catchy", 0.6, 0.5, ("catchy",), ("hooky",)),  # 40 deg
    _m("easy listening", 0.5, -0.4, ("easy listening",), ("easy", "easygoing", "lounge")),  # 321
    _m("fast", 0.2, 0.8, ("fast",), ("quick", "rapid", "driving")),  # 76 deg, arousal
    _m("slow", -0.1, -0.7, ("slow",), ("sluggish",)),  # 262 deg, sleepiness
    _m("loud", -0.2, 0.85, ("loud",), ("noisy", "powerful")),  # 103 deg, arousal/distress
    _m("quiet", 0.2, -0.85, ("quiet",), ("hushed", "still")),  # 283 deg, sleepiness
    _m("soft", 0.3, -0.6, ("soft",), ("delicate",)),  # 297 deg
    _m("ambient", 0.1, -0.6, ("ambient",), ("atmospheric",)),  # 279 deg
    # --- further moods (composer and library); tags: the tagger tags that show them
    _m("excited", 0.6, 0.85, ("party", "fast"), ("exciting", "thrilling")),  # 55 deg
    _m("energetic", 0.35, 0.9, ("fast", "loud", "party"), ("energizing", "lively", "intense")),
    _m("tense", -0.55, 0.75, ("loud",), ("suspenseful", "anxious", "nervous", "scary")),  # 126
    _m("angry", -0.7, 0.7, ("loud",), ("furious", "hostile")),  # 135 deg, distress
    _m("dark", -0.65, 0.1, ("sad",), ("gloomy", "ominous", "sinister", "menacing")),  # 171 deg
    _m("melancholic", -0.5, -0.6, ("sad", "slow"), ("melancholy", "wistful", "nostalgic")),
    _m("calm", 0.4, -0.7, ("chill", "mellow", "quiet", "soft"),
       ("peaceful", "serene", "tranquil", "soothing")),  # 300 deg, sleepiness/contentment
    _m("relaxed", 0.6, -0.55, ("chill", "easy listening", "mellow"), ("relaxing", "restful")),
    _m("dreamy", 0.3, -0.45, ("ambient", "soft"), ("ethereal", "floating")),  # 304 deg
    _m("romantic", 0.65, -0.2, ("beautiful", "sexy"), ("love", "loving", "intimate")),  # 343
    _m("epic", 0.1, 0.8, ("loud", "fast"), ("heroic", "majestic", "grand", "cinematic")),  # 83
    _m("hopeful", 0.6, 0.2, ("beautiful", "happy"), ("optimistic", "uplifting", "bright")),
    _m("mysterious", -0.3, -0.1, ("ambient",), ("eerie", "mystical", "strange")),  # 198 deg
    _m("fun", 0.8, 0.6, ("happy", "party"), ("playful", "funny", "silly")),  # 37 deg
    _m("upbeat", 0.7, 0.6, ("happy", "fast"), ("bouncy", "peppy")),  # 41 deg
    _m("aggressive", -0.5, 0.85, ("loud", "fast"), ("violent", "fierce")),  # 120 deg
    _m("heavy", -0.3, 0.7, ("loud",), ("crushing",)),  # 113 deg
    _m("triumphant", 0.7, 0.65, ("happy", "loud"), ("victorious", "victory")),  # 43 deg
    _m("sleepy", 0.0, -0.9, ("quiet", "slow"), ("drowsy", "lullaby")),  # 270 deg, sleepiness
)

_BY_WORD: dict[str, Mood] = {}
for _mood in VOCABULARY:
    for _w in (_mood.word, *_mood.synonyms):
        if _w in _BY_WORD:
            raise RuntimeError(f"mood word {_w!r} listed twice")
        _BY_WORD[_w] = _mood


def normalise(word: str) -> str:
    """Lower case, single spaces, ``_`` between words read as a space (a ``-`` is kept:
    :func:`lookup` tries it both as written and as a space, so "easy-listening" and "laid back"
    are found)."""
    return " ".join(str(word).replace("_", " ").strip().lower().split())


def words() -> list[str]:
    """The canonical mood words, in vocabulary order."""
    return [m.word for m in VOCABULARY]


def all_words() -> list[str]:
    """Every word that :func:`resolve` accepts (canonical words and synonyms), sorted."""
    return sorted(_BY_WORD)


def suggestions(word: str, n: int = 4) -> list[str]:
    """The known words nearest in spelling to ``word`` (for "did you mean")."""
    return difflib.get_close_matches(normalise(word), list(_BY_WORD), n=n, cutoff=0.5)


def lookup(word: str) -> Mood | None:
    """The :class:`Mood` of a word or synonym, or None."""
    key = normalise(word)
    for form in (key, key.replace("-", " "), key.replace(" ", "-")):
        if form in _BY_WORD:
            return _BY_WORD[form]
    return None


def resolve(word: str) -> Mood:
    """The :class:`Mood` of a word or synonym; :class:`UnknownMoodError` (with suggestions) else."""
    mood = lookup(word)
    if mood is None:
        raise UnknownMoodError(str(word), suggestions(word))
    return mood


def substitution_note(word: str) -> str | None:
    """What a command says when ``word`` is accepted but is not itself a word of the mood list
    (a synonym resolved to its mood): "'furious' is not in the mood list; using angry (listed
    as a synonym of it)". None for a word of the list (any case or spacing); raises
    :class:`UnknownMoodError` (the nearest words listed) for a word outside the vocabulary.
    ``chords --mood`` and ``library search/similar --mood`` say the same sentence."""
    mood = resolve(word)
    if normalise(word) in (mood.word, mood.word.replace(" ", "-")):
        return None
    return (f"{normalise(word)!r} is not in the mood list; using {mood.word} "
            "(listed as a synonym of it)")


def point(word: str) -> tuple[float, float]:
    """(valence, arousal) of a word or synonym; :class:`UnknownMoodError` if unknown."""
    m = resolve(word)
    return m.valence, m.arousal


def tag_point(tag: str) -> tuple[float, float]:
    """(valence, arousal) of one of the tagger's mood tags (its own vocabulary entry)."""
    m = _BY_WORD.get(normalise(tag))
    if m is None or m.tags != (m.word,) or m.word != normalise(tag):
        raise KeyError(f"{tag!r} is not a mood tag of the vocabulary")
    return m.valence, m.arousal


def nearest(valence: float, arousal: float, n: int = 3) -> list[Mood]:
    """The ``n`` moods whose points are closest to (valence, arousal)."""
    return sorted(VOCABULARY, key=lambda m: (m.valence - valence) ** 2 + (m.arousal - arousal) ** 2)[:n]


def track_strength(word: str, analysis: dict) -> float | None:
    """How strongly an analysed track (the tagger's flat result: ``moods``, ``valence``,
    ``arousal``) shows mood ``word``, on a 0-100 scale for ranking (e.g. ``library search --mood``).

    The highest percentile among the word's tagger tags that the track lists; when it lists none
    of them, closeness of the track's valence/arousal to the word's point,
    ``100 * (1 - distance / 2)`` clipped to [0, 100]. None when the track has neither (silence).
    Raises :class:`UnknownMoodError` for a word outside the vocabulary.
    """
    mood = resolve(word)
    listed = {str(m.get("tag", "")).lower(): m for m in analysis.get("moods") or []
              if isinstance(m, dict)}  # fmt: skip
    pcts = [float(listed[t]["percentile"]) for t in mood.tags
            if t in listed and listed[t].get("percentile") is not None]  # fmt: skip
    if pcts:
        return max(pcts)
    v, a = analysis.get("valence"), analysis.get("arousal")
    if v is None or a is None:
        return None
    d = math.hypot(float(v) - mood.valence, float(a) - mood.arousal)
    return float(min(100.0, max(0.0, 100.0 * (1.0 - d / 2.0))))


def placement_table() -> str:
    """Markdown table of every mood: point, angle, radius, tagger tags and synonyms."""
    rows = ["| mood | valence | arousal | angle (deg) | radius | tagger tags | synonyms |",
            "|---|---|---|---|---|---|---|"]
    for m in VOCABULARY:
        rows.append(f"| {m.word} | {signed(m.valence)} | {signed(m.arousal)} | {m.angle_deg:.0f} | "
                    f"{m.radius:.2f} | {', '.join(m.tags)} | {', '.join(m.synonyms)} |")
    return "\n".join(rows)
