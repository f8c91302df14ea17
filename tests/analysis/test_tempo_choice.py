"""Half/double tempo toggle: the core function and the library's stored tempo (real SQLite)."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.analysis.tempo_choice import choose_tempo, close_level
from musicapp.errors import MusicappError
from tests.analysis.conftest import needs_soundfont


def _result() -> dict:
    beats = [0.5 + i * 0.25 for i in range(32)]  # 240 BPM eighth notes of a 120 BPM song
    return {"tempo_bpm": 240.0, "tempo_confidence": 0.7, "beats": beats,
            "downbeats": beats[::8], "meter": "4/4",
            "tempo_candidates": [{"bpm": 240.0, "relation": "tactus", "score": 0.5},
                                 {"bpm": 120.0, "relation": "half", "score": 0.4},
                                 {"bpm": 480.0, "relation": "double", "score": 0.1}],
            "tempo_segments": [{"start": 0.5, "end": 8.25, "bpm": 240.0, "beats": 32}],
            "tempo_curve": [[1.0, 240.0], [2.0, 240.0]]}


def test_half_keeps_the_downbeats_and_relabels_candidates():
    r = _result()
    h = choose_tempo(r, level="half")
    assert h["tempo_bpm"] == 120.0 and r["tempo_bpm"] == 240.0  # a copy
    assert len(h["beats"]) == 16 and set(h["downbeats"]) <= set(h["beats"])
    rel = {c["relation"]: c["bpm"] for c in h["tempo_candidates"]}
    assert rel == {"tactus": 120.0, "double": 240.0, "other": 480.0}
    assert h["tempo_segments"][0]["bpm"] == 120.0 and h["tempo_curve"][0][1] == 120.0
    choice = dict(h["tempo_choice"])
    assert choice.pop("analysed") == {"meter": "4/4", "beats": r["beats"],
                                      "downbeats": r["downbeats"]}
    assert choice == {"bpm": 120.0, "factor": 0.5, "analysed_bpm": 240.0}
    back = choose_tempo(h, 240.0)
    assert back["tempo_bpm"] == 240.0 and back["tempo_choice"]["analysed_bpm"] == 240.0
    assert back["beats"] == r["beats"] and back["downbeats"] == r["downbeats"]


def test_a_coin_toss_between_levels_is_named():
    """240 vs 120 scoring 0.5 vs 0.4 is said out loud (the town.ogg case: 0.50 vs 0.457); a
    clear choice, or a result without candidates, names nothing."""
    assert close_level(_result()) == {"bpm": 120.0, "relation": "half", "score": 0.4}
    clear = _result()
    clear["tempo_candidates"][1]["score"] = 0.2
    assert close_level(clear) is None
    assert close_level({"tempo_bpm": 120.0}) is None and close_level({}) is None
    # the CLI says it in words under the tempo line
    from musicapp.cli.analyze import summarise

    text = summarise({"path": "t.ogg", "duration_s": 60.0, **_result()})
    assert "unsure of the level: 120.0 BPM (half) fits almost as well" in text
    assert "unsure" not in summarise({"path": "t.ogg", "duration_s": 60.0, **clear})


def test_double_and_bad_choices():
    d = choose_tempo(_result(), level="double")
    assert d["tempo_bpm"] == 480.0 and len(d["beats"]) == 63 and d["meter"] == "8/4"
    with pytest.raises(MusicappError, match="metrical level"):
        choose_tempo(_result(), 170.0)
    with pytest.raises(MusicappError):
        choose_tempo(_result(), -5.0)
    with pytest.raises(MusicappError, match="no tempo"):
        choose_tempo({"tempo_bpm": None, "tempo_reason": "no steady beat"}, level="half")


def test_library_stores_the_chosen_tempo(tmp_path):
    from musicapp.library.api import Library
    from musicapp.library.store import LibraryError
    from tests.helpers.signals import sine, write_audio

    (tmp_path / "music").mkdir()
    audio = write_audio(tmp_path / "music" / "a.wav", sine(220.0, 2.0, 22050, amp=0.3), 22050)
    with Library(tmp_path / "lib.db") as lib:
        lib.store.scan(tmp_path / "music")
        track = lib.store.track_by_path(audio)
        assert lib.store.save_result(track.id, fingerprint=None, analysis=_result(),
                                     duration_s=2.0)
        assert [t["path"] for t in lib.search(bpm="230-250")]
        new = lib.set_tempo(track.id, 120.0)
        assert new["tempo_bpm"] == 120.0
        assert lib.store.analysis(track.id)["tempo_bpm"] == 120.0
        # the stored tempo is 120 now; 240 is found only as the level the analysis listed
        assert lib.search(bpm="230-250", bpm_levels=False) == []
        assert [t.get("bpm_match") is not None for t in lib.search(bpm="230-250")] == [True]
        assert len(lib.search(bpm="115-125", bpm_levels=False)) == 1
        assert lib.set_tempo(str(audio), 240.0)["tempo_bpm"] == 240.0
        with pytest.raises(LibraryError):
            lib.set_tempo(str(tmp_path / "other.wav"), 120.0)


def _song(per_bar: int = 4, pickups: int = 1, bars: int = 12, bpm: float = 178.0,
          chord_phase: int = 1) -> dict:
    """A song analysed at double time (``bpm``): downbeats every ``per_bar`` beats after
    ``pickups`` beats, chords changing on every other downbeat (``chord_phase``: the first or
    second downbeat), the true bars of the half-time song."""
    period = 60.0 / bpm
    beats = [round(0.4 + k * period, 4) for k in range(pickups + bars * per_bar)]
    downbeats = beats[pickups::per_bar]
    starts = downbeats[chord_phase::2]
    chords = [{"start": 0.0, "end": starts[0], "label": "N"}] + [
        {"start": a, "end": b, "label": ("C:maj", "A:min", "F:maj", "G:7")[i % 4]}
        for i, (a, b) in enumerate(zip(starts, [*starts[1:], beats[-1] + period], strict=True))]
    return {"tempo_bpm": bpm, "tempo_confidence": 0.6, "beats": beats, "downbeats": downbeats,
            "meter": f"{per_bar}/4", "chords": chords, "key": {"tonic": "C", "mode": "major"},
            "tempo_segments": [{"start": beats[0], "end": beats[-1], "bpm": bpm}],
            "tempo_candidates": [{"bpm": bpm, "relation": "tactus", "score": 0.5},
                                 {"bpm": bpm / 2, "relation": "half", "score": 0.45}]}


def _read_back(path) -> tuple[list[tuple[int, int, int]], dict[int, str], list[int], float]:
    """(tick, numerator, denominator) signatures, "Bar N" marker ticks, the first tempo event
    after tick 0's, and the file's ticks per beat, read with mido."""
    import mido

    mid = mido.MidiFile(str(path))
    now, sigs, bars, tempi = 0, [], {}, []
    for msg in mid.tracks[0]:
        now += msg.time
        if msg.type == "time_signature":
            sigs.append((now, msg.numerator, msg.denominator))
        elif msg.type == "marker" and msg.text.startswith("Bar "):
            bars[now] = msg.text
        elif msg.type == "set_tempo":
            tempi.append(mido.tempo2bpm(msg.tempo))
    return sigs, bars, tempi, mid.ticks_per_beat


@pytest.mark.parametrize(("per_bar", "pickups", "chord_phase"),
                         [(4, 1, 1), (4, 0, 0), (3, 2, 1), (3, 1, 0)])
def test_half_keeps_the_meter_and_the_export_follows(tmp_path, per_bar, pickups, chord_phase):
    """pop001 at 178 BPM halved gave 89 BPM with downbeats every 2 beats and "Bar" markers every
    half bar of its 4/4. Halved, the meter stays over the new beats: every other downbeat stays
    (those where the chords change), downbeats are beats, a bar apart, and the MIDI file read
    back with mido has the meter's signature and a "Bar" marker every numerator x ticks/beat."""
    from musicapp.analysis.export import write_midi

    r = _song(per_bar, pickups, chord_phase=chord_phase)
    h = choose_tempo(r, level="half")
    assert h["tempo_bpm"] == 89.0 and h["meter"] == f"{per_bar}/4"
    assert set(h["downbeats"]) <= set(h["beats"])
    assert h["downbeats"] == r["downbeats"][chord_phase::2]  # the chords' downbeats
    idx = [h["beats"].index(d) for d in h["downbeats"]]
    assert set(np.diff(idx)) == {per_bar}
    assert np.allclose(np.diff(h["beats"]), 2 * 60.0 / 178.0, atol=1e-3)
    sigs, bars, tempi, tpb = _read_back(write_midi(h, tmp_path / "half.mid"))
    assert sigs[-1][1:] == (per_bar, 4) and all(d == 4 for _, _, d in sigs)
    ticks = sorted(bars)
    assert len(ticks) == len(h["downbeats"]) and set(np.diff(ticks)) == {per_bar * tpb}
    assert tempi[-1] == pytest.approx(89.0, abs=0.05)
    # doubling again gives the analysed beats, downbeats and meter back
    back = choose_tempo(h, level="double")
    assert back["tempo_bpm"] == 178.0
    assert (back["beats"], back["downbeats"], back["meter"]) == (
        r["beats"], r["downbeats"], r["meter"])


