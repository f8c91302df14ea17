"""musicapp.pitch: parsing, key-aware spelling, Camelot / Open Key."""

from __future__ import annotations

import pytest

from musicapp import pitch
from musicapp.errors import MusicappError


@pytest.mark.parametrize(("text", "tonic", "pc", "mode"), [
    ("C", "C", 0, "major"), ("F#m", "F#", 6, "minor"), ("Bb minor", "Bb", 10, "minor"),
    ("eb", "Eb", 3, "minor"), ("A:min", "A", 9, "minor"), ("C# major", "C#", 1, "major"),
    ("Db", "Db", 1, "major"), ("Gb:maj", "Gb", 6, "major"), ("E-", "Eb", 3, "major"),
])
def test_parse_key(text, tonic, pc, mode):
    k = pitch.parse_key(text)
    assert (k.tonic, k.pc, k.mode) == (tonic, pc, mode)


@pytest.mark.parametrize("text", ["H#", "", "X minor", "C lydianish", "C###", "12", "Cm7"])
def test_unknown_keys_are_errors_not_c(text):
    with pytest.raises(pitch.PitchError):
        pitch.parse_key(text)
    assert issubclass(pitch.PitchError, MusicappError)


def test_parse_key_from_an_analysis_dict_and_mode_override():
    assert pitch.parse_key({"tonic": "F#", "mode": "minor"}).name == "F# minor"
    assert pitch.parse_key("A", mode="minor").mode == "minor"
    with pytest.raises(pitch.PitchError):
        pitch.parse_key({"mode": "minor"})


def test_conventional_spelling_of_the_24_keys():
    assert pitch.conventional(pitch.parse_key("A# major")).name == "Bb major"
    assert pitch.key_name(1, "major") == "Db major"
    assert pitch.key_name(1, "minor") == "C# minor"
    assert pitch.key_name(8, "minor") == "G# minor"


def test_key_aware_spelling():
    db = pitch.make_key(1, "major")
    assert [pitch.spell_pc(p, db) for p in (1, 3, 5, 6, 8, 10, 0)] == \
        ["Db", "Eb", "F", "Gb", "Ab", "Bb", "C"]
    am = pitch.make_key(9, "minor")
    assert pitch.spell_pc(8, am) == "G#"  # raised leading tone
    fs = pitch.make_key(6, "major")
    assert pitch.spell_pc(5, fs) == "E#"
    assert pitch.spell_chord("C#:maj", db) == "Db:maj"
    assert pitch.spell_chord("A#:min7/b3", db) == "Bb:min7/b3"
    assert pitch.spell_chord("N", db) == "N"
    assert pitch.chord_symbol("A:min7/b7") == "Am7/G"
    assert pitch.chord_symbol("C#:hdim7", pitch.make_key(2, "major")) == "C#m7b5"
    assert pitch.chord_symbol("N") == "N.C."


def test_camelot_and_open_key():
    assert (pitch.camelot(0, "major"), pitch.camelot(9, "minor")) == ("8B", "8A")
    assert (pitch.camelot(7, "major"), pitch.camelot(5, "major")) == ("9B", "7B")
    assert (pitch.open_key(0, "major"), pitch.open_key(9, "minor")) == ("1d", "1m")
    # relative keys share the number, every number appears once per mode
    assert {pitch.camelot(p, "major")[:-1] for p in range(12)} == {str(i) for i in range(1, 13)}
    for p in range(12):
        rel = pitch.relative(pitch.make_key(p, "major"))
        assert pitch.camelot(rel.pc, rel.mode)[:-1] == pitch.camelot(p, "major")[:-1]


def test_composer_key_from_an_analysis_uses_pitch_and_never_falls_back_to_c():
    from musicapp.gui.composer_backend import track_key

    assert track_key({"key": {"tonic": "A#", "mode": "major"}}) == ("Bb", "major")
    assert track_key({"key": "F#m"}) == ("F#", "minor")
    assert track_key({"key": {"tonic": "H#", "mode": "major"}}) is None
    assert track_key({"key": None}) is None


