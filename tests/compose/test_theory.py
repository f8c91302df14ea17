"""Chord tokens, spelling in all 24 keys, pitch classes, Harte labels, canonical applied chords."""

from __future__ import annotations

import pytest

from musicapp.compose.theory import (
    ALL_KEYS,
    ChordToken,
    Key,
    canonical,
    chord_name_pcs,
    parse_chord_name,
    parse_roman,
)
from musicapp.errors import MusicappError


def name(tok: str, key: str) -> str:
    return ChordToken.parse(tok).name(Key.parse(key))


@pytest.mark.parametrize(("tok", "key", "expected"), [
    ("III:maj", "D", "F#"),          # V/vi spelled with a sharp in D major
    ("IV:maj", "F", "Bb"),           # Bb, not A#
    ("V:7/V", "C", "D7"),
    ("V7/V", "Bb", "C7"),
    ("V7/ii", "Eb", "C7"),
    ("vii°7/V", "C", "F#dim7"),
    ("bVI", "C", "Ab"),
    ("bVII", "A", "G"),
    ("iv", "E", "Am"),
    ("bIII", "F#m", "A"),
    ("bVI", "Eb minor", "Cb"),       # Cb major in Eb minor (six flats)
    ("V", "G#m", "D#"),
    ("viiø7", "C", "Bm7b5"),
    ("vii°", "G#m", "F##dim"),      # leading tone of G# minor is F double-sharp
    ("ii7", "Db", "Ebm7"),
    ("Imaj7", "Gb", "Gbmaj7"),
    ("bII", "C#m", "D"),             # Neapolitan of C# minor
    ("Isus4", "B", "Bsus4"),
    ("IVadd9", "Ab", "Dbadd9"),
    ("V9", "E", "B9"),
    ("III+", "C", "Eaug"),
])
def test_known_spellings(tok, key, expected):
    assert name(tok, key) == expected


def test_note_spelling_of_chord_tones():
    assert ChordToken.parse("III:maj").note_names(Key("D")) == ["F#", "A#", "C#"]
    assert ChordToken.parse("V:7").note_names(Key("F")) == ["C", "E", "G", "Bb"]
    assert ChordToken.parse("VII:dim7").note_names(Key("C", "minor")) == ["B", "D", "F", "Ab"]
    assert ChordToken.parse("bVI:maj").note_names(Key("C")) == ["Ab", "C", "Eb"]


def test_harte_labels():
    assert ChordToken.parse("III:maj").harte(Key("D")) == "F#:maj"
    assert ChordToken.parse("viiø7").harte(Key("C")) == "B:hdim7"
    assert ChordToken.parse("ii7").harte(Key("C")) == "D:min7"
    assert ChordToken.parse("Iadd9").harte(Key("C")) == "C:maj(9)"


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: k.name)
def test_all_24_keys_scale_spelled_with_seven_letters(key):
    """Diatonic triads use each letter once and the pitch classes match the intervals."""
    degrees = [ChordToken(d, 0 if key.mode == "major" or d in (1, 2, 4, 5) else -1,
                          "maj") for d in range(1, 8)]
    roots = [t.root_name(key) for t in degrees]
    assert sorted(r[0] for r in roots) == sorted("ABCDEFG")
    steps = (0, 2, 4, 5, 7, 9, 11) if key.mode == "major" else (0, 2, 3, 5, 7, 8, 10)
    assert [t.pitch_classes(key)[0] for t in degrees] == [(key.pc + s) % 12 for s in steps]
    # no double accidentals on the scale of the conventional 24 keys
    assert all("##" not in r and "bb" not in r for r in roots)


def test_pitch_classes_and_roman():
    tok = ChordToken.parse("V7/V")
    assert tok.token == "V:7/V"
    assert tok.pitch_classes(Key("C")) == [2, 6, 9, 0]
    assert tok.roman("major") == "V7/V"
    assert ChordToken.parse("II:m7b5").roman("minor") == "iiø7"
    assert ChordToken.parse("VII:dim7/II").roman("major") == "vii°7/ii"
    assert parse_roman("bVI") == ChordToken(6, -1, "maj")
    assert parse_roman("iv") == ChordToken(4, 0, "min")


def test_diatonic_and_borrowed():
    assert ChordToken.parse("V:maj").is_diatonic("minor")     # harmonic-minor V
    assert not ChordToken.parse("bVI:maj").is_diatonic("major")
    assert ChordToken.parse("bVI:maj").is_diatonic("minor")
    assert not ChordToken.parse("IV:min").is_diatonic("major")  # borrowed iv


