"""The lab's one MusicXML walker and the two parsers built on it (chord corpus, OpenEWLD
evaluation pieces): their output on a lead sheet written here is exactly what each parser
gave before they shared the walker (chord symbols with kind/root/alter/bass/degree, ties, a
grace note, a chord note, a divisions change, backup/forward, a repeat sign played through)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from musicapp_lab import musicxml
from musicapp_lab.analysis.evalset.openewld import SheetError, parse_sheet
from musicapp_lab.compose.realcorpus import parse_ewld

XML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.0"><part-list><score-part id="P1"><part-name>Lead</part-name>
</score-part></part-list><part id="P1">
<measure number="1"><attributes><divisions>1</divisions><key><fifths>-1</fifths><mode>minor</mode>
</key><time><beats>4</beats><beat-type>4</beat-type></time></attributes>
<direction><sound tempo="96"/></direction>
<harmony><root><root-step>D</root-step></root><kind>minor</kind></harmony>
<note><pitch><step>D</step><octave>4</octave></pitch><duration>1</duration></note>
<note><rest/><duration>1</duration></note>
<note><pitch><step>F</step><octave>4</octave></pitch><duration>2</duration><tie type="start"/></note>
</measure>
<measure number="2">
<harmony><root><root-step>G</root-step></root><kind>minor-seventh</kind></harmony>
<note><pitch><step>F</step><octave>4</octave></pitch><duration>1</duration><tie type="stop"/></note>
<note><grace/><pitch><step>B</step><octave>4</octave></pitch></note>
<note><pitch><step>A</step><octave>4</octave></pitch><duration>1</duration></note>
<note><chord/><pitch><step>C</step><octave>5</octave></pitch><duration>1</duration></note>
<harmony><root><root-step>C</root-step></root><kind>dominant</kind><offset>1</offset></harmony>
<note><pitch><step>B</step><alter>-1</alter><octave>4</octave></pitch><duration>2</duration></note>
</measure>
<measure number="3"><attributes><divisions>2</divisions></attributes>
<harmony><root><root-step>A</root-step></root><kind>dominant</kind>
<bass><bass-step>C</bass-step><bass-alter>1</bass-alter></bass></harmony>
<note><pitch><step>A</step><octave>4</octave></pitch><duration>4</duration></note>
<backup><duration>4</duration></backup><forward><duration>4</duration></forward>
<note><pitch><step>E</step><octave>5</octave></pitch><duration>2</duration></note>
<note><rest/><duration>2</duration></note>
</measure>
<measure number="4">
<harmony><root><root-step>B</root-step><root-alter>-1</root-alter></root><kind>major-seventh</kind>
<degree><degree-value>9</degree-value><degree-alter>0</degree-alter><degree-type>add</degree-type></degree></harmony>
<note><pitch><step>D</step><octave>5</octave></pitch><duration>8</duration></note>
<barline location="right"><repeat direction="backward"/></barline>
</measure>
<measure number="5">
<harmony><root><root-step>D</root-step></root><kind>minor</kind></harmony>
<note><pitch><step>D</step><octave>4</octave></pitch><duration>8</duration></note>
</measure>
</part></score-partwise>"""


def _mxl(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles>'
                   '<rootfile full-path="song.xml"/></rootfiles></container>')
        z.writestr("song.xml", XML)
    return path


@pytest.fixture
def sheet(tmp_path) -> Path:
    return _mxl(tmp_path / "Composer" / "Some_Song" / "Some_Song.mxl")


def test_walker_keeps_time_through_divisions_backup_and_chord_notes(sheet):
    part = musicxml.read_mxl(sheet).find("part")
    events = list(musicxml.walk(part))
    ends = [e for e in events if isinstance(e, musicxml.MeasureEnd)]
    assert [(m.start, m.length) for m in ends] == [(0.0, 4.0), (4.0, 4.0), (8.0, 4.0),
                                                    (12.0, 4.0), (16.0, 4.0)]
    notes = [(e.time, e.duration, e.chord) for e in events
             if isinstance(e, musicxml.Event) and e.tag == "note"]
    assert notes[3:6] == [(4.0, 1.0, False), (5.0, 1.0, False), (6.0, 1.0, True)]  # no grace
    assert notes[7:9] == [(8.0, 2.0, False), (10.0, 1.0, False)]  # 2 divisions a quarter
    harmony = [(e.time, e.divisions) for e in events
               if isinstance(e, musicxml.Event) and e.tag == "harmony"]
    assert harmony == [(0.0, 1.0), (4.0, 1.0), (6.0, 1.0), (8.0, 2.0), (12.0, 2.0), (16.0, 2.0)]
    assert musicxml.pitch_midi(part.find("measure/note/pitch")) == 62


def test_chord_corpus_record_is_unchanged(sheet):
    (rec,) = parse_ewld(sheet)
    assert (rec["tonic"], rec["mode"], rec["meter"], rec["bpm"]) == ("D", "minor", "4/4", 96.0)
    assert rec["tokens"] == ["I:min", "IV:m7", "bVII:7", "V:7", "bVI:maj7", "I:min"]
    # the corpus places a chord symbol at the cursor (its <offset> is not read)
    assert rec["beats"] == [4.0, 2.0, 2.0, 4.0, 4.0, 4.0]
    assert rec["melody"] == [[0, 4, 62], [8, 12, 65], [20, 4, 69], [24, 8, 70], [32, 8, 69],
                             [40, 4, 76], [48, 16, 74], [64, 16, 62]]


def test_evaluation_sheet_is_unchanged(sheet):
    s = parse_sheet(sheet)
    assert s.notes == [(0.0, 1.0, 62), (2.0, 3.0, 65), (5.0, 1.0, 69), (6.0, 2.0, 70),
                       (8.0, 2.0, 69), (10.0, 1.0, 76), (12.0, 4.0, 74), (16.0, 4.0, 62)]
    assert s.measures == [(0.0, 4.0), (4.0, 4.0), (8.0, 4.0), (12.0, 4.0), (16.0, 4.0)]
    assert [(c.start, c.end, c.label, c.pcs, c.bass) for c in s.chords] == [
        (0.0, 4.0, "D:min", (2, 5, 9), 2),
        (4.0, 7.0, "G:min7", (7, 10, 2, 5), 7),
        (7.0, 8.0, "C:7", (0, 4, 7, 10), 0),  # its <offset> of one quarter
        (8.0, 12.0, "A:7/3", (9, 1, 4, 7), 1),
        (12.0, 16.0, "Bb:maj7(9)", (10, 2, 5, 9, 0), 10),
        (16.0, 20.0, "D:min", (2, 5, 9), 2)]
    assert (s.time_signature, s.fifths, s.mode, s.length) == ((4, 4), -1, "minor", 20.0)
    assert s.warnings == ["chord note in the melody dropped"]


def test_unreadable_files_are_named(tmp_path):
    bad = tmp_path / "bad.mxl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(musicxml.MusicXMLError, match=r"not a readable \.mxl"):
        musicxml.read_mxl(bad)
    with pytest.raises(SheetError, match=r"not a readable \.mxl"):
        parse_sheet(bad)
    assert parse_ewld(bad) == []