def test_chromatic_degrees_spelled_as_musicians_write_them():
    g = pitch.make_key(7, "major")
    # major: lowered 2nd, 3rd, 6th, 7th flat; raised 4th sharp
    assert [pitch.spell_pc(p, g) for p in (8, 10, 1, 3, 5)] == ["Ab", "Bb", "C#", "Eb", "F"]
    em = pitch.make_key(4, "minor")
    # minor: Neapolitan flat; Picardy third, raised 4th, 6th, 7th sharp
    assert [pitch.spell_pc(p, em) for p in (5, 8, 10, 1, 3)] == ["F", "G#", "A#", "C#", "D#"]
    am = pitch.make_key(9, "minor")
    assert [pitch.spell_pc(p, am) for p in (10, 1, 6, 8)] == ["Bb", "C#", "F#", "G#"]
    # a degree that would need two accidentals gets the single-accidental enharmonic
    assert pitch.spell_pc(9, pitch.make_key(1, "major")) == "A"  # not Bbb
    assert pitch.spell_pc(7, pitch.make_key(8, "minor")) == "F##"  # raised 7th stays


def test_non_diatonic_chord_roots_in_the_key():
    g, em, fsm = pitch.make_key(7, "major"), pitch.make_key(4, "minor"), pitch.make_key(6, "minor")
    assert pitch.spell_chord("D#:maj7", g) == "Eb:maj7"  # bVI
    assert pitch.chord_symbol("D#:maj7", g) == "Ebmaj7"
    assert pitch.chord_symbol("A#:maj", g) == "Bb"  # bIII
    assert pitch.chord_symbol("F:7", g) == "F7"  # bVII
    assert pitch.chord_symbol("C#:hdim7", g) == "C#m7b5"  # #iv half-diminished
    assert pitch.chord_symbol("C#:maj7", g) == "C#maj7"  # #4 stays sharp
    assert pitch.chord_symbol("F:maj", em) == "F"  # Neapolitan
    assert pitch.chord_symbol("A#:maj7", em) == "Bbmaj7"  # A#maj7 would need C## and G##
    assert pitch.chord_symbol("A#:dim7", em) == "A#dim7"  # vii°7 of V
    assert pitch.chord_symbol("D#:dim", em) == "D#dim"  # vii° with the raised 7th
    assert pitch.chord_symbol("E#:maj7", fsm) == "Fmaj7"
    assert pitch.chord_symbol("E#:dim7", fsm) == "E#dim7"
    assert pitch.chord_symbol("G#:maj", pitch.make_key(4, "minor")) == "G#"  # not Ab
    assert pitch.chord_symbol("E:maj", pitch.make_key(9, "minor")) == "E"
    assert pitch.chord_symbol("C#:maj", pitch.make_key(9, "minor")) == "C#"  # Picardy third


def test_slash_chord_bass_is_spelled_as_a_degree_of_the_chord():
    """The bass was spelled on its own in the key: F#/Bb in G minor, E/Ab in C minor."""
    g_minor, c_minor = pitch.make_key(7, "minor"), pitch.make_key(0, "minor")
    assert pitch.chord_symbol("F#:maj/3", g_minor) == "F#/A#"
    assert pitch.chord_symbol("E:maj/3", c_minor) == "E/G#"
    assert pitch.chord_symbol("C:7/b7", pitch.make_key(5, "major")) == "C7/Bb"
    assert pitch.chord_symbol("Db:maj/5", pitch.make_key(8, "major")) == "Db/Ab"
    assert pitch.chord_symbol("B:hdim7/b5", pitch.make_key(0, "major")) == "Bm7b5/F"


