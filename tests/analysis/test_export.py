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
    # a 0.3 s lead-in is half a beat at the song's 100 BPM: written as one whole beat (a 1/4
    # pickup bar, not 1/8) whose own tempo makes it last the 0.3 s, then the song's tempo
    assert np.allclose(times, [0.0, 0.3], atol=1e-3) and np.allclose(tempi, [200.0, 100.0], atol=0.1)
    assert _time_signatures(path) == [(0, 1, 4), (480, 4, 4)]
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
    (4, 100.0, 0.3, 0, (1, 4)),     # the reviewer's file: a short lead-in, no pickup beats
    (4, 120.0, 0.25, 1, (2, 4)),    # an eighth of silence (a whole beat) and one pickup beat
    (4, 100.0, 0.4, 0, (1, 4)),     # 0.67 beats: rounded to a beat (not 3/16), seconds exact
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
    bars = [b for b in _bar_lines(path, pm.time_to_tick(downbeats[-1] + 0.05)) if b >= first_full]
    if pickup_sig is None:  # the lead-in holds a whole bar before the first downbeat's bar
        assert markers["Lead-in"] == 0 and sigs[0] == (0, 1, 4)
        bars = bars[1:]
    else:
        assert markers["Pickup"] == 0
    # the grid is the constant tempo fitted to the beats (least squares; moved by at most the
    # beats' RMS scatter, ~6 ms, onto a lead-in of whole sixteenths): the played beats and
    # downbeats (+-10 ms) scatter around its beats and bar lines by their jitter
    for k, d in enumerate(downbeats):
        assert markers[f"Bar {k + 1}"] == bars[k]
        assert pm.tick_to_time(bars[k]) == pytest.approx(d, abs=0.02)
    # a first beat within a sixteenth of the start is the grid's beat at 0 s (bar 1 beat 1, no
    # sliver of a bar); the notes there keep their time
    at = {beats[0]: 0.0} if gap < period / 4 else {}
    midi_beats = pm.get_beats()
    for b in beats:
        assert np.min(np.abs(midi_beats - at.get(b, b))) < 0.02
    # chords start on a detected beat: their notes sit on that beat's MIDI beat (the bar line
    # for a downbeat), i.e. at the analysed time within the beats' jitter around the grid
    starts = sorted({round(n.start, 6) for n in pm.instruments[0].notes})
    assert np.allclose(starts, [c["start"] for c in chords], atol=0.02)
    ticks = {pm.time_to_tick(n.start) for n in pm.instruments[0].notes}
    assert {markers[f"Bar {k + 1}"] for k in range(len(downbeats))} <= ticks
    ends = sorted({round(n.end, 6) for n in pm.instruments[0].notes})
    assert np.allclose(ends, sorted({c["end"] for c in chords}), atol=0.02)
    # the song's tempo from the first beat on; the lead-in, rounded to whole beats, has its own
    # tempo lasting exactly the time before the first beat (at most 4x for a quarter beat)
    times, tempi = pm.get_tempo_changes()
    assert np.all(np.abs(tempi[times >= beats[0] - 0.03] / bpm - 1.0) < 0.05)
    assert np.all((tempi / bpm > 0.6) & (tempi / bpm <= 4.0))


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
    # the constant grid of the one tempo segment: detected beats (on 23-ms analysis frames)
    # within a frame of a MIDI beat, downbeats of a bar line
    for b in res["beats"][:-1]:
        assert np.min(np.abs(midi_beats - b)) < 0.024
    for d in res["downbeats"][:-1]:
        assert np.min(np.abs(midi_bars - d)) < 0.024
    assert len(res["tempo_segments"]) == 1
    tempi = pm.get_tempo_changes()[1]
    assert tempi[-1] == pytest.approx(res["tempo_segments"][0]["bpm"], abs=0.01)
    assert len(tempi) <= 2  # the segment's tempo (after a lead-in rounded to a sixteenth)