def test_double_keeps_the_downbeats_and_doubles_the_bar(tmp_path):
    """Doubled, the downbeats stay and a bar holds twice the beats (4/4 -> 8/4: the MIDI beat
    stays a quarter); the export has a "Bar" marker every 8 x ticks/beat; halving comes back."""
    from musicapp.analysis.export import write_midi

    r = _song(4, 1, bpm=90.0)
    d = choose_tempo(r, level="double")
    assert d["tempo_bpm"] == 180.0 and d["meter"] == "8/4"
    assert d["downbeats"] == r["downbeats"] and set(d["downbeats"]) <= set(d["beats"])
    idx = [d["beats"].index(x) for x in d["downbeats"]]
    assert set(np.diff(idx)) == {8}
    sigs, bars, _, tpb = _read_back(write_midi(d, tmp_path / "double.mid"))
    assert sigs[-1][1:] == (8, 4)
    assert set(np.diff(sorted(bars))) == {8 * tpb}
    back = choose_tempo(d, level="half")
    assert (back["tempo_bpm"], back["beats"], back["downbeats"], back["meter"]) == (
        90.0, r["beats"], r["downbeats"], "4/4")


def test_tempo_label_marks_a_close_level_and_a_low_confidence():
    """"60.6 (or 121.2)" for a close half/double level, "~" for a low tempo confidence."""
    from musicapp.analysis.tempo_choice import LOW_TEMPO_CONFIDENCE, tempo_label

    r = _result()  # 240 vs its half 120 scoring 0.5 vs 0.4: a coin toss
    assert tempo_label(r) == "240.0 (or 120.0)"
    r["tempo_confidence"] = LOW_TEMPO_CONFIDENCE - 0.05
    assert tempo_label(r) == "~240.0 (or 120.0)"
    r["tempo_candidates"][1]["score"] = 0.1
    assert tempo_label(r) == "~240.0"
    r["tempo_confidence"] = 0.9
    assert tempo_label(r) == "240.0"
    assert tempo_label({"tempo_bpm": None}) is None