def test_canonical_applied_chords():
    assert canonical(ChordToken.parse("II:7"), "major").token == "V:7/V"
    assert canonical(ChordToken.parse("#IV:dim7"), "major").token == "VII:dim7/V"
    assert canonical(ChordToken.parse("III:maj"), "major").token == "V:maj/VI"
    assert canonical(ChordToken.parse("V:maj"), "minor").token == "V:maj"
    assert canonical(ChordToken.parse("V:maj/IV"), "major").token == "I:maj"  # diatonic
    assert canonical(ChordToken.parse("bVI:maj"), "major").token == "bVI:maj"


def test_keys_and_chord_names_parse():
    assert Key.parse("F#m") == Key("F#", "minor")
    assert Key.parse("eb") == Key("Eb", "minor")
    assert Key.parse("Bb major") == Key("Bb", "major")
    assert parse_chord_name("F#m7") == (6, "m7")
    assert chord_name_pcs("Bbmaj7") == frozenset({10, 2, 5, 9})
    for bad in ("H", "C##x", ""):
        with pytest.raises(MusicappError):
            Key.parse(bad)
    with pytest.raises(MusicappError):
        ChordToken.parse("XI:maj")


@pytest.mark.parametrize(("prog", "key", "expected"), [
    ("i VI III VII", "E minor", ["Em", "C", "G", "D"]),
    ("i iv v i", "A minor", ["Am", "Dm", "Em", "Am"]),
    ("i iv V i", "A minor", ["Am", "Dm", "E", "Am"]),            # harmonic-minor V
    ("i vii° i", "C minor", ["Cm", "Bdim", "Cm"]),               # leading-tone chord
    ("vii°7 viiø7 ii° III+", "C minor", ["Bdim7", "Bm7b5", "Ddim", "Ebaug"]),
    ("bVI bVII bIII", "C minor", ["Ab", "Bb", "Eb"]),            # pop-chart flats = same degree
    ("#vi° bII V7/iv V/III", "C minor", ["Adim", "Db", "C7", "Bb"]),
    ("i VI III VII", "E major", ["Em", "C#", "G#", "D#"]),       # in major: the major scale
])
def test_minor_numerals_as_musicians_write_them(prog, key, expected):
    k = Key.parse(key)
    toks = [ChordToken.parse(t, k.mode) for t in prog.split()]
    assert [t.name(k) for t in toks] == expected


def test_minor_numerals_round_trip():
    for text in ("i", "ii°", "III", "iv", "v", "VI", "VII", "V", "V7", "vii°", "vii°7",
                 "viiø7", "bII", "#vi°", "IV", "V7/iv", "V/III", "iiø7"):
        tok = parse_roman(text, "minor")
        assert tok.roman("minor") == text
        assert parse_roman(tok.roman("minor"), "minor") == tok
    assert ChordToken.parse("bVI:maj").roman("minor") == "VI"
    assert ChordToken.parse("bVI:maj").roman("major") == "bVI"


@pytest.mark.parametrize("bad", ["Q7", "V/", "VIII", "I:xyz", "", "iv7b9", "H"])
def test_malformed_numerals_are_clear_errors(bad):
    with pytest.raises(MusicappError, match=r"not a chord|unknown chord quality"):
        ChordToken.parse(bad, "minor")


@pytest.mark.parametrize("bad", ["H#", "", "C minorr", "X", "Cb#m7"])
def test_bad_keys_are_clear_errors(bad):
    with pytest.raises(MusicappError, match=r"not a key|not a mode"):
        Key.parse(bad)


def _vocabulary() -> list[str]:
    """Every chord token the composer can write: the canonical form of each degree (natural and
    altered) in each quality, plain and as an applied chord of each target."""
    toks = set()
    for mode in ("major", "minor"):
        for degree in range(1, 8):
            for alter in (-1, 0, 1):
                for q in ("maj", "min", "dim", "aug", "7", "maj7", "m7", "m7b5", "dim7", "sus2",
                          "sus4", "add9", "9"):
                    toks.add(canonical(ChordToken(degree, alter, q), mode).token)
                    for target in range(2, 7):
                        toks.add(canonical(ChordToken(degree, alter, q, target), mode).token)
    return sorted(toks)


