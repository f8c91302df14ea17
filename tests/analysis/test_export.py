"""MIDI / JAMS / CSV export of an analysis, read back with real readers (mido, pretty_midi, jams)."""

from __future__ import annotations

import csv

import mido
import numpy as np
import pytest

from musicapp.analysis.export import chord_notes, write_csv, write_jams, write_midi
from musicapp.errors import FileExistsRefusal
from tests.analysis.conftest import needs_soundfont, render, steady_piece


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
    times, tempi = pm.get_tempo_changes()
    # a 0.3 s lead-in is an eighth at the song's 100 BPM: one tempo from the start
    assert times[0] == 0 and np.allclose(tempi, 100.0, atol=0.01)
    assert _time_signatures(path) == [(0, 1, 8), (240, 4, 4)]
    assert pm.get_downbeats()[1] == pytest.approx(res["downbeats"][0], abs=0.002)
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
    # the title is the file's name, not the folder it sits in on this machine
    named = write_jams({**res, "path": "/home/me/music/Town Theme.ogg"}, tmp_path / "b.jams")
    assert jams.load(str(named)).file_metadata.title == "Town Theme"


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


def _time_signatures(path) -> list[tuple[int, int, int]]:
    import mido

    out, now = [], 0
    for msg in mido.MidiFile(str(path)).tracks[0]:
        now += msg.time
        if msg.type == "time_signature":
            out.append((now, msg.numerator, msg.denominator))
    return out


def test_midi_first_beat_near_zero_is_bar_1_beat_1(tmp_path):
    """The reviewer's file: first beat (a downbeat) at 46.5 ms, 0.72 s beats. One 4/4 at tick 0,
    no 46 ms sliver of a beat: the first MIDI beat is bar 1 beat 1, the next one the second beat."""
    import pretty_midi

    beats = [0.0465 + 0.72 * i for i in range(32)]
    res = {"beats": beats, "downbeats": beats[::4], "meter": "4/4", "tempo_bpm": 60 / 0.72,
           "chords": [{"start": 0.0465, "end": 23.0, "label": "G:maj", "symbol": "G"}],
           "key": {"tonic": "G", "mode": "major"}}
    path = write_midi(res, tmp_path / "r.mid")
    assert _time_signatures(path) == [(0, 4, 4)]
    pm = pretty_midi.PrettyMIDI(str(path))
    midi_beats = pm.get_beats()
    assert midi_beats[0] == 0.0
    assert np.allclose(midi_beats[1:20], beats[1:20], atol=0.002)
    assert np.allclose(np.diff(midi_beats[:20]), 0.72, atol=0.05)
    assert np.allclose(pm.get_downbeats()[1:5], beats[4:20:4], atol=0.002)
    # every "Bar k" marker sits on its bar line, the first one included (it sat 20 ticks late)
    mid = mido.MidiFile(str(path))
    ticks, markers = 0, []
    for msg in mid.tracks[0]:
        ticks += msg.time
        if msg.type == "marker" and msg.text.startswith("Bar "):
            markers.append((int(msg.text.split()[1]), ticks))
    bar = 4 * mid.ticks_per_beat
    assert markers[:8] == [(k + 1, k * bar) for k in range(8)]


def test_midi_pickup_beats_and_a_second_of_silence_keep_the_tempo(tmp_path):
    """Two pickup beats (3/4) after 1 s of silence, first downbeat at 2.0 s, 120 BPM: the lead-in
    is four beats at the song's tempo, a 1/4 bar and a whole 3/4 bar ("Lead-in"), so the first
    downbeat is a MIDI bar line, the pickups are beats 2 and 3 of the bar before it."""
    import pretty_midi

    beats = [1.0 + 0.5 * i for i in range(30)]
    res = {"beats": beats, "downbeats": beats[2::3], "meter": "3/4", "tempo_bpm": 120.0,
           "chords": [{"start": 2.0, "end": 15.0, "label": "D:maj", "symbol": "D"}], "key": None}
    path = write_midi(res, tmp_path / "p.mid")
    assert _time_signatures(path) == [(0, 1, 4), (480, 3, 4)]
    pm = pretty_midi.PrettyMIDI(str(path))
    assert np.allclose(pm.get_tempo_changes()[1], 120.0, atol=0.01)
    assert np.allclose(pm.get_downbeats()[:5], [0.0, 0.5, 2.0, 3.5, 5.0], atol=0.001)
    assert np.allclose(pm.get_beats()[:6], [0.0, 0.5, 1.0, 1.5, 2.0, 2.5], atol=0.001)
    markers = _markers(path)
    assert markers["Lead-in"] == 0 and "Pickup" not in markers
    assert markers["Bar 1"] == 4 * 480 and pm.tick_to_time(markers["Bar 1"]) == pytest.approx(2.0, abs=0.001)


def _markers(path) -> dict[str, int]:
    import mido

    out, now = {}, 0
    for msg in mido.MidiFile(str(path)).tracks[0]:
        now += msg.time
        if msg.type == "marker":
            out.setdefault(msg.text, now)
    return out


def _bar_lines(path, until: int) -> list[int]:
    """Ticks of the MIDI bar lines (as a DAW or notation program counts them from the time
    signatures, read with mido) up to ``until``."""
    sigs = _time_signatures(path)
    bars, tick, i = [], 0, 0
    while tick <= until:
        while i + 1 < len(sigs) and sigs[i + 1][0] <= tick:
            i += 1
        bars.append(tick)
        _, num, den = sigs[i]
        tick += num * 4 * 480 // den
    return bars