def test_key_spelling_takes_the_signature_with_fewer_accidentals():
    """Every conventional key has at most six sharps or flats (Db major, not C# major; G#
    minor, not Ab minor); at six, F# major and Eb minor unless a neighbour picks the side."""
    for mode in pitch.MODES:
        for pc in range(12):
            k = pitch.make_key(pc, mode)
            assert abs(pitch.key_signature(k)) <= 6, k
    assert pitch.key_signature(pitch.parse_key("C# major")) == 7
    assert pitch.key_signature(pitch.parse_key("Db major")) == -5
    assert pitch.key_signature(pitch.parse_key("Ab minor")) == -7
    assert pitch.key_signature(pitch.parse_key("F minor")) == -4
    assert pitch.key_signature(pitch.parse_key("A minor")) == 0
    assert pitch.make_key(6, "major").name == "F# major"
    assert pitch.make_key(3, "minor").name == "Eb minor"
    db, b = pitch.make_key(1, "major"), pitch.make_key(11, "major")
    assert pitch.make_key(6, "major", near=db).name == "Gb major"
    assert pitch.make_key(3, "minor", near=b).name == "D# minor"
    assert pitch.make_key(1, "major", near=b).name == "Db major"  # only the tie moves


def test_chord_roots_avoid_e_sharp_b_sharp_c_flat_f_flat_unless_diatonic_or_diminished():
    csm, b_major, db = pitch.make_key(1, "minor"), pitch.make_key(11, "major"), pitch.make_key(1, "major")
    assert pitch.chord_symbol("F:min", csm) == "Fm"  # not E#m
    assert pitch.chord_symbol("F:min", b_major) == "Fm"
    assert pitch.chord_symbol("E:maj", db) == "E"  # not Fb
    assert pitch.chord_symbol("B:maj", db) == "B"  # not Cb
    assert pitch.chord_symbol("C:dim", csm) == "B#dim"  # leading-tone chord keeps its letter
    assert pitch.chord_symbol("F:dim7", pitch.make_key(6, "minor")) == "E#dim7"
    assert pitch.chord_symbol("F:dim", pitch.make_key(6, "major")) == "E#dim"  # diatonic vii°
    assert pitch.chord_symbol("B:maj", pitch.make_key(3, "minor")) == "Cb"  # diatonic VI
    # every chord of every conventional key: no E#/B#/Cb/Fb root outside those cases
    for mode in pitch.MODES:
        for pc in range(12):
            k = pitch.make_key(pc, mode)
            for r in range(12):
                for q in ("maj", "min", "7", "maj7", "min7"):
                    sym = pitch.chord_symbol(f"{pitch.NEUTRAL_NAMES[r]}:{q}", k)
                    if sym[:2] in ("E#", "B#", "Cb", "Fb"):
                        assert (k.name, sym) in {("Eb minor", "Cb"), ("Eb minor", "Cbmaj7")}, \
                            (k.name, sym)


# ---- one spelling module: no private name tables elsewhere in the package ----------------------
_NOTE_TEXT = __import__("re").compile(r"[A-G](?:#|b|♯|♭)?m?")


