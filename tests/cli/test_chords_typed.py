"""``musicapp chords`` keeps what the musician typed: a typed progression or lock plays and is
named exactly as typed in the jazz style (its colours are for the generator's chords), a typed
tonic chord sets a bare key's mode, and the tempo says which note value it counts."""

from __future__ import annotations

import json

import mido
import pytest

from musicapp.cli import main


def _json(capsys, argv: list[str]) -> dict:
    assert main(["chords", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _chord_pitch_sets(path) -> tuple[list[str], list[set[int]]]:
    """The markers of a written MIDI file and the pitch classes the Chords track plays under
    each marker (read back with mido)."""
    mid = mido.MidiFile(path)
    marks, t = [], 0
    for m in mid.tracks[0]:
        t += m.time
        if m.type == "marker":
            marks.append((t, m.text))
    chords = next(tr for tr in mid.tracks if tr.name == "Chords")
    sets: list[set[int]] = [set() for _ in marks]
    t = 0
    for m in chords:
        t += m.time
        if m.type == "note_on" and m.velocity > 0:
            i = max(j for j, (start, _) in enumerate(marks) if start <= t)
            sets[i].add(m.note % 12)
    return [name for _, name in marks], sets


def test_a_typed_jazz_progression_in_minor_plays_as_typed(capsys, tmp_path):
    """--style jazz turned the typed closing i7 into Bbm9; i9, iiø7 and V7b9 typed stay so."""
    out = tmp_path / "bb.mid"
    res = _json(capsys, ["--key", "Bb minor", "--style", "jazz", "--progression",
                         "i9 iiø7 V7b9 i7", "--pattern", "block", "-o", str(out)])
    assert res["chords"] == ["Bbm9", "Cm7b5", "F7(b9)", "Bbm7"]
    assert res["roman"] == ["i9", "iiø7", "V7b9", "i7"]
    assert res["harte"][3] == "Bb:min7"
    names, sets = _chord_pitch_sets(out)
    assert names == res["chords"]
    # Bbm9 voiced without its fifth; Bbm7 with its fifth (F) and no 9th (C)
    assert sets == [{10, 1, 8, 0}, {0, 3, 6, 10}, {5, 9, 3, 6}, {10, 1, 5, 8}]


def test_a_typed_jazz_progression_in_major_plays_as_typed(capsys, tmp_path):
    """Imaj7 and V7 became Cmaj9 and G9."""
    out = tmp_path / "c.mid"
    res = _json(capsys, ["--key", "C major", "--style", "jazz", "--progression",
                         "Imaj7 vi7 ii7 V7", "--pattern", "block", "-o", str(out)])
    assert res["chords"] == ["Cmaj7", "Am7", "Dm7", "G7"]
    assert res["roman"] == ["Imaj7", "vi7", "ii7", "V7"]
    names, sets = _chord_pitch_sets(out)
    assert names == res["chords"]
    assert sets == [{0, 4, 7, 11}, {9, 0, 4, 7}, {2, 5, 9, 0}, {7, 11, 2, 5}]  # no 9th (D, A)


def test_typed_chords_stay_as_typed_when_others_are_regenerated(capsys):
    res = _json(capsys, ["--key", "Bb minor", "--style", "jazz", "--progression",
                         "i7 iv7 V7 i7", "--regenerate", "2", "--seed", "3"])
    assert [res["chords"][i] for i in (0, 2, 3)] == ["Bbm7", "F7", "Bbm7"]
    assert res["chords"][1] != "Ebm7"


def test_a_jazz_lock_plays_as_typed_and_the_generated_chords_keep_their_colour(capsys, tmp_path):
    out = tmp_path / "lock.mid"
    res = _json(capsys, ["--key", "Bb minor", "--style", "jazz", "--lock", "1=i7", "--seed", "2",
                         "--pattern", "block", "-o", str(out)])
    assert res["chords"][0] == "Bbm7"
    names, sets = _chord_pitch_sets(out)
    assert names == res["chords"] and sets[0] == {10, 1, 5, 8}
    # an unlocked loop of the same kind is still coloured where the generator chose i7/V7
    free = _json(capsys, ["--key", "Bb minor", "--style", "jazz", "--seed", "2"])
    assert any(c in ("Bbm9", "F7(b9)") for c in free["chords"])


def _key_signature(path) -> str:
    return next(m.key for tr in mido.MidiFile(path).tracks for m in tr
                if m.type == "key_signature")


def test_minor_numerals_on_a_bare_tonic_make_the_key_minor(capsys, tmp_path):
    """--key D --progression "i iv v i" said D major over Dm Gm Am Dm, wrote a D major key
    signature, and the file read back as D major."""
    out = tmp_path / "p68.mid"
    res = _json(capsys, ["--key", "D", "--meter", "6/8", "--progression", "i iv v i",
                         "-o", str(out)])
    assert res["key"] == "D minor" and res["chords"] == ["Dm", "Gm", "Am", "Dm"]
    assert _key_signature(out) == "Dm"
    back = _json(capsys, ["--from-midi", str(out), "--midi-action", "reharmonise"])
    assert back["key"] == "D minor"


@pytest.mark.parametrize(("argv", "key"), [
    (["--mood", "sad", "--key", "D", "--progression", "I IV V I"], "D major"),
    (["--mood", "happy", "--progression", "vi iv i V"], "C minor"),
    (["--mood", "happy", "--key", "A", "--progression", "ii7 V7 i7"], "A minor"),
])
def test_the_typed_tonic_chord_decides_a_mode_nobody_named(capsys, argv, key):
    assert _json(capsys, argv)["key"] == key


def test_a_named_mode_the_tonic_contradicts_is_kept_and_said(capsys):
    res = _json(capsys, ["--key", "D major", "--progression", "i iv v i"])
    assert res["key"] == "D major" and res["chords"] == ["Dm", "Gm", "Am", "Dm"]
    assert any("tonic chord is i (minor)" in n and "kept D major" in n for n in res["notes"])
    res = _json(capsys, ["--key", "D", "--mode", "minor", "--progression", "I IV V I"])
    assert res["key"] == "D minor"
    assert any("tonic chord is I (major)" in n for n in res["notes"])
    assert not _json(capsys, ["--key", "D minor", "--progression", "i iv V i"])["notes"]


def test_the_tempo_says_its_unit_in_6_8(capsys, tmp_path):
    """6/8 printed "100 bpm ... (beat = dotted quarter)" while the MIDI tempo is 100 quarter
    notes a minute (66.7 dotted quarters)."""
    out = tmp_path / "t.mid"
    assert main(["chords", "--key", "D", "--meter", "6/8", "--progression", "i iv v i",
                 "--tempo", "100", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "100 bpm (quarter notes) = 66.7 dotted quarters a minute, 6/8" in text
    msgs = [m for tr in mido.MidiFile(out).tracks for m in tr]
    assert [m.tempo for m in msgs if m.type == "set_tempo"] == [mido.bpm2tempo(100)]
    sig = next(m for m in msgs if m.type == "time_signature")
    assert (sig.numerator, sig.denominator) == (6, 8)
    res = _json(capsys, ["--key", "D", "--meter", "6/8", "--progression", "i iv v i",
                         "--tempo", "90"])
    assert (res["tempo_bpm"], res["tempo_unit"], res["beat_bpm"]) == (90.0, "quarter", 60.0)
    assert main(["chords", "--key", "C", "--progression", "I V", "--tempo", "100"]) == 0
    four = capsys.readouterr().out
    assert "100 bpm, 4/4" in four and "quarter notes" not in four


def test_the_tempo_help_names_its_unit(capsys):
    with pytest.raises(SystemExit):
        main(["chords", "--help"])
    assert "quarter notes a minute" in " ".join(capsys.readouterr().out.split())
