"""Jazz harmony: the diatonic seventh chords of a progression, and the voicing colours of jazz.

The chord model learns jazz from lead sheets (OpenEWLD) of which few are in minor, so a
jazz-style loop in a minor key came out as plain triads (Am F Dm E7); in major too most of its
chords were triads. A jazz player reads a lead sheet's triad as its seventh chord, and so does
the composer in the jazz style:

* every plain triad becomes the seventh chord the key's scale gives it (:func:`seventh_of`):
  in minor i -> i7 (m7), ii° -> iiø7 (m7b5), III -> IIImaj7, iv -> iv7, V -> V7, VI -> VImaj7,
  VII -> VII7, the leading-tone vii° -> vii°7, and the minor ii-V-i's own qualities: the Dorian
  ii and ii7 -> iiø7, the natural-minor v and v7 -> V7; in major I -> Imaj7, ii/iii/vi -> m7, IV -> IVmaj7,
  V -> V7, vii° -> viiø7. A chord borrowed from the parallel minor takes that scale's seventh
  (bVII -> bVII7, the "backdoor" dominant; iv -> iv7; bVI -> bVImaj7); a chord in neither scale
  (II, III and VI major: secondary dominants) becomes a dominant seventh (m7, dim7 for minor
  and diminished ones); an applied V or vii° (V/V, vii°/V) becomes V7/V, vii°7/V;
* the voicing adds the colour tones a jazz pianist adds (:func:`extensions`): the 9th on a
  minor tonic (i m9: root, b3, b7, 9 - the fifth is left out), the b9 on the dominant in minor
  (V7(b9)), the 9th on the dominant and on the major tonic in major (V9, Imaj9). The chord
  symbol names what plays (:func:`coloured`): Bbm9 and F7(b9), i9 and V7b9, in the text, the
  JSON, the composer's chord cards and the MIDI file's markers alike (a musician reading
  "Bbm7" while Bbm9 sounds was misled).

These readings and colours are for the chords the generator chooses. A chord the user typed
(``--progression``, ``--lock``) plays and is named exactly as typed (i7 is m7, V7 is V7; see
:attr:`musicapp.compose.generate.Progression.typed`): a typed loop is "written as given".
"""

from __future__ import annotations

from dataclasses import replace

from musicapp.compose.theory import ChordToken

#: the style these rules belong to (see :mod:`musicapp.compose.conditioning`)
STYLE = "jazz"
_NATURAL = {"major": frozenset({0, 2, 4, 5, 7, 9, 11}),
            "minor": frozenset({0, 2, 3, 5, 7, 8, 10})}
#: triad quality -> (seventh quality, semitones of its seventh above the root), in preference
_SEVENTHS = {"maj": (("maj7", 11), ("7", 10)), "min": (("m7", 10),),
             "dim": (("m7b5", 10), ("dim7", 9))}
#: minor-key chords jazz reads as the minor ii-V-i: the Dorian ii (ii, ii7) as iiø7, the
#: natural-minor v (v, v7) as the dominant V7
_MINOR_II_V = {"II:min": "m7b5", "II:m7": "m7b5", "V:min": "7", "V:m7": "7"}
#: the quality of a triad in neither scale (a chromatic chord)
_CHROMATIC = {"maj": "7", "min": "m7", "dim": "dim7"}


def _root_pc(tok: ChordToken) -> int:
    from musicapp.compose.theory import Key

    return tok.root(Key("C"))[1]


def seventh_of(tok: ChordToken, mode: str) -> ChordToken:
    """The jazz reading of ``tok`` in ``mode``: a plain triad as its seventh chord, and in
    minor ii/ii7 as iiø7 and v/v7 as V7 (see the module docstring); any other chord (sevenths,
    sus, add9, aug) unchanged."""
    if mode == "minor" and tok.token in _MINOR_II_V:
        return replace(tok, quality=_MINOR_II_V[tok.token])
    if tok.quality not in _SEVENTHS:
        return tok
    if tok.of_degree is not None:  # applied chords: V/x -> V7/x, vii°/x -> vii°7/x
        if tok.degree == 5 and tok.quality == "maj":
            return replace(tok, quality="7")
        if tok.degree == 7 and tok.quality == "dim":
            return replace(tok, quality="dim7")
        return tok
    root = _root_pc(tok)
    triad = tok.relative_pcs()
    if mode == "minor":  # natural minor; V and vii° take the raised leading tone (11)
        fits = [(triad <= _NATURAL["minor"] | {11}, _NATURAL["minor"])]
    else:  # the major scale, then the parallel minor's (borrowed chords)
        fits = [(triad <= _NATURAL["major"], _NATURAL["major"]),
                (triad <= _NATURAL["minor"], _NATURAL["minor"])]
    for fit, scale in fits:
        if not fit:
            continue
        for quality, seventh in _SEVENTHS[tok.quality]:
            if (root + seventh) % 12 in scale:
                return replace(tok, quality=quality)
        return tok
    return replace(tok, quality=_CHROMATIC[tok.quality])


def extensions(tok: ChordToken, mode: str) -> tuple[int, ...]:
    """Colour tones (semitones above the root) a jazz voicing adds to ``tok`` in ``mode``: the
    9th on the minor tonic i7, the b9 on V7 in minor, the 9th on V7 and Imaj7 in major."""
    if tok.of_degree is not None or tok.alter != 0:
        return ()
    if mode == "minor":
        if tok.degree == 1 and tok.quality == "m7":
            return (14,)
        if tok.degree == 5 and tok.quality == "7":
            return (13,)
        return ()
    if (tok.degree, tok.quality) in ((5, "7"), (1, "maj7")):
        return (14,)
    return ()


#: (seventh quality, colour tone) -> the quality of the chord that sounds
_COLOURED = {("m7", 14): "m9", ("7", 13): "7b9", ("7", 14): "9", ("maj7", 14): "maj9"}


def coloured(tok: ChordToken, mode: str) -> ChordToken:
    """The chord a jazz voicing of ``tok`` sounds (its :func:`extensions` added): i7 -> i9
    (m9), V7 -> V7b9 in minor and V9 in major, Imaj7 -> Imaj9; other chords unchanged. Its
    name, Roman numeral and Harte label are what the jazz style shows."""
    ext = extensions(tok, mode)
    if len(ext) != 1 or (tok.quality, ext[0]) not in _COLOURED:
        return tok
    return replace(tok, quality=_COLOURED[(tok.quality, ext[0])])


def uncoloured(tok: ChordToken, mode: str) -> ChordToken:
    """The seventh chord whose jazz voicing ``tok`` is (the inverse of :func:`coloured`):
    i9 -> i7, V7b9 -> V7 in minor, Imaj9 -> Imaj7 in major; any other chord unchanged. A jazz
    loop typed as the app shows it (``i9 iiø7 V7b9``) is then the model's own chords."""
    for (seventh, _), quality in _COLOURED.items():
        if tok.quality == quality:
            plain = replace(tok, quality=seventh)
            if coloured(plain, mode) == tok:
                return plain
    return tok


def colour_name(name: str, tok: ChordToken, mode: str) -> str:
    """A chord symbol with the colour of :func:`extensions`: ``Am7`` -> ``Am9``, ``E7`` ->
    ``E7(b9)``, ``G7`` -> ``G9``, ``Cmaj7`` -> ``Cmaj9`` (the symbol of :func:`coloured`)."""
    ext = extensions(tok, mode)
    if not ext:
        return name
    if ext == (13,):
        return f"{name}(b9)"
    return name[:-1] + "9"  # m7 -> m9, 7 -> 9, maj7 -> maj9