def _free_time_chords(seed: int = 1, seconds: float = 30.0):
    """Block chords (piano + bass) at log-uniform 0.2-2 s intervals: no steady beat."""
    from musicapp_lab.analysis.render import Note

    rng = np.random.default_rng(seed)
    prog = [(60, (0, 4, 7)), (65, (0, 4, 7)), (67, (0, 4, 7)), (57, (0, 3, 7))]
    notes, t, i = [], 0.2, 0
    while t < seconds:
        root, iv = prog[(i // 2) % 4]
        d = float(np.exp(rng.uniform(np.log(0.2), np.log(2.0))))
        notes += [Note(t, t + d * 0.95, 0, 60 + (root - 60 + k) % 12, 70) for k in iv]
        notes.append(Note(t, t + d * 0.95, 1, 36 + root % 12, 80))
        t += d
        i += 1
    return notes


@needs_soundfont
def test_no_steady_beat_exports_no_beat_grid(tmp_path):
    """temple.ogg printed "tempo: none, no steady beat" while its CSV had 235 beats, its MIDI 170
    tempo events and 4/4, and its JSON a 96.48-BPM tempo segment. Rendered free-time chords:
    the JSON, CSV, JAMS and MIDI (read back with mido, pretty_midi, jams) all say no beat."""
    import pretty_midi
    from musicapp_lab.analysis.render import render_notes

    from musicapp.analysis import analyze_music

    y = render_notes(_free_time_chords(), {0: 0, 1: 32})
    res = analyze_music(y, 22050).to_dict()
    assert res["tempo_bpm"] is None and res["tempo_reason"].startswith("no steady beat")
    assert res["tempo_segments"] == [] and res["tempo_curve"] == [] and res["meter"] is None
    assert res["beats"]  # the tracker's guesses stay in the JSON, but no export uses them
    res["duration_s"] = y.size / 22050
    mid = mido.MidiFile(str(write_midi(res, tmp_path / "free.mid")))
    metas = [m for m in mid.tracks[0] if m.is_meta]
    tempi = [m for m in metas if m.type == "set_tempo"]
    assert len(tempi) == 1 and tempi[0].time == 0 and mido.tempo2bpm(tempi[0].tempo) == 120
    assert not [m for m in metas if m.type == "time_signature"]
    assert not [m for m in metas if m.type == "marker" and m.text.startswith(("Bar", "Pickup",
                                                                               "Lead-in"))]
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "free.mid"))
    starts = sorted({round(n.start, 3) for n in pm.instruments[0].notes})
    chord_starts = [c["start"] for c in res["chords"] if c["label"] not in ("N", "X")]
    assert np.allclose(starts, sorted(set(chord_starts)), atol=0.002)  # seconds-accurate
    with open(write_csv(res, tmp_path / "free.csv"), newline="") as f:
        kinds = [r["type"] for r in csv.DictReader(f)]
    assert "beat" not in kinds and "downbeat" not in kinds and "tempo" not in kinds
    assert kinds.count("key") == 1 and "chord" in kinds
    jams = pytest.importorskip("jams")
    jam = jams.load(str(write_jams(res, tmp_path / "free.jams")), validate=False)
    assert len(jam.search(namespace="beat")[0].data) == 0
    assert not jam.search(namespace="beat_position") and not jam.search(namespace="tempo")