def _name_tables(tree) -> list[int]:
    """Line numbers of literals that look like a table of note / key names: a tuple, list or set
    of at least five note names (one with an accidental), a dict with five such keys or values,
    or the letter string ``"CDEFGAB"``."""
    import ast

    def names(nodes) -> bool:
        texts = [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        hits = [t for t in texts if _NOTE_TEXT.fullmatch(t)]
        return len(hits) >= 5 and any(len(t) > 1 and t[1] in "#b♯♭" for t in hits)

    found = []
    for node in ast.walk(tree):
        table = (isinstance(node, (ast.Tuple, ast.List, ast.Set)) and names(node.elts)) or (
            isinstance(node, ast.Dict)
            and (names([k for k in node.keys if k is not None]) or names(node.values)))
        if table or (isinstance(node, ast.Constant) and node.value == "CDEFGAB"):
            found.append(node.lineno)
    return sorted(found)


def test_the_detector_finds_a_private_table():
    import ast

    src = ('SHARPS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")\n'
           'FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}\n'
           'KEYS = frozenset({"Cb", "Gb", "Db", "Ab", "Eb", "Bbm"})\n'
           'L = "CDEFGAB"\n'
           'OK = ("A", "B", "C", "D", "E")  # no accidental: not a spelling table\n')
    assert _name_tables(ast.parse(src)) == [1, 2, 3, 4]


def test_pitch_is_the_only_module_with_note_name_tables():
    """Every note, key and chord-root name table lives in musicapp/pitch.py: a new private copy
    anywhere else in the package (analysis, GUI, library, composer, CLI ...) fails here."""
    import ast
    from pathlib import Path

    root = Path(pitch.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path == Path(pitch.__file__):
            continue
        lines = _name_tables(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{path.relative_to(root.parent)}:{n}" for n in lines]
    assert offenders == [], offenders


def test_shared_name_helpers():
    assert pitch.note_name(61) == "C#4" and pitch.note_name(60) == "C4" and pitch.note_name(21) == "A0"
    assert pitch.enharmonics("Db") == ["C#", "Db"]
    assert pitch.enharmonics("c") == ["B#", "C"] and pitch.enharmonics("E") == ["E", "Fb"]
    with pytest.raises(pitch.PitchError):
        pitch.enharmonics("H")
    # the composer's tonic menu: every conventional major and minor tonic, sharp before flat
    assert pitch.TONIC_CHOICES == ("C", "C#", "Db", "D", "Eb", "E", "F", "F#", "G", "G#", "Ab",
                                   "A", "Bb", "B")
    assert set(pitch.TONIC_CHOICES) == set(pitch.MAJOR_TONICS) | set(pitch.MINOR_TONICS)


def test_a_key_after_the_global_key_is_spelled_conventionally_but_for_the_tie():
    g_sharp_minor, db, b = (pitch.make_key(8, "minor"), pitch.make_key(1, "major"),
                            pitch.make_key(11, "major"))
    assert pitch.key_after(8, "major", g_sharp_minor).name == "Ab major"  # not G# major
    assert pitch.key_after(6, "major", db).name == "Gb major"
    assert pitch.key_after(6, "major", b).name == "F# major"
    assert pitch.key_after(3, "minor", b).name == "D# minor"
    assert pitch.key_after(1, "minor", db).name == "C# minor"
    assert pitch.key_after(4, "major", None).name == "E major"


def test_chords_diatonic_to_a_key_keep_the_key_spelling_even_with_a_double_sharp():
    g_sharp_minor = pitch.make_key(8, "minor")
    assert pitch.chord_symbol("Eb:maj", g_sharp_minor) == "D#"  # V of G# minor (was Eb)
    assert pitch.chord_symbol("Eb:7", g_sharp_minor) == "D#7"
    assert pitch.chord_symbol("G:dim7", g_sharp_minor) == "F##dim7"  # vii°7, the raised 7th
    assert pitch.chord_symbol("Ab:maj7", g_sharp_minor) == "G#maj7"
    # a chord foreign to the key still avoids the double accidental
    assert pitch.chord_symbol("F:maj7", pitch.make_key(6, "minor")) == "Fmaj7"
    assert pitch.chord_symbol("B:min", pitch.make_key(3, "minor")) == "Bm"  # not Cbm (Ebb)


def test_respell_root_for_degree_spelled_chords():
    # Ab major's Neapolitan (bII) written on B: Bbb -> A
    assert pitch.spell(pitch.respell_root(6, 9, "maj"), 9) == "A"
    # one accidental stays (Cb, bVII of Db major)
    assert pitch.spell(pitch.respell_root(0, 11, "maj"), 11) == "Cb"
    # the key's own raised 7th stays (G# minor vii°: F##)
    k = pitch.make_key(8, "minor")
    assert pitch.spell(pitch.respell_root(3, 7, "dim", k), 7) == "F##"
    assert pitch.spell(pitch.respell_root(3, 7, "dim"), 7) == "G"
