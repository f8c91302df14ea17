"""Pitch and key names for the whole app: parsing, key-aware spelling, Camelot and Open Key.

One place for note/key parsing and spelling (analysis, CLI, GUI, composer):

* :func:`parse_note` ``"F#"``, ``"Bb"``, ``"Ebb"`` -> (letter index, pitch class);
* :func:`parse_key` ``"C"``, ``"F#m"``, ``"Bb minor"``, ``"eb"``, ``"A:min"``, ``{"tonic", "mode"}``
  -> :class:`KeyName`; anything else (``"H#"``, ``""``, ``"X minor"``) raises :class:`PitchError`,
  never a silent fallback to C;
* :func:`key_tonic_name` conventional tonic spelling of a key (Db major, C# minor, F# major);
* :func:`spell_pc` a pitch class spelled in a key (Db major: C# is spelled Db; A minor: G#;
  G major: Eb, the lowered 6th); :func:`spell_root` the same for a chord root, avoiding
  double accidentals in the chord (F# minor: F:maj7, not E#:maj7);
* :func:`spell_chord` a Harte label with its root spelled in a key (``C#:min7/b3`` -> ``Db:min7/b3``);
* :func:`chord_symbol` a lead-sheet symbol (``Db:min7/b3`` -> ``Dbm7/Fb`` ... spelled in the key);
* :func:`camelot` / :func:`open_key` DJ notations (C major = 8B / 1d, A minor = 8A / 1m);
* :func:`note_name` a MIDI note with its octave (``61`` -> ``"C#4"``, the tuner's and piano
  roll's names); :func:`enharmonics` the spellings of one pitch class (``Db`` -> C#, Db).

Every table of note, key and chord-root names in the app lives here (a test greps the package
for private copies). Pure Python; imports nothing heavy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from musicapp.errors import MusicappError

LETTERS = "CDEFGAB"
NATURAL_PC = (0, 2, 4, 5, 7, 9, 11)
MODES = ("major", "minor")

#: Conventional spellings of the 24 keys' tonics (index = pitch class).
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
#: Neutral names when no key is known (flats for black keys, but F#).
NEUTRAL_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Sharps only: the names of a tuner, a piano roll, a spectrogram's note axis.
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
#: Key-free names of the analysis's raw chord labels and chroma axes (C# Eb F# Ab Bb: the most
#: common spelling of each black key across the 24 keys); shown names are respelled in the key.
CHROMATIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Every conventional tonic of a major or minor key, by pitch class (C# minor and Db major both):
#: the composer's tonic menu.
TONIC_CHOICES = tuple(dict.fromkeys(
    t for pc in range(12) for t in sorted({MINOR_TONICS[pc], MAJOR_TONICS[pc]},
                                          key=lambda t: "#" not in t)))

_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
_MODE_WORDS = {"major": "major", "maj": "major", "M": "major", "ionian": "major",
               "minor": "minor", "min": "minor", "m": "minor", "aeolian": "minor"}
_NOTE_RE = re.compile(r"\s*([A-Ga-g])([#b♯♭]*|-*)\s*")
_KEY_RE = re.compile(r"\s*([A-Ga-g](?:[#b♯♭]{0,2}|-{1,2}))\s*(?::|\s)?\s*([A-Za-z]*)\s*")


class PitchError(MusicappError):
    """A note or key name that cannot be read (the message names the text and the problem)."""


@dataclass(frozen=True)
class KeyName:
    """A key: spelled tonic (``"Db"``), its pitch class and the mode ``"major"``/``"minor"``."""

    tonic: str
    pc: int
    mode: str

    @property
    def name(self) -> str:
        """``"Db major"``."""
        return f"{self.tonic} {self.mode}"

    @property
    def short(self) -> str:
        """``"Db"`` / ``"C#m"`` (also mido's key-signature form)."""
        return self.tonic + ("m" if self.mode == "minor" else "")


def accidentals(n: int) -> str:
    """``"#"`` * n for n > 0, ``"b"`` * -n for n < 0 (``""`` for 0)."""
    return "#" * n if n > 0 else "b" * (-n)


_acc = accidentals


def note_name(midi: int) -> str:
    """A MIDI note with its octave, in sharps (61 -> ``"C#4"``, 60 -> ``"C4"``)."""
    n = int(midi)
    return f"{SHARP_NAMES[n % 12]}{n // 12 - 1}"


def enharmonics(name: str) -> list[str]:
    """The spellings of a note's pitch class with at most one accidental, sorted (``"Db"`` ->
    ``["C#", "Db"]``, ``"E"`` -> ``["E", "Fb"]``).

    Raises:
        PitchError: not a note name.
    """
    _, pc = parse_note(name)
    return sorted(spell(letter, pc) for letter in range(7)
                  if abs(_accidental(letter, pc)) <= 1)


def parse_note(name: str) -> tuple[int, int]:
    """Parse ``"F#"``, ``"Bb"``, ``"Ebb"``, ``"E-"`` into (letter index 0-6, pitch class 0-11).

    Raises:
        PitchError: not a note name.
    """
    if not isinstance(name, str):
        raise PitchError(f"{name!r}: not a note name (expected e.g. C, F#, Bb)")
    m = _NOTE_RE.fullmatch(name)
    if not m:
        raise PitchError(f"{name!r}: not a note name (expected e.g. C, F#, Bb)")
    letter = LETTERS.index(m.group(1).upper())
    acc = m.group(2).replace("♯", "#").replace("♭", "b").replace("-", "b")
    if len(acc) > 2:
        raise PitchError(f"{name!r}: more than two accidentals")
    alter = acc.count("#") - acc.count("b")
    return letter, (NATURAL_PC[letter] + alter) % 12


def note_pc(name: str) -> int:
    """Pitch class 0-11 of a note name (raises :class:`PitchError`)."""
    return parse_note(name)[1]


def spell(letter: int, pc: int) -> str:
    """Spell pitch class ``pc`` on letter index ``letter`` (e.g. (3, 6) -> ``"F#"``)."""
    diff = ((pc - NATURAL_PC[letter % 7] + 6) % 12) - 6
    return LETTERS[letter % 7] + _acc(diff)


def parse_mode(text: str | None) -> str:
    """``"major"``/``"minor"`` from ``"major"``, ``"maj"``, ``"min"``, ``"m"``, ``"M"`` ...

    Raises:
        PitchError: any other word.
    """
    if text is None or text == "":
        return "major"
    word = str(text).strip()
    mode = _MODE_WORDS.get(word) if word in ("M", "m") else _MODE_WORDS.get(word.lower())
    if mode is None:
        raise PitchError(f"{text!r}: not a mode (expected major or minor)")
    return mode


def parse_key(text: str | Mapping[str, Any] | KeyName, mode: str | None = None) -> KeyName:
    """Parse a key: ``"C"``, ``"F#m"``, ``"Bb minor"``, ``"eb"`` (lower case = minor),
    ``"A:min"``, ``"C# major"``, or a ``{"tonic", "mode"}`` dict (an analysis result).

    ``mode`` overrides the mode found in the text. The tonic keeps the spelling given (``A#``
    stays ``A#``; see :func:`conventional` for the usual one).

    Raises:
        PitchError: the text is not a key (``"H#"``, ``""``, ``"C lydian-ish"``).
    """
    if isinstance(text, KeyName):
        return KeyName(text.tonic, text.pc, parse_mode(mode) if mode else text.mode)
    if isinstance(text, Mapping):
        tonic = text.get("tonic") or text.get("name")
        if not isinstance(tonic, str) or not tonic.strip():
            raise PitchError(f"{dict(text)!r}: key has no tonic")
        given = text.get("mode")
        return parse_key(tonic, mode or (str(given) if given else None))
    if not isinstance(text, str):
        raise PitchError(f"{text!r}: not a key (expected e.g. C, F#m, Bb minor)")
    m = _KEY_RE.fullmatch(text)
    if not m:
        raise PitchError(f"{text!r}: not a key (expected e.g. C, F#m, Bb minor)")
    tonic_text, word = m.group(1), m.group(2)
    letter, pc = parse_note(tonic_text)
    if word:
        found = parse_mode(word)
    else:
        found = "minor" if tonic_text[0].islower() else "major"
    acc = tonic_text[1:].replace("-", "b").replace("♯", "#").replace("♭", "b")
    return KeyName(LETTERS[letter] + acc, pc, parse_mode(mode) if mode else found)


def key_tonic_name(pc: int, mode: str) -> str:
    """Conventional tonic spelling of the key on pitch class ``pc`` (Db major, C# minor).

    The rule (:data:`MAJOR_TONICS`, :data:`MINOR_TONICS`): the spelling whose key signature
    has fewer accidentals (Db major, 5 flats, not C# major, 7 sharps; G# minor, 5 sharps, not Ab
    minor, 7 flats). At the one tie, six sharps or six flats, major keys are F# major and minor
    keys Eb minor (the spellings of most published charts); :func:`make_key` with ``near``
    spells a tied key on the side of a neighbouring key instead (Gb major beside Db major)."""
    return (MINOR_TONICS if mode == "minor" else MAJOR_TONICS)[int(pc) % 12]


#: The keys with six sharps or six flats: (pc, mode) -> (sharp spelling, flat spelling).
_TIED_TONICS = {(6, "major"): ("F#", "Gb"), (3, "minor"): ("D#", "Eb")}


def key_signature(key: KeyName) -> int:
    """Sharps (> 0) or flats (< 0) of the key's signature: Db major -5, G# minor +5, C# major +7."""
    major = key if key.mode == "major" else KeyName(
        spell(LETTERS.index(key.tonic[0]) + 2, key.pc + 3), (key.pc + 3) % 12, "major")
    letter = LETTERS.index(major.tonic[0])
    fifths = (0, 2, 4, -1, 1, 3, 5)[letter]  # C G D ... on the circle of fifths; F = -1
    return fifths + 7 * _accidental(letter, major.pc)


def make_key(pc: int, mode: str, near: KeyName | None = None) -> KeyName:
    """The key on pitch class ``pc`` with its conventional spelling (:func:`key_tonic_name`).

    ``near``: a key this one is shown beside (an alternative to the best key); a key with six
    sharps/flats then takes the side of ``near``'s signature (Gb major beside Db major, D#
    minor beside B major), so that the names on one line do not switch between sharps and flats,
    and the parallel of ``near`` (same tonic, other mode) keeps ``near``'s tonic spelling (Ab
    minor beside Ab major, where alone it is G# minor; C# major beside C# minor).
    """
    mode = parse_mode(mode)
    pc = int(pc) % 12
    if near is not None and near.pc == pc and near.mode != mode:
        # the parallel key keeps its neighbour's tonic letter: Ab minor beside Ab major (not G#
        # minor), C# major beside C# minor, so one tonic is never named two ways on one line
        return KeyName(near.tonic, pc, mode)
    tied = _TIED_TONICS.get((pc, mode))
    if tied is not None and near is not None:
        side = key_signature(near)
        if side != 0:
            return KeyName(tied[0] if side > 0 else tied[1], pc, mode)
    return KeyName(key_tonic_name(pc, mode), pc, mode)


def key_after(pc: int, mode: str, home: KeyName | None) -> KeyName:
    """A key shown after ``home`` on one timeline (a modulation from the global key): its
    conventional spelling (:func:`key_tonic_name`: Ab major after G# minor, never G# major
    with eight sharps), but at the six-sharp/six-flat tie the side of ``home`` (Gb major after
    Db major, F# major after B major)."""
    mode = parse_mode(mode)
    pc = int(pc) % 12
    if home is not None and (pc, mode) in _TIED_TONICS:
        return make_key(pc, mode, near=home)
    return make_key(pc, mode)


def conventional(key: KeyName | str | Mapping[str, Any]) -> KeyName:
    """The same key with the conventional tonic spelling (``A# major`` -> ``Bb major``)."""
    k = parse_key(key)
    return make_key(k.pc, k.mode)


def key_name(pc: int, mode: str) -> str:
    """``"Db major"`` for (1, "major")."""
    return make_key(pc, mode).name


def relative(key: KeyName) -> KeyName:
    """The relative key (C major <-> A minor)."""
    if key.mode == "major":
        return make_key((key.pc + 9) % 12, "minor")
    return make_key((key.pc + 3) % 12, "major")


def parallel(key: KeyName) -> KeyName:
    """The parallel key (C major <-> C minor)."""
    return make_key(key.pc, "minor" if key.mode == "major" else "major")


def scale_letters(key: KeyName) -> dict[int, int]:
    """Pitch class -> letter index of the seven scale degrees of ``key`` (natural minor)."""
    letter = LETTERS.index(key.tonic[0])
    steps = _MINOR_STEPS if key.mode == "minor" else _MAJOR_STEPS
    return {(key.pc + s) % 12: (letter + i) % 7 for i, s in enumerate(steps)}


def _is_flat_key(key: KeyName) -> bool:
    major_pc = key.pc if key.mode == "major" else (key.pc + 3) % 12
    return "b" in key_tonic_name(major_pc, "major") or major_pc == 5  # F major has Bb


#: Chromatic degrees (semitones above the tonic) -> (letter steps, accidental) as musicians
#: spell them: in major the lowered 2nd, 3rd, 6th and 7th are flat and the raised 4th sharp; in
#: minor the Neapolitan 2nd is flat, the Picardy 3rd, raised 4th, 6th and 7th sharp.
_CHROMATIC_DEGREES = {
    "major": {1: (1, -1), 3: (2, -1), 6: (3, +1), 8: (5, -1), 10: (6, -1)},
    "minor": {1: (1, -1), 4: (2, +1), 6: (3, +1), 9: (5, +1), 11: (6, +1)},
}


def _accidental(letter: int, pc: int) -> int:
    """Semitones ``pc`` lies above the natural note of ``letter`` (-6..5)."""
    return ((pc - NATURAL_PC[letter % 7] + 6) % 12) - 6


def _spelling(pc: int, k: KeyName) -> tuple[int, int]:
    """(letter index, accidental) of pitch class ``pc`` in key ``k`` (see :func:`spell_pc`)."""
    tonic_letter = LETTERS.index(k.tonic[0])
    letters = scale_letters(k)
    if pc in letters:
        return letters[pc], _accidental(letters[pc], pc)
    interval = (pc - k.pc) % 12
    steps, _ = _CHROMATIC_DEGREES[k.mode][interval]
    letter = (tonic_letter + steps) % 7
    alter = _accidental(letter, pc)
    if abs(alter) > 1 and not (k.mode == "minor" and interval in (9, 11)):
        # a double accidental (Bbb in Db major): the enharmonic with one accidental instead
        name = (FLAT_NAMES if _is_flat_key(k) else SHARP_NAMES)[pc]
        letter = LETTERS.index(name[0])
        alter = _accidental(letter, pc)
    return letter, alter


def spell_pc(pc: int, key: KeyName | str | None = None) -> str:
    """Spell pitch class ``pc`` in ``key``: scale notes by their degree's letter; chromatic notes
    by their degree as musicians write them (G major: Ab Bb C# Eb F, the lowered 2nd/3rd/6th/7th
    flat and the raised 4th sharp; E minor: F for the Neapolitan, G# A# C# D# for the Picardy
    third and the raised 4th, 6th and 7th), with a single accidental where the degree would need
    two (Db major: A, not Bbb; the raised 7th of G# minor stays F##). Without a key:
    :data:`NEUTRAL_NAMES`."""
    pc = int(pc) % 12
    if key is None:
        return NEUTRAL_NAMES[pc]
    k = parse_key(key) if not isinstance(key, KeyName) else key
    letter, alter = _spelling(pc, k)
    return LETTERS[letter] + _acc(alter)


#: Harte quality -> (letter steps, semitones) of the chord tones above the root.
_QUALITY_TONES: dict[str, tuple[tuple[int, int], ...]] = {
    "maj": ((2, 4), (4, 7)), "min": ((2, 3), (4, 7)), "dim": ((2, 3), (4, 6)),
    "aug": ((2, 4), (4, 8)), "7": ((2, 4), (4, 7), (6, 10)), "maj7": ((2, 4), (4, 7), (6, 11)),
    "min7": ((2, 3), (4, 7), (6, 10)), "hdim7": ((2, 3), (4, 6), (6, 10)),
    "dim7": ((2, 3), (4, 6), (6, 9)), "minmaj7": ((2, 3), (4, 7), (6, 11)),
    "maj6": ((2, 4), (4, 7), (5, 9)), "min6": ((2, 3), (4, 7), (5, 9)),
    "sus2": ((1, 2), (4, 7)), "sus4": ((3, 5), (4, 7)), "9": ((2, 4), (4, 7), (6, 10), (1, 2)),
    "maj9": ((2, 4), (4, 7), (6, 11), (1, 2)), "min9": ((2, 3), (4, 7), (6, 10), (1, 2)),
    "maj(9)": ((2, 4), (4, 7), (1, 2)), "5": ((4, 7),), "1": (),
}


def _worst_accidental(letter: int, pc: int, quality: str) -> int:
    """The largest number of accidentals any tone of the chord needs from this root spelling."""
    tones = [(letter, pc)] + [(letter + st, pc + se) for st, se in _QUALITY_TONES.get(quality, ())]
    return max(abs(_accidental(lt, p % 12)) for lt, p in tones)


#: Roots that name a white key with an accidental; kept only for diatonic or diminished chords.
_WHITE_KEY_ENHARMONICS = {"E#": "F", "B#": "C", "Cb": "B", "Fb": "E"}
_LEADING_TONE_QUALITIES = frozenset({"dim", "dim7", "hdim7"})


def _diatonic_chord(pc: int, quality: str, k: KeyName) -> bool:
    """Every tone of the chord is in the key's scale (natural minor plus the raised 6th and
    7th in minor)."""
    steps = set(_MAJOR_STEPS if k.mode == "major" else (*_MINOR_STEPS, 9, 11))
    tones = [0] + [se for _, se in _QUALITY_TONES.get(quality, ((2, 4), (4, 7)))]
    return all((pc + t - k.pc) % 12 in steps for t in tones)


def _in_key_spelling(letter: int, pc: int, quality: str, k: KeyName) -> bool:
    """Every tone of the chord, spelled up from a root on ``letter``, is spelled as the key
    spells that pitch class (:func:`spell_pc`; G# minor: D# F## A#, G# B# D# F##; not Cb Ebb Gb
    in Eb minor, whose Ebb the key writes D)."""
    tones = [(0, 0), *_QUALITY_TONES.get(quality, ((2, 4), (4, 7)))]
    return all(spell(letter + st, pc + se) == spell_pc((pc + se) % 12, k) for st, se in tones)


def spell_root(pc: int, quality: str, key: KeyName | str | None = None) -> str:
    """Spell a chord root in ``key``: as :func:`spell_pc`, except

    * a root E#, B#, Cb or Fb is written F, C, B or E unless the chord is diatonic to the key
      (E#:dim in F# major, Cb:maj in Eb minor) or a diminished leading-tone chord (E#:dim7 in
      F# minor): an F minor chord in C# minor or B major reads ``Fm``, not ``E#m``; an E major
      chord in Db major reads ``E``, not ``Fb``;
    * a spelling that would give the chord a double accidental takes the enharmonic root that
      avoids it (F# minor: ``E#:maj7`` is ``F:maj7``; E minor: ``A#:maj7`` is ``Bb:maj7``),
      except in a chord diatonic to the key, whose tones are the scale's (G# minor: the
      dominant is ``D#:maj`` with its F##, not ``Eb:maj``; the leading-tone chord ``F##:dim``)."""
    pc = int(pc) % 12
    name = spell_pc(pc, key)
    if key is None:
        return name
    k = parse_key(key) if not isinstance(key, KeyName) else key
    plain = _WHITE_KEY_ENHARMONICS.get(name)
    if (plain is not None and quality not in _LEADING_TONE_QUALITIES
            and not _diatonic_chord(pc, quality, k)
            and _worst_accidental(LETTERS.index(plain), pc, quality) <= 1):
        return plain
    if _worst_accidental(LETTERS.index(name[0]), pc, quality) <= 1 or _in_key_spelling(
            LETTERS.index(name[0]), pc, quality, k):
        return name
    for other in (FLAT_NAMES[pc], SHARP_NAMES[pc]):
        if other != name and _worst_accidental(LETTERS.index(other[0]), pc, quality) <= 1:
            return other
    return name


def respell_root(letter: int, pc: int, quality: str, key: KeyName | None = None) -> int:
    """Letter index for a chord root written on ``letter`` (a degree's letter: the composer's
    bII, V/V, vii°7/iii): ``letter`` itself unless the root would need a double accidental; then
    the enharmonic root whose chord (Harte ``quality``) needs the fewest accidentals (in Ab major
    the Neapolitan ``Bbb`` is ``A``; in B major vii°7/iii ``C##dim7`` is ``Ddim7``). A root with
    one accidental keeps its degree's letter (Cb in Db major's bVII, D# in E major's V/iii), and
    so does a chord diatonic to ``key`` (G# minor's leading-tone chord ``F##dim``, as in
    :func:`spell_root`)."""
    letter %= 7
    if abs(_accidental(letter, pc)) <= 1:
        return letter
    if key is not None and _in_key_spelling(letter, pc, quality, key):
        return letter
    options = [LETTERS.index(n[0]) for n in (FLAT_NAMES[pc % 12], SHARP_NAMES[pc % 12])]
    return min(options, key=lambda lt: _worst_accidental(lt, pc, quality))


def _split_harte(label: str) -> tuple[str, str, str]:
    """(root, quality, bass) of a Harte label ``"C#:min7/b3"``; bass may be ''."""
    root, _, rest = label.partition(":")
    quality, _, bass = rest.partition("/")
    if not rest and "/" in root:
        root, _, bass = root.partition("/")
    return root, quality or "maj", bass


def spell_chord(label: str, key: KeyName | str | None = None) -> str:
    """A Harte label with its root spelled in ``key`` (``"C#:maj"`` in Db major -> ``"Db:maj"``).

    ``"N"`` and ``"X"`` are returned unchanged. Raises :class:`PitchError` on a bad root.
    """
    if label in ("N", "X", ""):
        return label or "N"
    root, quality, bass = _split_harte(label)
    name = spell_root(note_pc(root), quality, key)
    out = f"{name}:{quality}"
    return f"{out}/{bass}" if bass else out


_SYMBOL_SUFFIX = {"maj": "", "min": "m", "7": "7", "maj7": "maj7", "min7": "m7", "dim": "dim",
                  "dim7": "dim7", "hdim7": "m7b5", "aug": "aug", "sus2": "sus2", "sus4": "sus4",
                  "maj6": "6", "min6": "m6", "9": "9", "minmaj7": "m(maj7)"}
#: Harte bass degree -> semitones above the root.
BASS_DEGREES = {"1": 0, "b2": 1, "2": 2, "b3": 3, "3": 4, "4": 5, "#4": 6, "b5": 6, "5": 7,
                "#5": 8, "b6": 8, "6": 9, "bb7": 9, "b7": 10, "7": 11}


def chord_symbol(label: str, key: KeyName | str | None = None) -> str:
    """Lead-sheet symbol of a Harte label, spelled in ``key``: ``"A:min7/b7"`` -> ``"Am7/G"``."""
    if label in ("N", "X", ""):
        return "N.C."
    root, quality, bass = _split_harte(label)
    rpc = note_pc(root)
    root_name = spell_root(rpc, quality, key)
    text = root_name + _SYMBOL_SUFFIX.get(quality, f"({quality})")
    if bass and bass in BASS_DEGREES and BASS_DEGREES[bass] != 0:
        # the bass is a degree of the chord: spelled from the root's letter (F#/A#, not F#/Bb)
        steps = int(bass.lstrip("b#")) - 1
        text += "/" + spell(LETTERS.index(root_name[0]) + steps, (rpc + BASS_DEGREES[bass]) % 12)
    return text


def camelot(pc: int, mode: str) -> str:
    """Camelot wheel code: C major ``"8B"``, A minor ``"8A"``."""
    major_pc = int(pc) % 12 if mode == "major" else (int(pc) + 3) % 12
    fifths = (major_pc * 7) % 12  # C=0, G=1, D=2 ...
    return f"{(7 + fifths) % 12 + 1}{'B' if mode == 'major' else 'A'}"


def open_key(pc: int, mode: str) -> str:
    """Open Key notation: C major ``"1d"``, A minor ``"1m"``."""
    major_pc = int(pc) % 12 if mode == "major" else (int(pc) + 3) % 12
    fifths = (major_pc * 7) % 12
    return f"{fifths + 1}{'d' if mode == 'major' else 'm'}"
