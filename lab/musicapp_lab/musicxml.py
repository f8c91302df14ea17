"""The lab's one MusicXML walker (OpenEWLD lead sheets), used by the chord-corpus builder
(:mod:`musicapp_lab.compose.realcorpus`) and the realistic evaluation set
(:mod:`musicapp_lab.analysis.evalset.openewld`).

:func:`read_mxl` opens a compressed MusicXML file (the rootfile named in
``META-INF/container.xml``, else the first ``.xml`` outside ``META-INF``). :func:`walk` goes
through the measures of one ``<part>`` in written order (repeats, voltas and jumps are not
unfolded) and keeps the time: ``<divisions>`` (changes take effect from the ``<attributes>``
element on), the cursor advanced by notes and rests, ``<backup>`` and ``<forward>``. It yields
an :class:`Event` for every other element of a measure (``attributes``, ``harmony``, ``note``,
``sound``, ``direction``...) with the cursor time in quarter notes, and a :class:`MeasureEnd`
after each measure. What an element means (pitch, chord symbol, tie, key) is the caller's;
:func:`pitch_midi` and :func:`step_pc` spell pitches for both.

Timing rules: grace and cue notes take no time and are not yielded; a ``<chord/>`` note is
yielded (``chord=True``) but does not advance the cursor; the next measure starts at the
furthest time the previous one reached (a trailing ``<backup>`` does not shorten it).

Only the standard library is used.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: pitch class of each note step
STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class MusicXMLError(ValueError):
    """A file that is no readable MusicXML, or a bad value in it (the message says which)."""


@dataclass(frozen=True)
class Event:
    """One element of a measure, met at ``time`` quarter notes from the start of the part."""

    tag: str
    el: ET.Element
    time: float
    measure: int
    divisions: float  # divisions per quarter note in force for this element
    duration: float = 0.0  # a note's or rest's duration in quarter notes
    chord: bool = False  # a <chord/> note (sounds with the previous one; takes no time)


@dataclass(frozen=True)
class MeasureEnd:
    """The end of measure ``index``: it started at ``start`` and lasted ``length`` quarters."""

    index: int
    start: float
    length: float

    @property
    def end(self) -> float:
        """Where the next measure starts."""
        return self.start + self.length


def read_mxl(path: str | Path) -> ET.Element:
    """The score element of a compressed MusicXML file (see the module docstring).

    Raises:
        MusicXMLError: no archive, no MusicXML file in it, or XML that does not parse.
    """
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            target = None
            if "META-INF/container.xml" in names:
                try:
                    cont = ET.fromstring(z.read("META-INF/container.xml"))
                except ET.ParseError:  # Wikifonia writes unescaped "&" in file names there
                    cont = None
                rf = None if cont is None else cont.find(".//{*}rootfile")
                if rf is not None:
                    target = rf.get("full-path")
            if target is None or target not in names:
                xmls = [n for n in names if n.endswith(".xml") and not n.startswith("META-INF")]
                if not xmls:
                    raise MusicXMLError(f"{path}: no MusicXML file in the archive")
                target = xmls[0]
            return ET.parse(io.BytesIO(z.read(target))).getroot()
    except (zipfile.BadZipFile, ET.ParseError, KeyError, OSError) as exc:
        raise MusicXMLError(f"{path}: not a readable .mxl file ({exc})") from exc


def _quarters(el: ET.Element, divisions: float) -> float:
    return float(el.findtext("duration") or 0) / divisions


def walk(part: ET.Element) -> Iterator[Event | MeasureEnd]:
    """Events of ``part``'s measures in written order, each measure closed by a
    :class:`MeasureEnd` (see the module docstring for the timing rules)."""
    divisions = 1.0
    pos = 0.0
    for index, meas in enumerate(part.findall("measure")):
        start = cursor = furthest = pos
        for el in meas:
            tag = el.tag
            if tag == "attributes":
                d = el.findtext("divisions")
                if d:
                    divisions = float(d)
                yield Event(tag, el, cursor, index, divisions)
            elif tag == "note":
                if el.find("grace") is not None or el.find("cue") is not None:
                    continue
                dur = _quarters(el, divisions)
                chord = el.find("chord") is not None
                yield Event(tag, el, cursor, index, divisions, dur, chord)
                if not chord:
                    cursor += dur
            elif tag == "backup":
                cursor -= _quarters(el, divisions)
            elif tag == "forward":
                cursor += _quarters(el, divisions)
            else:
                yield Event(tag, el, cursor, index, divisions)
            furthest = max(furthest, cursor)
        yield MeasureEnd(index, start, furthest - start)
        pos = furthest


def step_pc(step: str | None, alter: str | None = None) -> int:
    """Pitch class of a step (``C``..``B``) and an alter (semitones, rounded).

    Raises:
        MusicXMLError: ``step`` is not one of C D E F G A B.
    """
    if step not in STEP_PC:
        raise MusicXMLError(f"bad pitch step {step!r}")
    return (STEP_PC[step] + int(round(float(alter or 0)))) % 12


def pitch_midi(pitch: ET.Element) -> int:
    """MIDI key of a ``<pitch>`` element (``Cb4`` is B3: the alter is not wrapped).

    Raises:
        MusicXMLError: a bad ``<step>``.
    """
    step = pitch.findtext("step") or ""
    if step not in STEP_PC:
        raise MusicXMLError(f"bad pitch step {step!r}")
    return 12 * (int(pitch.findtext("octave") or 4) + 1) + STEP_PC[step] + int(
        round(float(pitch.findtext("alter") or 0)))