# (beats per bar, bpm, seconds before the first beat, pickup beats, the pickup bar's signature)
LEAD_INS = [
    (4, 100.0, 0.3, 0, (1, 8)),     # the reviewer's file: a short lead-in, no pickup beats
    (4, 120.0, 0.25, 1, (3, 8)),    # an eighth of silence and one pickup beat
    (4, 100.0, 0.4, 0, (3, 16)),    # 0.67 beats: rounded to a dotted eighth, seconds still exact
    (3, 90.0, 0.02, 2, (2, 4)),     # two pickup beats, the first at the start
    (4, 132.0, 0.9, 3, None),       # 2 beats + 3 pickups: a whole 4/4 bar and a 1/4 pickup bar
]


@pytest.mark.parametrize(("per_bar", "bpm", "gap", "pickups", "pickup_sig"), LEAD_INS)
def test_midi_lead_in_is_a_pickup_and_bar_1_is_the_first_downbeat(tmp_path, per_bar, bpm, gap,
                                                                  pickups, pickup_sig):
    """Read back with mido and pretty_midi: downbeat k is the start of bar k+1 counted from the
    first full bar (and carries the marker "Bar k+1"), the pickup bar has its own signature,
    and every beat, downbeat and chord note is at its analysed time in seconds (1 ms)."""
    import pretty_midi

    period = 60.0 / bpm
    rng = np.random.default_rng(per_bar * 1000 + pickups)
    beats = list(gap + period * np.arange(pickups + 8 * per_bar)
                 + np.r_[0.0, rng.uniform(-0.01, 0.01, pickups + 8 * per_bar - 1)])  # played
    downbeats = beats[pickups::per_bar]
    chords = [{"start": d, "end": beats[pickups + (i + 1) * per_bar]
               if pickups + (i + 1) * per_bar < len(beats) else d + per_bar * period,
               "label": ("C:maj", "A:min", "F:maj", "G:7")[i % 4]}
              for i, d in enumerate(downbeats)]
    if pickups:
        chords.insert(0, {"start": beats[0], "end": downbeats[0], "label": "G:7"})
    res = {"beats": beats, "downbeats": downbeats, "meter": f"{per_bar}/4", "tempo_bpm": bpm,
           "chords": chords, "key": {"tonic": "C", "mode": "major"}}
    path = write_midi(res, tmp_path / "lead.mid")
    sigs = _time_signatures(path)
    assert sigs[-1][1:] == (per_bar, 4) and len(sigs) == 2
    if pickup_sig is not None:
        assert sigs[0] == (0, *pickup_sig)
    markers = _markers(path)
    pm = pretty_midi.PrettyMIDI(str(path))
    first_full = min(t for t, n, d in sigs if (n, d) == (per_bar, 4))
    bars = [b for b in _bar_lines(path, pm.time_to_tick(downbeats[-1]) + 1) if b >= first_full]
    if pickup_sig is None:  # the lead-in holds a whole bar before the first downbeat's bar
        assert markers["Lead-in"] == 0 and sigs[0] == (0, 1, 4)
        bars = bars[1:]
    else:
        assert markers["Pickup"] == 0
    for k, d in enumerate(downbeats):
        assert markers[f"Bar {k + 1}"] == bars[k]
        assert pm.tick_to_time(bars[k]) == pytest.approx(d, abs=0.001)
    # a first beat within a sixteenth of the start is the grid's beat at 0 s (bar 1 beat 1, no
    # sliver of a bar); the notes there keep their time
    at = {beats[0]: 0.0} if gap < period / 4 else {}
    midi_beats = pm.get_beats()
    for b in beats:
        assert np.min(np.abs(midi_beats - at.get(b, b))) < 0.001
    starts = sorted({round(n.start, 6) for n in pm.instruments[0].notes})
    assert np.allclose(starts, [c["start"] for c in chords], atol=0.001)
    ends = sorted({round(n.end, 6) for n in pm.instruments[0].notes})
    assert np.allclose(ends, sorted({c["end"] for c in chords}), atol=0.001)
    # the lead-in keeps the song's tempo within a sixteenth's rounding (no 16x tempo)
    assert np.all(np.abs(pm.get_tempo_changes()[1] / bpm - 1.0) < 0.35)


@needs_soundfont
def test_midi_of_a_rendered_piece_has_bars_on_its_downbeats(tmp_path):
    """A rendered 3/4 piece analysed end to end: one time signature, every detected beat a MIDI
    beat and every detected downbeat a MIDI bar line (pretty_midi), however the lead-in falls."""
    import pretty_midi

    from musicapp.analysis import analyze_music

    piece = steady_piece(100.0, 2, "minor", 3, max_seconds=20.0)
    res = analyze_music(render(piece), 22050).to_dict()
    assert res["meter"] == "3/4" and len(res["downbeats"]) >= 4
    path = write_midi(res, tmp_path / "song.mid")
    assert _time_signatures(path)[-1][1:] == (3, 4) and len(_time_signatures(path)) <= 2
    pm = pretty_midi.PrettyMIDI(str(path))
    midi_beats, midi_bars = pm.get_beats(), pm.get_downbeats()
    for b in res["beats"][:-1]:
        assert np.min(np.abs(midi_beats - b)) < 0.003
    for d in res["downbeats"][:-1]:
        assert np.min(np.abs(midi_bars - d)) < 0.003