VOCABULARY = _vocabulary()


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: k.name)
def test_every_chord_name_in_every_key_is_spelled_through_pitch(key):
    """In each of the 24 keys every chord of the vocabulary: the name's pitch classes are the
    chord's; the root has one accidental at most (Ab major's Neapolitan is A, not Bbb) unless
    the key itself spells that note so (F##, G# minor's raised 7th); the chords of the key's
    scale keep their degree's letter (seven letters, no enharmonic swap) and a chord whose
    tones are all spelled as the key spells them gets the analysis's root name."""
    from musicapp import pitch

    k = pitch.KeyName(key.tonic, key.pc, key.mode)
    for text in VOCABULARY:
        tok = ChordToken.parse(text)
        name = tok.name(key)
        assert chord_name_pcs(name) == frozenset(tok.pitch_classes(key)), (text, name)
        root = tok.root_name(key)
        assert pitch.note_pc(root) == tok.pitch_classes(key)[0]
        if "##" in root or "bb" in root:
            assert root == pitch.spell_pc(tok.pitch_classes(key)[0], k), (text, name)
        if tok.of_degree is None and tok.is_diatonic(key.mode) and tok.alter == (
                -1 if key.mode == "minor" and tok.degree in (3, 6, 7) and tok.quality not in (
                    "dim", "dim7", "m7b5") else 0):
            # a chord of the key's scale keeps its degree's letter (seven letters)
            letter = "CDEFGAB".index(key.tonic[0]) + tok.degree - 1
            assert root[0] == "CDEFGAB"[letter % 7], (text, name)
        if root not in ("E#", "B#", "Cb", "Fb") and all(
                n == pitch.spell_pc(pitch.note_pc(n), k) for n in tok.note_names(key)):
            # a chord spelled wholly as the key spells its notes: the analysis's chord names
            # (pitch.spell_root) give it the same root (but for E#/B#/Cb/Fb roots, which the
            # analysis, not knowing the chord's function, writes F/C/B/E outside the scale)
            assert pitch.spell_root(pitch.note_pc(root), tok.harte(key).split(":")[1], k) == root


@pytest.mark.parametrize(("tok", "key", "expected"), [
    ("bII:7", "Ab", "A7"),             # Neapolitan of Ab: Bbb7 before
    ("VII:dim7/III", "B", "Ddim7"),    # vii°7/iii of B major: C##dim7 before
    ("#IV:maj", "C#m", "G"),           # F## before
    ("bVII:maj", "Db", "Cb"),          # one flat: the degree's letter stays
    ("V:maj/III", "E", "D#"),          # V/iii keeps D# (its F## is an inner tone)
    ("vii°7", "G#m", "F##dim7"),       # the key's own raised 7th
])
def test_double_accidental_roots_are_respelled(tok, key, expected):
    assert name(tok, key) == expected


def test_theory_keeps_no_spelling_tables_of_its_own():
    from musicapp import pitch
    from musicapp.compose import theory

    assert theory.spell is pitch.spell and theory.parse_note is pitch.parse_note
    assert theory.MAJOR_TONICS is pitch.MAJOR_TONICS and theory.MINOR_TONICS is pitch.MINOR_TONICS
    assert [theory.conventional_key(Key(t, m)).name for t, m in
            (("A#", "major"), ("Ab", "minor"), ("Gb", "major"))] == \
        ["Bb major", "G# minor", "F# major"]
    assert [Key(t, m).mido_key() for t, m in (("Db", "minor"), ("E#", "major"), ("Cb", "major"))] \
        == ["C#m", "F", "Cb"]


@pytest.mark.parametrize(("text", "mode", "token", "name"), [
    ("i9", "minor", "I:m9", "Bbm9"), ("iiø7", "minor", "II:m7b5", "Cm7b5"),
    ("iiø", "minor", "II:m7b5", "Cm7b5"), ("V7b9", "minor", "V:7b9", "F7(b9)"),
    ("V7(b9)", "minor", "V:7b9", "F7(b9)"), ("VImaj9", "minor", "bVI:maj9", "Gbmaj9"),
    ("I9", "major", "I:9", "Bb9"), ("Imaj9", "major", "I:maj9", "Bbmaj9"),
])
def test_jazz_numerals_the_app_writes_are_parsed(text, mode, token, name):
    """The numerals the jazz style shows (i9, iiø7, V7b9) are read back as those chords."""
    from musicapp.compose.theory import ChordToken, Key

    tok = ChordToken.parse(text, mode)
    assert tok.token == token
    assert tok.name(Key("Bb", mode)) == name
    assert tok.roman(mode) == text.replace("(b9)", "b9").replace("iiø", "iiø7").replace(
        "iiø77", "iiø7")
    assert ChordToken.parse(tok.token) == tok


@pytest.mark.parametrize(("name", "pcs"), [("Bbm9", {10, 1, 5, 8, 0}),
                                           ("Gbmaj9", {6, 10, 1, 5, 8}),
                                           ("F7(b9)", {5, 9, 0, 3, 6}), ("F7b9", {5, 9, 0, 3, 6})])
def test_jazz_chord_symbols_are_parsed(name, pcs):
    from musicapp.compose.theory import chord_name_pcs

    assert chord_name_pcs(name) == frozenset(pcs)