def test_csv_and_jams_carry_the_whole_track_key_and_only_supported_local_keys(tmp_path):
    """temple.ogg's CSV had eight local keys down to confidence 0.007 and no whole-track key."""
    res = _result()
    res["duration_s"] = 20.0
    res["key_timeline"] = [
        {"start": 0.0, "end": 6.0, "tonic": "Db", "mode": "major", "confidence": 0.53},
        {"start": 6.0, "end": 12.0, "tonic": "Eb", "mode": "major", "confidence": 0.007},
        {"start": 12.0, "end": 20.0, "tonic": "Bb", "mode": "minor", "confidence": 0.64}]
    with open(write_csv(res, tmp_path / "k.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["type"] in ("key", "local_key")]
    assert [(r["type"], r["start"], r["end"], r["value"], r["confidence"]) for r in rows] == [
        ("key", "0.000", "20.000", "Db major", "0.9"),
        ("local_key", "0.000", "6.000", "Db major", "0.53"),
        ("local_key", "12.000", "20.000", "Bb minor", "0.64")]
    jams = pytest.importorskip("jams")
    jam = jams.load(str(write_jams(res, tmp_path / "k.jams")), validate=False)
    whole, local = jam.search(namespace="key_mode")
    assert [o.value for o in whole.data] == ["Db:major"] and whole.data[0].duration == 20.0
    assert [o.value for o in local.data] == ["Db:major", "Bb:minor"]


def test_midi_tempo_map_is_one_event_per_segment_and_per_beat_only_where_it_drifts(tmp_path):
    """Beats jittered by up to +-40 ms around 77 BPM (one segment): one tempo event, the grid
    the least-squares fit (mean residual 0); an accelerando inside one segment: per-beat events."""
    rng = np.random.default_rng(5)
    period = 60.0 / 77.0
    beats = list(1.0 + period * np.arange(48) + rng.uniform(-0.04, 0.04, 48))
    res = {"beats": beats, "downbeats": beats[::4], "meter": "4/4", "tempo_bpm": 77.0,
           "tempo_segments": [{"start": beats[0], "end": beats[-1], "bpm": 77.0}],
           "chords": [{"start": beats[0], "end": beats[-1], "label": "C:maj"}], "key": None}
    mid = mido.MidiFile(str(write_midi(res, tmp_path / "steady.mid")))
    tempi = [round(mido.tempo2bpm(m.tempo), 3) for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempi[-1] == 77.0 and len(tempi) <= 2  # (a lead-in of whole sixteenths first)
    import pretty_midi

    grid = pretty_midi.PrettyMIDI(str(tmp_path / "steady.mid")).get_beats()
    on = np.array([grid[np.argmin(np.abs(grid - b))] for b in beats[:-1]])  # (file ends there)
    resid = np.asarray(beats[:-1]) - on
    # the least-squares anchor, moved onto a lead-in of whole sixteenths by at most the RMS
    # (the beats' RMS scatter, 23 ms for +-40 ms uniform jitter)
    assert abs(float(np.mean(resid))) < 0.025 and np.max(np.abs(resid)) < 0.04 + 0.025
    # accelerando 100 -> 130 BPM within what the analysis called one segment
    periods = 60.0 / np.linspace(100.0, 130.0, 40)
    acc = list(0.5 + np.concatenate([[0.0], np.cumsum(periods[:-1])]))
    res = {**res, "beats": acc, "downbeats": acc[::4], "tempo_bpm": 115.0,
           "tempo_segments": [{"start": acc[0], "end": acc[-1], "bpm": 115.0}]}
    pm = pretty_midi.PrettyMIDI(str(write_midi(res, tmp_path / "acc.mid")))
    assert len(pm.get_tempo_changes()[1]) > 20
    assert np.allclose([pm.get_beats()[np.argmin(np.abs(pm.get_beats() - b))] for b in acc],
                       acc, atol=0.002)


@needs_soundfont
def test_rendered_steady_77_bpm_song_gets_a_constant_tempo_map(tmp_path, capsys):
    """POP909-113 (77 BPM) got 50 tempo events between 73.8 and 80.75 BPM (beat times jitter).
    A rendered steady ~77-BPM progression: one tempo, the analysed segment's, and `chords
    --from-midi` reads it back. (Before: one event per change of the beat interval.)"""
    from musicapp.analysis import analyze_music
    from musicapp.cli import main

    piece = steady_piece(77.0, 0, "major", 4, max_seconds=30.0)
    res = analyze_music(render(piece), 22050).to_dict()
    assert len(res["tempo_segments"]) == 1
    seg_bpm = res["tempo_segments"][0]["bpm"]
    assert abs(seg_bpm - piece.tempo) < 0.01 * piece.tempo
    assert len(set(np.round(np.diff(res["beats"]), 3))) > 1  # the beats do jitter
    path = write_midi(res, tmp_path / "steady.mid")
    tempi = [mido.tempo2bpm(m.tempo) for m in mido.MidiFile(str(path)).tracks[0]
             if m.type == "set_tempo"]
    assert tempi[-1] == pytest.approx(seg_bpm, abs=0.01) and len(tempi) <= 2
    assert main(["chords", "--from-midi", str(path)]) == 0
    out = capsys.readouterr()
    assert f"{seg_bpm:.0f} bpm" in out.out + out.err


def _seconds_at(mid: mido.MidiFile, tick: int) -> float:
    """Seconds at ``tick`` along the file's tempo map (mido's own tick2second per tempo span)."""
    events, now = [], 0
    for msg in mid.tracks[0]:
        now += msg.time
        if msg.type == "set_tempo":
            events.append((now, msg.tempo))
    secs, prev_tick, tempo = 0.0, 0, 500000
    for t, tp in events:
        if t >= tick:
            break
        secs += mido.tick2second(t - prev_tick, mid.ticks_per_beat, tempo)
        prev_tick, tempo = t, tp
    return secs + mido.tick2second(tick - prev_tick, mid.ticks_per_beat, tempo)


# (meter beats, seconds of silence in beats, pickup beats, expected pickup-bar signature)
PICKUP_BARS = [
    (4, 0.0, 1, (1, 4)), (4, 0.0, 2, (2, 4)), (4, 0.0, 3, (3, 4)),  # 1, 2, 3 pickup beats
    (4, 1.0, 2, (3, 4)),      # POP909-113's shape: a beat of silence, then two pickups
    (4, 0.5, 0, (1, 4)),      # a lead-in shorter than a beat: silence only, one (fast) beat
    (4, 0.75, 0, (1, 4)),
    (4, 1.75, 0, (2, 4)),     # 1.75 beats: a 2/4 bar, not 7/16
    (4, 0.5, 1, (2, 4)),      # half a beat of silence and one pickup beat
    (3, 0.0, 1, (1, 4)), (3, 0.0, 2, (2, 4)),
    (4, 1.0, 3, None),        # four beats: one whole 4/4 "Lead-in" bar, no short bar
]


@pytest.mark.parametrize(("per_bar", "silence", "pickups", "pickup_sig"), PICKUP_BARS)
def test_midi_pickup_bar_for_any_lead_in_length(tmp_path, per_bar, silence, pickups, pickup_sig):
    """Read back with mido alone: the file starts at the audio's 0 s, a lead-in of L beats is one
    L-beat bar with its own signature (then the meter), so that counting bars from the time
    signatures the first downbeat is a bar line - tick and seconds - carrying "Bar 1", its chord
    starts there, and the tempo is the track's throughout."""
    bpm = 96.0
    period = 60.0 / bpm
    beats = [(silence + k) * period for k in range(pickups + 8 * per_bar)]
    downbeats = beats[pickups::per_bar]
    chords = [{"start": d, "end": d + per_bar * period, "label": ("C:maj", "G:7")[i % 2]}
              for i, d in enumerate(downbeats)]
    res = {"beats": beats, "downbeats": downbeats, "meter": f"{per_bar}/4", "tempo_bpm": bpm,
           "chords": chords, "key": {"tonic": "C", "mode": "major"},
           "tempo_segments": [{"start": beats[0], "end": beats[-1], "bpm": bpm}]}
    path = write_midi(res, tmp_path / "pickup.mid")
    mid = mido.MidiFile(str(path))
    sigs = _time_signatures(path)
    # the silence before the first beat counts whole beats (at least one; none under a quarter)
    rounded = 0 if silence < 0.25 else max(1, round(silence))
    lead = rounded + pickups
    if pickup_sig is None:
        assert sigs == [(0, per_bar, 4)]
        assert _markers(path)["Lead-in"] == 0
    else:
        num, den = pickup_sig
        assert sigs == [(0, num, den), (round(lead * 480), per_bar, 4)]
        assert num * 4 / den == lead and den == 4  # the short bar is the lead-in, whole beats
        assert _markers(path)["Pickup"] == 0
    bar_lines = _bar_lines(path, round((lead + 3 * per_bar) * 480))
    first_down = round(lead * 480)
    assert first_down in bar_lines
    assert _markers(path)["Bar 1"] == first_down
    assert _seconds_at(mid, first_down) == pytest.approx(downbeats[0], abs=0.002)
    assert _seconds_at(mid, bar_lines[bar_lines.index(first_down) + 2]) == pytest.approx(
        downbeats[2], abs=0.002)
    chord_track = next(tr for tr in mid.tracks if tr.name == "Chords")
    now, first_on = 0, None
    for msg in chord_track:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            first_on = now
            break
    assert first_on == first_down
    tempos = [mido.tempo2bpm(m.tempo) for m in mid.tracks[0] if m.type == "set_tempo"]
    if rounded != silence:  # the rounded lead-in lasts exactly the silence: its own tempo
        assert tempos[0] == pytest.approx(bpm * rounded / silence, rel=1e-3)
        tempos = tempos[1:]
    assert np.allclose(tempos, bpm, rtol=1e-3)


def test_key_changes_are_key_signatures_and_cli_text(tmp_path):
    """pop025 modulates A major -> C major at ~300 s: the JSON timeline had it, the CLI printed
    "A major" only and the MIDI had one key signature. Now the MIDI has a key signature (and a
    "Key:" marker) at the change, on the bar line it falls within a few ms of, and the CLI's
    key line names it; a low-confidence timeline segment is no change."""
    from musicapp.cli.analyze import summarise

    res = _result(bpm=120.0, bars=8)
    change = res["downbeats"][4] + 0.004  # a few ms after bar 5's line (frame rounding)
    end = res["beats"][-1]
    res["key"] = {"tonic": "A", "mode": "major", "name": "A major", "confidence": 0.9}
    res["key_timeline"] = [
        {"start": 0.0, "end": change, "tonic": "A", "mode": "major", "name": "A major",
         "confidence": 0.9},
        {"start": change, "end": end - 2.0, "tonic": "C", "mode": "major", "name": "C major",
         "confidence": 0.8},
        {"start": end - 2.0, "end": end, "tonic": "D", "mode": "minor", "name": "D minor",
         "confidence": 0.05}]
    mid = mido.MidiFile(str(write_midi(res, tmp_path / "mod.mid")))
    now, keys, markers = 0, [], {}
    for msg in mid.tracks[0]:
        now += msg.time
        if msg.type == "key_signature":
            keys.append((now, msg.key))
        elif msg.type == "marker":
            markers.setdefault(msg.text, now)
    assert keys == [(0, "A"), (markers["Bar 5"], "C")]
    assert markers["Key: C major"] == markers["Bar 5"]
    text = summarise({"path": "mod.wav", "duration_s": 30.0, **res})
    assert f"· changes to C major at 0:{change:04.1f}" in text and "D minor" not in text


def test_chord_markers_snap_onto_the_bar_line(tmp_path):
    """Chord changes found 2-4 ms after the bar line (Bar 2 at 5.362 s, Bbm at 5.364 s) sit on
    the bar line's tick; one clearly between beats keeps its own time."""
    res = _result(bpm=100.0, bars=4, pickup=0.0)
    for c in res["chords"]:
        c["start"] = round(c["start"] + 0.003, 4)
    res["chords"].append({"start": res["beats"][-2] + 0.3, "end": res["beats"][-1] + 0.6,
                          "label": "E:min", "symbol": "Em"})
    mid = mido.MidiFile(str(write_midi(res, tmp_path / "snap.mid")))
    now, at = 0, {}
    for msg in mid.tracks[0]:
        now += msg.time
        if msg.type == "marker":
            at.setdefault(msg.text, now)
    assert at[res["chords"][1]["symbol"]] == at["Bar 1"]
    assert at[res["chords"][2]["symbol"]] == at["Bar 2"] == 4 * 480
    assert at["Em"] % 480 != 0
