"""``musicapp chords`` as a musician uses it (an outside look): a sad idea on a bare tonic is in
minor, --progression alone is arranged and exported, the chord symbols the app writes are read
back, 6/8 lengths are counted in dotted quarters."""

from __future__ import annotations

import json

import mido
import pytest

from musicapp.cli import main
from musicapp.compose.theory import Key, chord_name_pcs


def _json(capsys, argv: list[str]) -> dict:
    assert main(["chords", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("mood", "expected"), [("sad", "D minor"), ("happy", "D major")])
def test_a_bare_tonic_takes_the_moods_mode(capsys, mood, expected):
    """--mood sad --key D gave D major (D C A D ...), though --help says the mode defaults to
    minor for negative valence unless the key names its mode."""
    out = _json(capsys, ["--mood", mood, "--key", "D", "--seed", "1"])
    assert out["key"] == expected
    assert _json(capsys, ["--mood", "sad", "--key", "D major"])["key"] == "D major"
    assert _json(capsys, ["--valence", "-0.6", "--arousal", "0", "--key", "Bb"])["key"] == \
        "Bb minor"


def _midi_chords(path) -> tuple[list[str], dict[str, list[int]]]:
    mid = mido.MidiFile(path)
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    notes = {tr.name: [m.note for m in tr if m.type == "note_on" and m.velocity > 0]
             for tr in mid.tracks[1:]}
    return markers, notes


def test_a_progression_alone_is_exported_as_given(capsys, tmp_path):
    """`chords --progression "..." -o out.mid` needed --regenerate; now it writes the given
    chords, voiced, with bass and melody (read back with mido)."""
    out = tmp_path / "p.mid"
    res = _json(capsys, ["--mood", "happy", "--key", "G", "--progression", "I vi IV V7",
                         "--pattern", "block", "-o", str(out)])
    assert res["chords"] == ["G", "Em", "C", "D7"] and res["midi"] == str(out)
    markers, notes = _midi_chords(out)
    assert markers == ["G", "Em", "C", "D7"]
    assert notes["Chords"] and notes["Bass"] and notes["Melody"]
    assert notes["Bass"][0] % 12 == 7  # the bass starts on G's root
    mid = mido.MidiFile(out)
    ticks, sounding = 0, []
    for m in next(tr for tr in mid.tracks if tr.name == "Chords"):
        ticks += m.time
        if m.type == "note_on" and m.velocity > 0 and ticks == 0:
            sounding.append(m.note % 12)
    assert set(sounding) == {7, 11, 2}  # G major voiced at the start


def test_the_symbols_the_app_writes_are_accepted_and_voiced(capsys, tmp_path):
    """`--progression "i9 iiø7 V7b9 i7"` was refused; the jazz numerals and symbols the app
    writes (i9, iiø7, V7b9, V7(b9), maj9) are read and voiced as named."""
    out = tmp_path / "j.mid"
    res = _json(capsys, ["--mood", "sad", "--key", "Bb minor", "--style", "jazz",
                         "--progression", "i9 iiø7 V7b9 i7", "-o", str(out)])
    assert res["chords"] == ["Bbm9", "Cm7b5", "F7(b9)", "Bbm7"]  # each as typed (the i7 too)
    assert res["roman"] == ["i9", "iiø7", "V7b9", "i7"]
    markers, _ = _midi_chords(out)
    assert markers == res["chords"]
    res = _json(capsys, ["--key", "Bb minor", "--progression", "i9 ii\u00f8 V7(b9) VImaj9"])
    assert res["chords"] == ["Bbm9", "Cm7b5", "F7(b9)", "Gbmaj9"]
    assert chord_name_pcs("F7(b9)") == chord_name_pcs("F7b9") == frozenset({5, 9, 0, 3, 6})
    assert Key.parse("Bb minor").mode == "minor"


def test_six_eight_lengths_are_counted_in_dotted_quarters(capsys):
    """In 6/8 each chord was labelled "3 beats" (quarter notes); a musician counts two dotted
    quarters a bar: "1 bar", and half a bar is "1 beat"."""
    assert main(["chords", "--mood", "happy", "--meter", "6/8", "--chords-per-bar", "2",
                 "--seed", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[3].endswith("(beat = dotted quarter)") and "1 beat" in out[3]
    assert "3 beats" not in out[3] and "1.5" not in out[3]
    res = _json(capsys, ["--mood", "happy", "--meter", "6/8", "--chords-per-bar", "1"])
    assert set(res["lengths"]) == {"1 bar"} and res["beat_unit"] == "dotted quarter"
    assert set(res["beats"]) == {3.0}  # the machine field stays in quarter notes


def test_a_jazz_loop_typed_as_shown_is_the_models_own(capsys):
    """`--style jazz --progression "i9 iiø7 V7b9 i7" --regenerate 4`: i9 and V7b9 were "outside
    the model's vocabulary" and the regenerated V7 sat beside V7b9 (F7(b9) F7(b9)); typed as
    the app shows them they are the i7 and V7 it colours."""
    res = _json(capsys, ["--key", "Bb minor", "--style", "jazz", "--seed", "2",
                         "--progression", "i9 iiø7 V7b9 i7", "--regenerate", "4"])
    assert res["tokens"][:3] == ["I:m7", "II:m7b5", "V:7"]
    assert res["chords"][:3] == ["Bbm9", "Cm7b5", "F7(b9)"]
    assert res["chords"][3] != res["chords"][2]
    assert not [n for n in res["notes"] if "outside the model's vocabulary" in n]
