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
