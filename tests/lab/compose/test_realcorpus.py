"""Corpus parsers on small real-format files written by the test; the external JSONL format."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest
from musicapp_lab.compose.external import load_external, parse_chord
from musicapp_lab.compose.judge import spearman
from musicapp_lab.compose.realcorpus import (
    build,
    parse_billboard,
    parse_ewld,
    parse_harte,
    parse_pop909,
)

from musicapp.compose.theory import Key
from musicapp.errors import MusicappError

SALAMI = """# title: Test Song
# artist: Nobody
# metre: 4/4
# tonic: E

0.0\tsilence
0.5\tA, intro, | E:min | E:min | C:maj | D:maj |
8.5\tB, verse, | E:min . G:maj . | C:maj | D:7(#9) | D:7(#9) | x2
24.5\t| A:min7 | B:7 | E:min | E:min |
32.5\tend
"""


def test_billboard_bars_sections_tempo_and_minor_mode(tmp_path):
    p = tmp_path / "0001" / "salami_chords.txt"
    p.parent.mkdir()
    p.write_text(SALAMI)
    (rec,) = parse_billboard(p)
    assert rec["mode"] == "minor" and rec["tonic"] == "E" and rec["meter"] == "4/4"
    assert rec["roman"][:4] == ["i", "VI", "VII", "i"]
    assert rec["harte"][:4] == ["E:min", "C:maj", "D:maj", "E:min"]
    assert rec["beats"][:5] == [8.0, 4.0, 4.0, 2.0, 2.0]  # merged repeats, dotted half bars
    assert [s[1] for s in rec["sections"]] == ["intro", "verse"]
    assert rec["bpm"] == pytest.approx(120.0, rel=0.02)  # 8 s per 4 bars of 4/4
    assert rec["licence"] == "CC0-1.0" and rec["style"] == "pop"


def test_pop909_beats_keys_and_melody(tmp_path):
    import mido

    d = tmp_path / "POP909" / "001"
    d.mkdir(parents=True)
    beats = [(i * 0.5, 1.0 if i % 4 == 0 else 0.0) for i in range(64)]  # 120 bpm, 4/4
    (d / "beat_midi.txt").write_text("\n".join(f"{t} {a} {a}" for t, a in beats))
    (d / "key_audio.txt").write_text("0.0 32.0 A:min\n")
    chords = ["A:min", "F:maj", "C:maj", "G:maj"] * 2
    (d / "chord_midi.txt").write_text("\n".join(f"{2 * i} {2 * i + 2} {c}"
                                                 for i, c in enumerate(chords)))
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack([mido.MetaMessage("track_name", name="MELODY"),
                         mido.MetaMessage("set_tempo", tempo=500000),
                         mido.Message("note_on", note=69, velocity=80, time=0),
                         mido.Message("note_off", note=69, velocity=0, time=960)])
    mid.tracks.append(tr)
    mid.save(d / "001.mid")
    (rec,) = parse_pop909(d)
    assert rec["mode"] == "minor" and rec["meter"] == "4/4" and rec["bpm"] == 120.0
    assert rec["roman"][:4] == ["i", "VI", "III", "VII"] and rec["beats"][:4] == [4.0] * 4
    assert rec["melody"][0] == [0, 8, 69]


def _mxl(path, body: str) -> None:
    xml = f"""<?xml version="1.0"?><score-partwise><part-list/><part id="P1">{body}</part>
    </score-partwise>"""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/container.xml", "<container/>")
        z.writestr("song.xml", xml)


def test_ewld_harmony_key_meter_melody(tmp_path):
    def harm(step, kind, alter=0):
        a = f"<root-alter>{alter}</root-alter>" if alter else ""
        return f"<harmony><root><root-step>{step}</root-step>{a}</root><kind>{kind}</kind>" \
               "</harmony>"

    note = "<note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration></note>"
    m1 = ("<measure><attributes><divisions>1</divisions><key><fifths>-1</fifths><mode>major"
          "</mode></key><time><beats>3</beats><beat-type>4</beat-type></time></attributes>"
          + harm("F", "major") + "<note><rest/><duration>3</duration></note></measure>")
    m2 = "<measure>" + harm("G", "minor-seventh") + \
        "<note><pitch><step>A</step><octave>4</octave></pitch><duration>3</duration></note>" \
        "</measure>"
    m3 = "<measure>" + harm("C", "dominant") + note.replace("4</duration>", "3</duration>") + \
        "</measure>"
    m4 = "<measure>" + harm("B", "major", -1) + note.replace("4</duration>", "3</duration>") + \
        "</measure>"
    p = tmp_path / "Composer" / "Song" / "Song.mxl"
    p.parent.mkdir(parents=True)
    _mxl(p, m1 + m2 + m3 + m4)
    (rec,) = parse_ewld(p)
    assert rec["tonic"] == "F" and rec["mode"] == "major" and rec["meter"] == "3/4"
    assert rec["roman"] == ["I", "ii7", "V7", "IV"] and rec["beats"] == [3.0] * 4
    assert rec["melody"][0] == [12, 12, 69]  # A4 in bar 2, in sixteenths


def test_build_writes_one_documented_file(tmp_path):
    src = tmp_path / "data" / "billboard-2.0-salami_chords" / "0001"
    src.mkdir(parents=True)
    (src / "salami_chords.txt").write_text(SALAMI)
    m21 = tmp_path / "m21.json"
    m21.write_text(json.dumps({"records": [{"source": "bach-expert", "id": "x", "tune": "t",
                                            "mode": "major", "meter_beats": 4,
                                            "tokens": ["I:maj", "IV:maj", "V:7", "I:maj"],
                                            "beats": [1, 1, 1, 1]}]}))
    out = tmp_path / "c.json.gz"
    with pytest.raises(MusicappError, match="no pop909, ewld files"):
        build(tmp_path / "data", out, m21)  # all four sources unless fewer are named
    assert not out.exists()
    res = build(tmp_path / "data", out, m21, sources=("billboard", "music21"))
    doc = json.loads(gzip.decompress(out.read_bytes()))
    assert res["by_source"] == {"billboard": 1, "music21": 1}
    assert res["sources"] == ["billboard", "music21"] and res["left_out"] == ["pop909", "ewld"]
    assert set(doc["fields"]) <= set(doc["records"][0]) and doc["licences"]["billboard"]


def test_harte_parsing():
    assert parse_harte("A:min7/b3")[1:] == (9, "m7")
    assert parse_harte("Bb:maj(9)")[1:] == (10, "add9")
    assert parse_harte("N") is None and parse_harte("C:1") is None


def test_external_format_and_errors(tmp_path):
    ok = tmp_path / "ok.jsonl"
    ok.write_text('# comment\n{"key": "E", "mode": "minor", "chords": ["i", "VI", "III", "VII"]}\n'
                  '\n{"key": "Bb", "chords": ["Bb:maj", "G:min7", "C:min7", "F:7"], '
                  '"beats": [2, 2, 2, 2], "style": "jazz"}\n')
    recs = load_external(ok)
    assert recs[0]["tokens"] == ["I:min", "bVI:maj", "bIII:maj", "bVII:maj"]
    assert recs[1]["tokens"] == ["I:maj", "VI:m7", "II:m7", "V:7"]
    assert parse_chord("C", Key("C")).token == "I:maj"
    for text, msg in (('{"key": "H#", "chords": ["I", "V"]}', "not a key"),
                      ('{"key": "C", "chords": ["I", "Q"]}', "not a chord"),
                      ('{"key": "C", "chords": ["I"]}', "at least 2"),
                      ('{"key": "C", "chords": ["I", "V"], "beats": [1]}', "beats"),
                      ("not json", "not JSON")):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(text + "\n")
        with pytest.raises(MusicappError, match=msg):
            load_external(bad)


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 2, 3], [1, 2, 2, 3]) == pytest.approx(1.0)