def test_library_list_and_analyze_show_the_same_tempo_marks(tmp_path, capsys):
    """The library list showed "60.6" for a tempo of confidence 0.30 with a close double level;
    now its row says "~60.6 bpm ... (or 121.2)", as `analyze` does, and --help explains it."""
    from musicapp.cli import main
    from musicapp.cli.analyze import summarise
    from musicapp.library.api import Library
    from tests.helpers.signals import sine, write_audio

    analysis = {"tempo_bpm": 60.6, "tempo_confidence": 0.30, "meter": "4/4", "beats": [],
                "duration_s": 2.0,
                "tempo_candidates": [{"bpm": 60.6, "relation": "tactus", "score": 0.5},
                                     {"bpm": 121.2, "relation": "double", "score": 0.45}]}
    (tmp_path / "music").mkdir()
    audio = write_audio(tmp_path / "music" / "a.wav", sine(220.0, 2.0, 22050, amp=0.3), 22050)
    db = tmp_path / "lib.db"
    with Library(db) as lib:
        lib.store.scan(tmp_path / "music")
        track = lib.store.track_by_path(audio)
        assert lib.store.save_result(track.id, fingerprint=None, analysis=analysis, duration_s=2.0)
    assert main(["library", "list", "--db", str(db)]) == 0
    row = capsys.readouterr().out
    assert " ~60.6 bpm" in row and "(or 121.2)" in row
    text = summarise({"path": "a.wav", **analysis})
    assert "tempo: ~60.6 BPM (or 121.2), meter 4/4" in text
    assert "low tempo confidence (0.30)" in text
    with pytest.raises(SystemExit):
        main(["library", "list", "--help"])
    assert "low tempo confidence" in " ".join(capsys.readouterr().out.split())


