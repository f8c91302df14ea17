"""Harmony theory core: keys, key-relative chord tokens, spelling in all 24 keys, pitch classes.

A chord token is written relative to the tonic, with degrees measured against the *major* scale of
the tonic (as in Harte's degree syntax), so the same token means the same chord in either mode:

* ``"I:maj"``, ``"II:min"``, ``"V:7"``, ``"VII:dim"`` — degree, then quality;
* ``"bIII:maj"``, ``"bVI:maj"``, ``"bVII:maj"`` — altered degrees (in C minor these are Eb, Ab,
  Bb; in C major they are borrowed chords);
* ``"V:7/V"``, ``"VII:dim7/II"`` — applied (secondary) chords: the chord's own degree and quality
  in the major key of the target degree.

Qualities: maj, min, dim, aug, 7, maj7, m7, m7b5, dim7, sus2, sus4, add9, 9, and the jazz
colours m9, maj9, 7b9 (the symbols the jazz style shows: i9, Imaj9, V7b9 / ``F7(b9)``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from musicapp import pitch
from musicapp.errors import MusicappError
from musicapp.pitch import LETTERS, MAJOR_TONICS, MINOR_TONICS, NATURAL_PC, parse_note, spell
from musicapp.pitch import accidentals as _acc

__all__ = ["ALL_KEYS", "LETTERS", "MAJOR_TONICS", "MINOR_TONICS", "NATURAL_PC", "QUALITIES",
           "ChordToken", "Key", "canonical", "chord_name_pcs", "conventional_key", "from_root",
           "parse_chord_name", "parse_note", "parse_roman", "quality_from_pcs", "spell"]

MAJOR_STEPS = NATURAL_PC  # semitones of the major scale degrees 1..7 above the tonic
ROMANS = ("I", "II", "III", "IV", "V", "VI", "VII")

#: quality -> ((semitones above root, letter steps above root), ...)
QUALITIES: dict[str, tuple[tuple[int, int], ...]] = {
    "maj": ((0, 0), (4, 2), (7, 4)),
    "min": ((0, 0), (3, 2), (7, 4)),
    "dim": ((0, 0), (3, 2), (6, 4)),
    "aug": ((0, 0), (4, 2), (8, 4)),
    "7": ((0, 0), (4, 2), (7, 4), (10, 6)),
    "maj7": ((0, 0), (4, 2), (7, 4), (11, 6)),
    "m7": ((0, 0), (3, 2), (7, 4), (10, 6)),
    "m7b5": ((0, 0), (3, 2), (6, 4), (10, 6)),
    "dim7": ((0, 0), (3, 2), (6, 4), (9, 6)),
    "sus2": ((0, 0), (2, 1), (7, 4)),
    "sus4": ((0, 0), (5, 3), (7, 4)),
    "add9": ((0, 0), (4, 2), (7, 4), (14, 8)),
    "9": ((0, 0), (4, 2), (7, 4), (10, 6), (14, 8)),
    "m9": ((0, 0), (3, 2), (7, 4), (10, 6), (14, 8)),
    "maj9": ((0, 0), (4, 2), (7, 4), (11, 6), (14, 8)),
    "7b9": ((0, 0), (4, 2), (7, 4), (10, 6), (13, 8)),
}
#: qualities with a major third and perfect fifth ("major-quality" chords for valence statistics)
MAJOR_QUALITIES = frozenset({"maj", "7", "maj7", "add9", "9", "maj9", "7b9"})
MINOR_QUALITIES = frozenset({"min", "m7", "m9"})
DARK_QUALITIES = frozenset({"min", "m7", "m9", "dim", "m7b5", "dim7"})

_SUFFIX = {"maj": "", "min": "m", "dim": "dim", "aug": "aug", "7": "7", "maj7": "maj7",
           "m7": "m7", "m7b5": "m7b5", "dim7": "dim7", "sus2": "sus2", "sus4": "sus4",
           "add9": "add9", "9": "9", "m9": "m9", "maj9": "maj9", "7b9": "7(b9)"}
_HARTE = {"maj": "maj", "min": "min", "dim": "dim", "aug": "aug", "7": "7", "maj7": "maj7",
          "m7": "min7", "m7b5": "hdim7", "dim7": "dim7", "sus2": "sus2", "sus4": "sus4",
          "add9": "maj(9)", "9": "9", "m9": "min9", "maj9": "maj9", "7b9": "7(b9)"}
_ROMAN_SUFFIX = {"maj": "", "min": "", "dim": "°", "aug": "+", "7": "7", "maj7": "maj7",
                 "m7": "7", "m7b5": "ø7", "dim7": "°7", "sus2": "sus2", "sus4": "sus4",
                 "add9": "add9", "9": "9", "m9": "9", "maj9": "maj9", "7b9": "7b9"}
_LOWER = frozenset({"min", "dim", "m7", "m7b5", "dim7", "m9"})

SCALES = {
    "major": frozenset({0, 2, 4, 5, 7, 9, 11}),
    # natural minor plus the raised leading tone (harmonic minor's V and vii°)
    "minor": frozenset({0, 2, 3, 5, 7, 8, 10, 11}),
}


@dataclass(frozen=True)
class Key:
    """A key: tonic spelling and mode (``"major"`` or ``"minor"``)."""

    tonic: str
    mode: str = "major"

    def __post_init__(self) -> None:
        if self.mode not in SCALES:
            raise MusicappError(f"{self.mode!r}: mode must be 'major' or 'minor'")
        parse_note(self.tonic)

    @property
    def letter(self) -> int:
        return parse_note(self.tonic)[0]

    @property
    def pc(self) -> int:
        return parse_note(self.tonic)[1]

    @property
    def name(self) -> str:
        return f"{self.tonic} {self.mode}"

    def scale_pcs(self) -> frozenset[int]:
        """Absolute pitch classes of the scale (minor includes the raised leading tone)."""
        return frozenset((self.pc + s) % 12 for s in SCALES[self.mode])

    def has_signature(self) -> bool:
        """Whether this spelling of the key has a key signature (-7..7 accidentals): E# major
        and Fb minor have none (their scales need double accidentals)."""
        return abs(pitch.key_signature(pitch.KeyName(self.tonic, self.pc, self.mode))) <= 7

    def mido_key(self) -> str:
        """The key name as mido's ``key_signature`` meta message expects (``"Bb"``, ``"F#m"``);
        a tonic with no key signature of its own (Db minor, E# major) is written enharmonically
        (C#m, F)."""
        suffix = "m" if self.mode == "minor" else ""
        if self.has_signature():
            return self.tonic + suffix
        return pitch.key_tonic_name(self.pc, self.mode) + suffix

    @staticmethod
    def parse(text: str, mode: str | None = None) -> Key:
        """Parse ``"C"``, ``"F#m"``, ``"Bb minor"``, ``"eb"`` (lower case = minor), ``"A:min"``
        with :func:`musicapp.pitch.parse_key` (the app's one key parser); ``"H#"`` and the like
        raise :class:`~musicapp.errors.MusicappError`."""
        k = pitch.parse_key(text, mode)
        return Key(k.tonic, k.mode)


def conventional_key(key: Key) -> Key:
    """The same key with the conventional tonic spelling (``A# major`` -> ``Bb major``;
    :func:`musicapp.pitch.key_tonic_name`)."""
    return Key(pitch.key_tonic_name(key.pc, key.mode), key.mode)


ALL_KEYS = tuple(Key(t, "major") for t in MAJOR_TONICS) + tuple(Key(t, "minor")
                                                                  for t in MINOR_TONICS)

_TOKEN_RE = re.compile(r"([b#]?)(VII|VI|V|IV|III|II|I):([a-z0-9]+)(?:/([b#]?)(VII|VI|V|IV|III|II|I))?")


@dataclass(frozen=True)
class ChordToken:
    """A chord relative to the key: degree (1-7), alteration (-1/0/+1), quality, optional target."""

    degree: int
    alter: int
    quality: str
    of_degree: int | None = None
    of_alter: int = 0

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise MusicappError(f"{self.quality!r}: unknown chord quality")
        if not 1 <= self.degree <= 7:
            raise MusicappError(f"degree {self.degree} out of range 1..7")

    # ---- text forms -------------------------------------------------------------------------
    @property
    def token(self) -> str:
        """The canonical token text, e.g. ``"bVI:maj"`` or ``"V:7/V"``."""
        s = f"{_acc(self.alter)}{ROMANS[self.degree - 1]}:{self.quality}"
        if self.of_degree is not None:
            s += f"/{_acc(self.of_alter)}{ROMANS[self.of_degree - 1]}"
        return s

    def __str__(self) -> str:
        return self.token

    @staticmethod
    def parse(text: str, mode: str = "major") -> ChordToken:
        """Parse a token (``"bVI:maj"``) or a Roman numeral (``"V7/V"``, ``"iv"``, ``"vii°7"``).

        Roman numerals are read as musicians write them in ``mode`` (see :func:`parse_roman`:
        in minor ``VI`` is the natural-minor sixth); tokens are mode-independent.
        """
        if not isinstance(text, str):
            raise MusicappError(f"{text!r}: not a chord (expected a Roman numeral or a token)")
        return _parse_cached(text, mode)

    @staticmethod
    def _parse(text: str, mode: str) -> ChordToken:
        m = _TOKEN_RE.fullmatch(text.strip())
        if m:
            deg = ROMANS.index(m.group(2)) + 1
            alt = {"": 0, "b": -1, "#": 1}[m.group(1)]
            of = ROMANS.index(m.group(5)) + 1 if m.group(5) else None
            of_alt = {"": 0, "b": -1, "#": 1, None: 0}[m.group(4)]
            if m.group(3) not in QUALITIES:
                raise MusicappError(f"{text!r}: unknown chord quality {m.group(3)!r} (known: "
                                    f"{', '.join(QUALITIES)})")
            return ChordToken(deg, alt, m.group(3), of, of_alt)
        return parse_roman(text, mode)

    def roman(self, mode: str = "major") -> str:
        """Conventional Roman numeral as musicians write it in ``mode``.

        Major: ``"V7/V"``, ``"bVI"``, ``"iv"``, ``"viiø7"``. Minor: degrees are read against the
        natural minor scale, so Ab in C minor is ``"VI"``, Eb ``"III"``, Bb ``"VII"``; the
        harmonic-minor leading-tone chords are ``"V"`` and ``"vii°"``; other raised sixths and
        sevenths carry a sharp (``"#vi°"``).
        """
        num = ROMANS[self.degree - 1]
        if self.quality in _LOWER:
            num = num.lower()
        s = _acc(_written_alter(self.degree, self.alter, self.quality, mode)) + num + \
            _ROMAN_SUFFIX[self.quality]
        if self.of_degree is not None:
            target_minor = (self.of_degree, self.of_alter) in _MINOR_TARGETS[mode]
            t = ROMANS[self.of_degree - 1]
            s += "/" + _acc(_written_alter(self.of_degree, self.of_alter, "maj", mode)) + \
                (t.lower() if target_minor else t)
        return s

    # ---- pitch ------------------------------------------------------------------------------
    def root(self, key: Key) -> tuple[int, int]:
        """(letter index, pitch class) of the root in ``key``."""
        letter, pc = key.letter, key.pc
        if self.of_degree is not None:
            letter += self.of_degree - 1
            pc += MAJOR_STEPS[self.of_degree - 1] + self.of_alter
        letter += self.degree - 1
        pc += MAJOR_STEPS[self.degree - 1] + self.alter
        return letter % 7, pc % 12

    def spelled_root(self, key: Key) -> tuple[int, int]:
        """(letter index, pitch class) of the root as written: the degree's letter
        (:meth:`root`) unless a chord foreign to the key would need a double accidental, then
        the enharmonic root :func:`musicapp.pitch.respell_root` picks (Ab major ``bII`` is A,
        not Bbb; G# minor's vii° stays F##dim)."""
        letter, pc = self.root(key)
        return pitch.respell_root(letter, pc, _HARTE[self.quality],
                                  pitch.KeyName(key.tonic, key.pc, key.mode)), pc

    def root_name(self, key: Key) -> str:
        """The root spelled in ``key`` (:meth:`spelled_root`), e.g. ``"F#"``, ``"Ab"``."""
        return spell(*self.spelled_root(key))

    def note_names(self, key: Key) -> list[str]:
        """Spelled chord tones, root first (e.g. D major ``III:maj`` -> F#, A#, C#)."""
        letter, pc = self.spelled_root(key)
        return [spell(letter + steps, pc + semis) for semis, steps in QUALITIES[self.quality]]

    def pitch_classes(self, key: Key) -> list[int]:
        """Absolute pitch classes, root first."""
        _, pc = self.root(key)
        return [(pc + semis) % 12 for semis, _ in QUALITIES[self.quality]]

    def relative_pcs(self) -> frozenset[int]:
        """Pitch classes relative to the tonic."""
        return frozenset(self.pitch_classes(Key("C")))

    def name(self, key: Key) -> str:
        """Absolute chord symbol, e.g. ``"F#"``, ``"Bbmaj7"``, ``"Bm7b5"``."""
        return self.root_name(key) + _SUFFIX[self.quality]

    def harte(self, key: Key) -> str:
        """Harte-style label, e.g. ``"F#:maj"``, ``"B:hdim7"``."""
        return f"{self.root_name(key)}:{_HARTE[self.quality]}"

    def is_diatonic(self, mode: str) -> bool:
        """True when every chord tone lies in the mode's scale (minor: natural + leading tone)."""
        return self.relative_pcs() <= SCALES[mode]

    @property
    def is_major_quality(self) -> bool:
        return self.quality in MAJOR_QUALITIES


@functools.lru_cache(maxsize=8192)
def _parse_cached(text: str, mode: str) -> ChordToken:
    """Tokens are immutable: parse each text once."""
    return ChordToken._parse(text, mode)


_MINOR_TARGETS = {"major": {(2, 0), (3, 0), (6, 0)}, "minor": {(4, 0), (5, 0)}}
_ROMAN_RE = re.compile(r"([b#]?)(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
                       r"(°7|o7|ø7|ø|m7b5|°|o|\+|maj7|M7|maj9|M9|7\(b9\)|7b9|7|9|sus2|sus4|add9|)"
                       r"(?:/([b#]?)([IViv]+))?")


#: degrees whose natural-minor form lies a semitone below the major scale's (3, 6, 7)
_MINOR_LOWERED = frozenset({3, 6, 7})
_DIM_QUALITIES = frozenset({"dim", "dim7", "m7b5"})


def _is_leading_tone_chord(degree: int, quality: str) -> bool:
    return degree == 7 and quality in _DIM_QUALITIES


def _minor_alter(degree: int, written: str, quality: str) -> int:
    """Major-scale-relative alteration of a numeral written in minor.

    Without an accidental the natural minor scale is meant (III, VI, VII are a semitone below the
    major scale's), except the harmonic-minor leading-tone chords vii°, vii°7, viiø7. A flat on
    III/VI/VII names the same natural-minor degree (``bVI`` = ``VI``, as pop charts write it); a
    sharp on them restores the major-scale degree (``#vi°``); elsewhere accidentals are read
    against the major scale (``bII`` is the Neapolitan).
    """
    if degree in _MINOR_LOWERED:
        if written == "#":
            return 0
        if written == "b":
            return -1
        return 0 if _is_leading_tone_chord(degree, quality) else -1
    return {"": 0, "b": -1, "#": 1}[written]


def _written_alter(degree: int, alter: int, quality: str, mode: str) -> int:
    """The accidental a musician writes before a numeral (inverse of :func:`_minor_alter`)."""
    if mode != "minor" or degree not in _MINOR_LOWERED:
        return alter
    if alter == -1:
        return 0
    if alter == 0 and not _is_leading_tone_chord(degree, quality):
        return 1
    return alter


def parse_roman(text: str, mode: str = "major") -> ChordToken:
    """Parse a Roman numeral such as ``"V7/V"``, ``"bVI"``, ``"iv"``, ``"viiø7"``, ``"Iadd9"``.

    In ``mode="minor"`` numerals are read as musicians write them in a minor key (natural minor:
    i ii° III iv v VI VII; harmonic minor: V and vii°), so ``"i VI III VII"`` in E minor is
    Em C G D. See :func:`_minor_alter` for accidentals.
    """
    if mode not in SCALES:
        raise MusicappError(f"{mode!r}: mode must be 'major' or 'minor'")
    m = _ROMAN_RE.fullmatch(text.strip())
    if not m:
        raise MusicappError(f"{text!r}: not a chord token or Roman numeral (expected e.g. I, "
                            "iv, V7, bVI, vii°7, V7/V, or a token like V:7)")
    num, fig = m.group(2), m.group(3)
    lower = num.islower()
    deg = ROMANS.index(num.upper()) + 1
    alt = {"": 0, "b": -1, "#": 1}[m.group(1)]
    if fig in ("°", "o"):
        q = "dim"
    elif fig in ("°7", "o7"):
        q = "dim7"
    elif fig in ("ø7", "ø", "m7b5"):
        q = "m7b5"
    elif fig == "+":
        q = "aug"
    elif fig in ("maj7", "M7"):
        q = "maj7"
    elif fig in ("maj9", "M9"):
        q = "maj9"
    elif fig in ("7b9", "7(b9)"):
        if lower:  # a dominant's b9 on a minor numeral (iv7b9) is no chord the app knows
            raise MusicappError(f"{text!r}: not a chord the app knows (a flat ninth belongs "
                                f"to a dominant seventh, written in capitals: {num.upper()}7b9)")
        q = "7b9"
    elif fig == "7":
        q = "m7" if lower else "7"
    elif fig == "9":
        q = "m9" if lower else "9"
    elif fig in ("sus2", "sus4", "add9"):
        q = fig
    else:
        q = "min" if lower else "maj"
    if mode == "minor":
        alt = _minor_alter(deg, m.group(1), q)
    of = of_alt = None
    if m.group(5):
        if m.group(5).upper() not in ROMANS:
            raise MusicappError(f"{text!r}: bad target degree {m.group(5)!r}")
        of = ROMANS.index(m.group(5).upper()) + 1
        of_alt = {"": 0, "b": -1, "#": 1}[m.group(4)]
        if mode == "minor":
            of_alt = _minor_alter(of, m.group(4), "maj")
    return ChordToken(deg, alt, q, of, of_alt or 0)


def quality_from_pcs(rel: set[int] | frozenset[int]) -> str | None:
    """Best quality for a set of pitch classes relative to the root (root must be 0)."""
    rel = frozenset(p % 12 for p in rel)
    for q, tones in QUALITIES.items():
        if frozenset(s % 12 for s, _ in tones) == rel:
            return q
    # incomplete chords: the smallest template that contains all given tones
    best: tuple[int, str] | None = None
    for q, tones in QUALITIES.items():
        tset = frozenset(s % 12 for s, _ in tones)
        if rel <= tset and (best is None or len(tset) < best[0]):
            best = (len(tset), q)
    return best[1] if best else None


def from_root(degree_letter_steps: int, semis: int, quality: str) -> ChordToken:
    """Token for a chord whose root is ``degree_letter_steps`` letters and ``semis`` semitones
    above the tonic; the alteration is clipped to one flat/sharp by respelling."""
    deg = degree_letter_steps % 7 + 1
    alter = ((semis - MAJOR_STEPS[deg - 1] + 6) % 12) - 6
    if abs(alter) > 1:  # e.g. a doubly-altered root: respell enharmonically
        for d in range(1, 8):
            a = ((semis - MAJOR_STEPS[d - 1] + 6) % 12) - 6
            if abs(a) <= 1 and (abs(a) < abs(alter)):
                deg, alter = d, a
                if a == 0:
                    break
    return ChordToken(deg, alter, quality)


_APPLIED_TARGETS = {"major": ((2, 0), (3, 0), (4, 0), (5, 0), (6, 0)),
                    "minor": ((3, -1), (4, 0), (5, 0), (6, -1))}


def canonical(tok: ChordToken, mode: str) -> ChordToken:
    """Rewrite chromatic dominant/leading-tone chords as applied chords (``II:7`` -> ``V:7/V``)
    and applied chords that are diatonic or do not resolve to a diatonic degree back to plain
    degrees, so that every source uses one vocabulary."""
    if tok.of_degree is not None:
        target = (tok.of_degree, tok.of_alter)
        plain = _plain(tok)
        if target not in _APPLIED_TARGETS[mode] or tok.quality not in ("maj", "7", "9", "7b9",
                                                                          "dim", "dim7", "m7b5"):
            return plain
        if plain.is_diatonic(mode):
            return plain
        return tok
    if tok.is_diatonic(mode):
        return tok
    semis = (MAJOR_STEPS[tok.degree - 1] + tok.alter) % 12
    for tdeg, talt in _APPLIED_TARGETS[mode]:
        tsemis = (MAJOR_STEPS[tdeg - 1] + talt) % 12
        if tok.quality in ("maj", "7", "9", "7b9") and semis == (tsemis + 7) % 12:
            return ChordToken(5, 0, tok.quality, tdeg, talt)
        if tok.quality in ("dim", "dim7", "m7b5") and semis == (tsemis + 11) % 12:
            return ChordToken(7, 0, tok.quality, tdeg, talt)
    if tok.quality == "7" and semis == 0 and mode == "major":
        return ChordToken(5, 0, "7", 4, 0)
    return tok


def _plain(tok: ChordToken) -> ChordToken:
    letter, pc = tok.root(Key("C"))
    return from_root(letter, pc, tok.quality)


_NAME_RE = re.compile(r"([A-G][#b]*)(m7b5|maj7|maj9|dim7|add9|sus2|sus4|7\(b9\)|7b9|dim|aug|m7|m9|m|"
                      r"7|9|)")
_SUFFIX_TO_Q = {v: k for k, v in _SUFFIX.items()} | {"7b9": "7b9"}


def parse_chord_name(name: str) -> tuple[int, str]:
    """Parse an absolute chord symbol (``"F#m7"``) into (root pitch class, quality)."""
    m = _NAME_RE.fullmatch(name.strip())
    if not m:
        raise MusicappError(f"{name!r}: not a chord symbol")
    return parse_note(m.group(1))[1], _SUFFIX_TO_Q[m.group(2)]


def chord_name_pcs(name: str) -> frozenset[int]:
    """Pitch classes of an absolute chord symbol."""
    root, q = parse_chord_name(name)
    return frozenset((root + s) % 12 for s, _ in QUALITIES[q])


def tonic_mode(chords: list[str]) -> str | None:
    """The mode a typed progression's own tonic chord names: ``"minor"`` for a lowercase tonic
    (i, i7, i9, ``I:min``), ``"major"`` for I, Imaj7, I7 ...; the first tonic chord (degree 1,
    unaltered, not applied) decides; ``None`` when the progression has no tonic chord or its
    tonic is neither (sus, dim, aug)."""
    for text in chords:
        tok = ChordToken.parse(text, "major")
        if tok.degree != 1 or tok.alter != 0 or tok.of_degree is not None:
            continue
        if tok.quality in MINOR_QUALITIES:
            return "minor"
        if tok.quality in MAJOR_QUALITIES:
            return "major"
    return None
