"""OpenEWLD lead sheets as realistic evaluation pieces: parsing, labels, beat grid, render, split."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from musicapp_lab.analysis.evalset import openewld as oe
from musicapp_lab.analysis.evalset.evaluate import Tally, _score_key

from tests.analysis.conftest import needs_soundfont

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.0"><part-list><score-part id="P1"><part-name>Lead</part-name>
</score-part></part-list><part id="P1">"""
PICKUP = """<measure number="0"><attributes><divisions>2</divisions><key><fifths>-3</fifths>
<mode>{mode}</mode></key><time><beats>4</beats><beat-type>4</beat-type></time></attributes>
<note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration></note></measure>"""
BODY = """<measure number="{n}">
<harmony><root><root-step>C</root-step></root><kind>minor-seventh</kind></harmony>
<note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration></note>
<harmony><root><root-step>A</root-step><root-alter>-1</root-alter></root><kind>major</kind>
<bass><bass-step>C</bass-step></bass></harmony>
<note><pitch><step>E</step><alter>-1</alter><octave>5</octave></pitch><duration>4</duration>
<tie type="start"/></note></measure>
<measure number="{n1}">
<harmony><root><root-step>D</root-step></root><kind>half-diminished</kind></harmony>
<note><pitch><step>E</step><alter>-1</alter><octave>5</octave></pitch><duration>2</duration>
<tie type="stop"/></note>
<note><pitch><step>D</step><octave>5</octave></pitch><duration>2</duration></note>
<harmony><root><root-step>G</root-step></root><kind>dominant</kind><degree><degree-value>9
</degree-value><degree-alter>-1</degree-alter><degree-type>add</degree-type></degree></harmony>
<note><rest/><duration>4</duration></note></measure>"""
END = """<measure number="{n}">
<harmony><root><root-step>C</root-step></root><kind>minor</kind></harmony>
<note><pitch><step>C</step><octave>5</octave></pitch><duration>8</duration></note></measure>
</part></score-partwise>"""


def _xml(bodies: int = 1, mode: str = "minor") -> str:
    parts = [HEAD, PICKUP.format(mode=mode)]
    for i in range(bodies):
        parts.append(BODY.format(n=2 * i + 1, n1=2 * i + 2))
    parts.append(END.format(n=2 * bodies + 1))
    return "".join(parts)