def test_a_quarter_is_two_halvings_and_times_four_comes_back():
    r = _song(4, 1, bars=16, bpm=180.0)
    q = choose_tempo(r, 45.0)
    assert q["tempo_bpm"] == 45.0 and q["tempo_choice"]["factor"] == 0.25 and q["meter"] == "4/4"
    idx = [q["beats"].index(d) for d in q["downbeats"]]
    assert set(np.diff(idx)) == {4} and np.allclose(np.diff(q["beats"]), 4 / 3, atol=1e-3)
    back = choose_tempo(q, 180.0)
    assert (back["beats"], back["downbeats"], back["meter"]) == (
        r["beats"], r["downbeats"], r["meter"])


def test_refused_levels_name_the_ratio_and_the_levels_that_work():
    """`--bpm 60` on a 90-BPM analysis printed 60 but kept the 90-BPM beats (a MIDI file at
    ~90 BPM with 121 drifting tempo events); x3, x1/3, x2/3, x3/2 are refused now, naming the
    ratio and the half/double levels, and those levels still re-count the beats."""
    r = _song(4, 1, bars=16, bpm=90.0)
    for bpm, name in ((60.0, "x2/3"), (270.0, "x3"), (30.0, "x1/3"), (135.0, "x3/2")):
        with pytest.raises(MusicappError) as err:
            choose_tempo(r, bpm)
        assert str(err.value) == (f"{bpm:g} BPM is {name} of the found 90.0 BPM; only "
                                  "half/double levels (45.0, 180.0, 22.5, 360.0) can be re-counted")
    with pytest.raises(MusicappError, match=r"77\.7 BPM is not a metrical level of the found 90\.0"):
        choose_tempo(r, 77.7)
    for bpm in (45.0, 180.0, 22.5, 360.0):
        out = choose_tempo(r, bpm)
        assert out["tempo_bpm"] == bpm and abs(len(out["beats"]) - 65 * bpm / 90.0) <= 3
        assert np.allclose(np.diff(out["beats"]), 60.0 / bpm, atol=2e-3)
    # once counted at 45, the message names the current tempo's levels
    with pytest.raises(MusicappError, match=r"is x3 of the current 45.0 BPM; .*\(22.5, 90.0, "):
        choose_tempo(choose_tempo(r, level="half"), 135.0)


def test_library_refuses_a_triple_level_and_keeps_the_stored_tempo(tmp_path):
    from musicapp.library.api import Library
    from tests.helpers.signals import sine, write_audio

    (tmp_path / "music").mkdir()
    audio = write_audio(tmp_path / "music" / "a.wav", sine(220.0, 2.0, 22050, amp=0.3), 22050)
    with Library(tmp_path / "lib.db") as lib:
        lib.store.scan(tmp_path / "music")
        track = lib.store.track_by_path(audio)
        assert lib.store.save_result(track.id, fingerprint=None, analysis=_result(),
                                     duration_s=2.0)
        with pytest.raises(MusicappError, match=r"80 BPM is x1/3 of the found 240\.0 BPM"):
            lib.set_tempo(track.id, 80.0)
        assert lib.store.analysis(track.id)["beats"] == _result()["beats"]
        assert lib.store.analysis(track.id)["tempo_bpm"] == 240.0


