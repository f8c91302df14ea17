"""MIDI / JAMS / CSV export of an analysis, read back with real readers (mido, pretty_midi, jams)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from musicapp.analysis.export import chord_notes, write_csv, write_jams, write_midi
from musicapp.errors import FileExistsRefusal


def _result(bpm: float = 100.0, bars: int = 8, pickup: float = 0.3) -> dict:
    period = 60.0 / bpm
    beats = [pickup + i * period for i in range(4 * bars)]
    downbeats = beats[::4]
    chords = [{"start": 0.0, "end": pickup, "label": "N", "symbol": "N.C."}]
    labels = ["Db:maj", "Bb:min7", "Gb:maj/3", "Ab:7"]
    for i, d in enumerate(downbeats):
        chords.append({"start": d, "end": d + 4 * period, "label": labels[i % 4],
                       "symbol": ["Db", "Bbm7", "Gb/Bb", "Ab7"][i % 4]})
    return {"beats": beats, "downbeats": downbeats, "meter": "4/4", "tempo_bpm": bpm,
            "tempo_confidence": 0.8, "chords": chords,
            "key": {"tonic": "Db", "mode": "major", "confidence": 0.9},
            "key_timeline": [{"start": 0.0, "end": chords[-1]["end"], "tonic": "Db",
                              "mode": "major", "confidence": 0.9}],
            "tempo_segments": [{"start": beats[0], "end": beats[-1], "bpm": bpm}]}


def test_chord_voicing_and_inversion_bass():
    assert [n % 12 for n in chord_notes("C:maj")] == [0, 0, 4, 7]
    notes = chord_notes("C:maj/3")
    assert notes[0] % 12 == 4 and notes[0] < min(notes[1:])
    assert {n % 12 for n in chord_notes("B:hdim7")} == {11, 2, 5, 9}
    assert chord_notes("N") == [] and chord_notes("H:maj") == []


def test_midi_tempo_map_markers_key_and_chords(tmp_path):
    import mido
    import pretty_midi

    res = _result(bpm=100.0)
    path = write_midi(res, tmp_path / "a.mid")
    mid = mido.MidiFile(str(path))
    assert mid.type == 1 and len(mid.tracks) == 2
    metas = [m for m in mid.tracks[0] if m.is_meta]
    assert any(m.type == "key_signature" and m.key == "Db" for m in metas)
    assert any(m.type == "time_signature" and (m.numerator, m.denominator) == (4, 4) for m in metas)
    markers = [m.text for m in metas if m.type == "marker"]
    assert "Bar 1" in markers and "Bbm7" in markers and "Gb/Bb" in markers
    pm = pretty_midi.PrettyMIDI(str(path))
    # every MIDI beat after the pickup lands on a detected beat
    midi_beats = pm.get_beats()
    for b in res["beats"][:-1]:
        assert np.min(np.abs(midi_beats - b)) < 0.005
    _, tempi = pm.get_tempo_changes()
    assert np.allclose(tempi, 100.0, atol=0.01)
    notes = pm.instruments[0].notes
    first = [n for n in notes if abs(n.start - res["downbeats"][0]) < 0.01]
    assert {n.pitch % 12 for n in first} == {1, 5, 8}  # Db major
    inv = sorted((n for n in notes if abs(n.start - res["downbeats"][2]) < 0.01),
                 key=lambda n: n.pitch)
    assert inv[0].pitch % 12 == 10  # Gb/Bb: Bb in the bass
    assert abs(max(n.end for n in notes) - res["chords"][-1]["end"]) < 0.01


def test_midi_follows_a_tempo_change_and_works_without_beats(tmp_path):
    import pretty_midi

    beats = list(np.arange(0, 10, 0.5)) + list(10 + np.arange(0, 10, 0.4))
    res = {"beats": beats, "downbeats": beats[::4], "meter": "4/4", "tempo_bpm": 120.0,
           "chords": [{"start": 0.0, "end": 20.0, "label": "C:maj"}], "key": None}
    pm = pretty_midi.PrettyMIDI(str(write_midi(res, tmp_path / "b.mid")))
    _, tempi = pm.get_tempo_changes()
    assert {round(t) for t in tempi} == {120, 150}
    empty = {"beats": [], "downbeats": [], "meter": None, "tempo_bpm": None, "chords": [],
             "key": None}
    pm = pretty_midi.PrettyMIDI(str(write_midi(empty, tmp_path / "c.mid")))
    assert pm.get_tempo_changes()[1][0] == pytest.approx(120.0)


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "a.mid"
    path.write_bytes(b"keep")
    for fn in (write_midi, write_csv, write_jams):
        with pytest.raises(FileExistsRefusal):
            fn(_result(), path)
    assert path.read_bytes() == b"keep"
    write_midi(_result(), path, overwrite=True)
    assert path.read_bytes()[:4] == b"MThd"


def test_csv_rows(tmp_path):
    res = _result()
    path = write_csv(res, tmp_path / "a.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    kinds = [r["type"] for r in rows]
    assert kinds.count("beat") == len(res["beats"]) and kinds.count("downbeat") == 8
    assert [r["value"] for r in rows if r["type"] == "beat"][:5] == ["1", "2", "3", "4", "1"]
    assert [r["value"] for r in rows if r["type"] == "key"] == ["Db major"]
    assert "Gb:maj/3" in [r["value"] for r in rows if r["type"] == "chord"]


def test_jams_validates_and_reads_back(tmp_path):
    jams = pytest.importorskip("jams")
    res = _result()
    path = write_jams(res, tmp_path / "a.jams", duration=25.0)
    jam = jams.load(str(path), validate=True)
    chords = jam.search(namespace="chord")[0]
    assert [o.value for o in chords.data][:3] == ["N", "Db:maj", "Bb:min7"]
    beats = jam.search(namespace="beat_position")[0]
    assert len(beats.data) == len(res["beats"]) and beats.data[0].value["position"] == 1
    assert jam.search(namespace="key_mode")[0].data[0].value == "Db:major"
    assert jam.search(namespace="tempo")[0].data[0].value == pytest.approx(100.0)


_FULL_DISK_SCRIPT = """
import json, resource, signal, sys
from musicapp.analysis.export import write_csv, write_jams, write_midi
from musicapp.errors import MusicappError
writer = {"mid": write_midi, "csv": write_csv, "jams": write_jams}[sys.argv[1]]
result = json.loads(sys.stdin.read())
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (200, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    writer(result, sys.argv[2], overwrite=True)
except MusicappError as exc:
    print("refused:", exc)
    sys.exit(3)
"""


@pytest.mark.parametrize("ext", ["mid", "csv", "jams"])
def test_failed_write_keeps_the_previous_file(tmp_path, ext):
    """A write that fails part-way (a 200-byte file size limit, like a full disk) leaves the old
    export byte for byte and no temporary file behind."""
    import json
    import subprocess
    import sys

    target = tmp_path / f"a.{ext}"
    old = b"previous export " * 4
    target.write_bytes(old)
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK_SCRIPT, ext, str(target)],
                          input=json.dumps(_result(bars=30)), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "nothing was changed" in proc.stdout
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    # without the limit the same call replaces it with a complete file
    {"mid": write_midi, "csv": write_csv, "jams": write_jams}[ext](_result(bars=30), target,
                                                                  overwrite=True)
    assert target.stat().st_size > 200 and target.read_bytes() != old