def _mxl(path: Path, xml: str) -> Path:
    """A compressed MusicXML file as Wikifonia writes it (container names the score)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles>'
                   '<rootfile full-path="song.xml"/></rootfiles></container>')
        z.writestr("song.xml", xml)
    return path


def test_parse_notes_ties_chords_key_and_pickup(tmp_path):
    sheet = oe.parse_sheet(_mxl(tmp_path / "s.mxl", _xml()), "Song")
    assert sheet.time_signature == (4, 4) and sheet.pickup == 1.0
    assert sheet.measures == [(0.0, 1.0), (1.0, 4.0), (5.0, 4.0), (9.0, 4.0)]
    # the tied Eb5 is one note of 3 quarters; the rest advances time
    assert sheet.notes == [(0.0, 1.0, 67), (1.0, 2.0, 72), (3.0, 3.0, 75), (6.0, 1.0, 74),
                           (9.0, 4.0, 72)]
    assert [(c.start, c.end, c.label) for c in sheet.chords] == [
        (1.0, 3.0, "C:min7"), (3.0, 5.0, "Ab:maj/3"), (5.0, 7.0, "D:hdim7"),
        (7.0, 9.0, "G:7(b9)"), (9.0, 13.0, "C:min")]
    assert sheet.chords[1].bass == 0 and set(sheet.chords[1].pcs) == {8, 0, 3}
    assert set(sheet.chords[3].pcs) == {7, 11, 2, 5, 8}
    assert sheet.key == (0, "minor")  # three flats, notated minor: C minor
    beats, downs = oe.beat_grid(sheet)
    assert beats == [float(b) for b in range(13)] and downs == [1.0, 5.0, 9.0]


def test_harte_labels_parse_in_mir_eval(tmp_path):
    import mir_eval

    sheet = oe.parse_sheet(_mxl(tmp_path / "s.mxl", _xml()))
    for c in sheet.chords:
        root, bitmap, bass = mir_eval.chord.encode(c.label)
        assert root == c.pcs[0] and (root + bass) % 12 == c.bass
    root, bitmap, bass = mir_eval.chord.encode("D:hdim7")
    assert list(np.flatnonzero(bitmap)) == [0, 3, 6, 10]


def test_default_major_mode_gives_no_key_truth(tmp_path):
    sheet = oe.parse_sheet(_mxl(tmp_path / "s.mxl", _xml(mode="major")))
    assert sheet.mode == "major" and sheet.key is None
    piece = oe.render_sheet(oe.parse_sheet(_mxl(tmp_path / "l.mxl", _xml(10, "major"))),
                            np.random.default_rng(1), [], 40.0)
    truth = piece.truth()
    assert truth["key"] is None and truth["key_segments"] == []
    assert truth["key_signature"] == {"fifths": -3, "mode": "major"}  # kept for reference
    # the mode-free diagnostic: E-flat major and C minor both have three flats
    assert oe.signature_match(truth, 3, "major") == oe.signature_match(truth, 0, "minor") == 1.0
    assert oe.signature_match(truth, 0, "major") == oe.signature_match(truth, 3, "minor") == 0.0
    assert oe.signature_match({"key_signature": {"fifths": None}}, 0, "major") is None
    tally = Tally()
    _score_key(truth, (0, "major"), 0.9, tally)  # not scored: no key truth
    assert tally.values["key_mirex"] == [] and tally.calib == []


def test_render_truth_follows_the_notation_and_tempo(tmp_path):
    sheet = oe.parse_sheet(_mxl(tmp_path / "l.mxl", _xml(10)), "Long")
    piece = oe.render_sheet(sheet, np.random.default_rng(3), [], 40.0)
    spb = 60.0 / piece.tempo
    assert oe.TEMPO_RANGE[0] <= piece.tempo <= oe.TEMPO_RANGE[1]
    assert piece.duration == pytest.approx(min(40.0, 85 * spb))
    assert piece.meter == "4/4" and piece.key == (0, "minor")
    assert np.allclose(np.diff(piece.beats), spb) and piece.beats[0] == 0.0
    assert piece.downbeats[0] == pytest.approx(spb)  # after the one-beat pickup
    assert np.allclose(np.diff(piece.downbeats), 4 * spb)
    assert piece.chords[0] == (0.0, pytest.approx(spb), "N")
    assert piece.chords[1][2] == "C:min7" and piece.chords[-1][1] <= piece.duration + 1e-9
    # the arranger's bass holds the notated C under Ab/C; the comp plays the chord's tones
    a, b = piece.chords[2][0], piece.chords[2][1]
    bass = [n for n in piece.notes if n.channel == 2 and a - 1e-6 <= n.start < b - 1e-6]
    assert bass and all(n.key % 12 == 0 for n in bass)
    a, b = piece.chords[1][0], piece.chords[1][1]
    comp = {n.key % 12 for n in piece.notes if n.channel == 1 and a - 1e-6 <= n.start < b - 1e-6}
    assert comp and comp <= {0, 3, 7, 10}
    assert all(n.start < piece.duration for n in piece.notes)


def test_short_sheet_is_skipped(tmp_path):
    sheet = oe.parse_sheet(_mxl(tmp_path / "s.mxl", _xml()))
    with pytest.raises(oe.SheetError, match="only"):
        oe.render_sheet(sheet, np.random.default_rng(0), [], 40.0)


def _dataset(root: Path, names: list[str]) -> Path:
    for name in names:
        _mxl(root / "dataset" / "Composer" / name / f"{name}.mxl", _xml(10))
    return root


def test_split_is_stable_disjoint_and_by_song(tmp_path):
    names = [f"Song_{i}" for i in range(12)]
    root = _dataset(tmp_path, names)
    dev = oe.split_songs(root, "dev")
    ev = oe.split_songs(root, "eval")
    assert dev and ev and not set(dev) & set(ev) and sorted(dev + ev) == sorted(names)
    assert all(oe.song_pool(s) == "dev" for s in dev)
    assert dev == oe.split_songs(root, "dev") and ev == oe.split_songs(root, "eval")
    share = np.mean([oe.song_pool(f"title {i}") == "dev" for i in range(2000)])
    assert 0.25 < share < 0.35
    a = [p.truth() for p in oe.openewld_pieces(root, "dev")]
    b = [p.truth() for p in oe.openewld_pieces(root, "dev")]
    assert a == b and len({t["name"] for t in a}) == len(dev)


def test_missing_copy_and_unknown_split(tmp_path):
    from musicapp_lab.analysis.evalset.dataset import build_realistic

    with pytest.raises(FileNotFoundError, match="OpenEWLD"):
        list(oe.openewld_pieces(tmp_path, "dev"))
    with pytest.raises(FileNotFoundError, match="no OpenEWLD part"):
        build_realistic("eval2", tmp_path, openewld=tmp_path)
    bad = tmp_path / "bad.mxl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(oe.SheetError, match="not a readable"):
        oe.parse_sheet(bad)


@needs_soundfont
def test_build_adds_openewld_beside_pop909_and_renders(tmp_path):
    from musicapp_lab.analysis.evalset.dataset import build_realistic, load_split

    from tests.lab.analysis.test_evalset import _fake_pop909

    _fake_pop909(tmp_path / "pop")
    names = [n for n in (f"Tune_{i}" for i in range(40)) if oe.song_pool(n) == "dev"][:1]
    root = _dataset(tmp_path / "ewld", names)
    cache = tmp_path / "cache"
    build_realistic("dev", cache, pop909=tmp_path / "pop")
    build_realistic("dev", cache, openewld=root)  # keeps the POP909 piece in the index
    items = load_split("dev-real", cache)
    assert sorted(it.truth["source"] for it in items) == ["openewld", "pop909"]
    it = next(i for i in items if i.truth["source"] == "openewld")
    y, sr = it.load()
    assert it.truth["duration"] <= y.size / sr <= it.truth["duration"] + 2.5
    assert json.loads((cache / "dev-real" / "index.json").read_text())["version"] == 1


def test_cli_names_a_missing_copy_before_rendering(tmp_path, capsys):
    from musicapp.cli import main

    rc = main(["evaluate", "analysis", "--build", "--split", "dev", "--cache-dir",
               str(tmp_path / "cache"), "--openewld", str(tmp_path / "nowhere")])
    assert rc == 2
    assert "no OpenEWLD lead sheets" in capsys.readouterr().err
    assert not (tmp_path / "cache" / "dev").exists()  # nothing rendered
    root = _dataset(tmp_path / "ewld", ["Song_1"])
    rc = main(["evaluate", "analysis", "--build", "--split", "eval2", "--cache-dir",
               str(tmp_path / "cache"), "--openewld", str(root)])
    assert rc == 2 and "no OpenEWLD part" in capsys.readouterr().err