def test_half_keeps_the_first_downbeat_when_chords_change_every_half_bar():
    """pop909 001 halved to 45 BPM kept the odd downbeats: each bar held "A#m D#m B C#" instead
    of its phrase "B C# A#m D#m", "Bar 1" at the song's second bar. Its chords change every
    half bar, so both halves of the downbeats have a change on nearly every downbeat; its
    analysis (the chords and downbeats below, rounded from the app's) keeps bar 1 now."""
    period = 60.0 / 90.0
    downbeats = [round(2.717 + 4 * period * k, 3) for k in range(12)]
    labels = ["B:maj", "C#:maj", "A#:min", "D#:min", "B:maj", "C#:maj", "F#:maj", "F#:maj"]
    starts = [round(2.717 + 2 * period * k, 3) for k in range(24)]
    chords = [{"start": 0.0 if k == 0 else a, "end": a + 2 * period, "label": labels[k % 8]}
              for k, a in enumerate(starts)]
    beats = [round(2.717 + period * k, 3) for k in range(48)]
    r = {"tempo_bpm": 90.0, "beats": beats, "downbeats": downbeats, "meter": "4/4",
         "chords": chords}
    h = choose_tempo(r, level="half")
    assert h["downbeats"] == downbeats[0::2] and h["beats"][0] == 2.717
    # the same song whose chords change once per true (half-time) bar, on the second
    # downbeat, still moves the bar lines there: the evidence is clear
    r["chords"] = [{"start": a, "end": a + 4 * period, "label": ("C:maj", "G:maj")[k % 2]}
                   for k, a in enumerate(downbeats[1::2])]
    assert choose_tempo(r, level="half")["downbeats"] == downbeats[1::2]


def _phrase_piece(bpm: float = 90.0, phrases: int = 3, lead_beats: int = 2):
    """A rendered pop phrase at ``bpm`` in 4/4, two chords a bar as in pop909 001: | C G | Am F
    | C G | F - |, with kick, snare, hi-hat and bass, after ``lead_beats`` beats of hi-hat.
    Returns the notes, programs and the true bar-1 time."""
    from musicapp_lab.analysis.render import Note

    p = 60.0 / bpm
    t0 = 0.5 + lead_beats * p
    roots = {"C": 48, "G": 43, "Am": 45, "F": 41}
    triads = {"C": (60, 64, 67), "G": (59, 62, 67), "Am": (57, 60, 64), "F": (57, 60, 65)}
    bar = [("C", 2), ("G", 2), ("Am", 2), ("F", 2), ("C", 2), ("G", 2), ("F", 4)]
    notes, t = [], t0
    for _ in range(phrases):
        for name, beats in bar:
            end = t + beats * p
            notes += [Note(t, end - 0.02, 0, k, 80) for k in triads[name]]
            notes.append(Note(t, end - 0.05, 1, roots[name], 90))
            t = end
    total = int(round((t - 0.5) / p))
    for i in range(total):
        b = 0.5 + i * p
        notes += [Note(b, b + 0.1, 9, 42, 60), Note(b + p / 2, b + p / 2 + 0.1, 9, 42, 50)]
        if i >= lead_beats:
            k = (i - lead_beats) % 4
            notes.append(Note(b, b + 0.1, 9, 36 if k in (0, 2) else 38, 100 if k == 0 else 85))
    return notes, {0: 0, 1: 33}, t0


@needs_soundfont
def test_half_time_of_a_rendered_phrase_keeps_bar_one():
    """A rendered 90-BPM phrase, two chords a bar (| C G | Am F | C G | F - |), analysed with
    the app's pipeline: halved to 45 BPM, the first bar line stays at the first analysed
    downbeat, the song's bar 1, and each 45-BPM bar starts a 2-bar half of the phrase."""
    from musicapp_lab.analysis.render import render_notes

    from musicapp.pipeline import analyze_samples

    notes, programs, bar1 = _phrase_piece()
    y = render_notes(notes, programs, sample_rate=22050)
    r = analyze_samples(y, 22050, tags=False).to_dict()
    assert abs(r["tempo_bpm"] - 90.0) < 3.0 and r["meter"] == "4/4"
    assert abs(r["downbeats"][0] - bar1) < 0.1  # the analysis finds bar 1
    h = choose_tempo(r, level="half")
    assert h["downbeats"][:3] == r["downbeats"][0:6:2]
    bar2 = 4 * 60.0 / 45.0
    assert np.allclose(np.array(h["downbeats"][:3]) - bar1, [0.0, bar2, 2 * bar2], atol=0.12)
