"""``musicapp chords`` options that combine: --lock with --progression."""

from __future__ import annotations

import json

import pytest

from musicapp.cli import main


def _roman(capsys, argv: list[str]) -> list[str]:
    assert main(["chords", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["roman"]


def test_a_lock_on_a_kept_chord_of_a_progression_is_applied(capsys):
    """The kept chords of --progression overrode --lock silently (I ii V I stayed I ii ...)."""
    roman = _roman(capsys, ["--progression", "I ii V I", "--lock", "2=V7/V", "--regenerate",
                            "3", "--seed", "2"])
    assert roman[0] == "I" and roman[1] == "V7/V" and roman[3] == "I"
    roman = _roman(capsys, ["--progression", "I ii V I", "--lock", "3=V7/V", "--regenerate",
                            "3", "--seed", "2"])  # locked and regenerated: the lock wins
    assert roman == ["I", "ii", "V7/V", "I"]


def test_lock_positions_are_checked_against_the_progression(capsys):
    """--lock 5 on a 4-chord progression was accepted and ignored; --lock 10 on a 10-chord one
    was refused against the default --length of 8."""
    assert main(["chords", "--progression", "I ii V I", "--lock", "5=V7/V",
                 "--regenerate", "3"]) == 2
    assert "outside the 4-chord progression" in capsys.readouterr().err
    roman = _roman(capsys, ["--progression", "I ii V I I ii V I IV V", "--lock", "10=V7",
                            "--regenerate", "3", "--seed", "1"])
    assert roman[9] == "V7" and len(roman) == 10


def _refused(capsys, argv: list[str], said: str) -> None:
    """``argv`` ends with "musicapp: error: ...said...", exit 2, before any file is written."""
    assert main(["chords", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musicapp: error: ") and said in err and "Traceback" not in err, err


def test_a_key_that_names_its_mode_and_a_contradicting_mode_are_refused(capsys):
    """--key 'A minor' --mode major gave A major silently."""
    _refused(capsys, ["--key", "A minor", "--mode", "major"],
             "--key 'A minor' is minor but --mode says major")
    _refused(capsys, ["--key", "Am", "--mode", "major"], "is minor but --mode says major")
    _refused(capsys, ["--key", "a", "--mode", "major"], "is minor but --mode says major")
    _refused(capsys, ["--key", "C major", "--mode", "minor"], "is major but --mode says minor")
    _refused(capsys, ["--key", "H", "--mode", "minor"], "'H'")  # an unreadable key is named


@pytest.mark.parametrize(("key", "mode", "expected"), [
    ("A", "minor", "A minor"), ("F#", "minor", "F# minor"), ("Bb", "minor", "Bb minor"),
    ("Am", "minor", "A minor"), ("A minor", "minor", "A minor"), ("C major", "major", "C major"),
])
def test_a_bare_tonic_takes_the_mode_and_agreeing_ones_are_accepted(capsys, key, mode, expected):
    assert main(["chords", "--key", key, "--mode", mode, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["key"] == expected


def test_two_different_chords_locked_at_one_position_are_refused(capsys, tmp_path):
    """--lock 2=V --lock 2=IV kept the last one silently."""
    out = tmp_path / "idea.mid"
    _refused(capsys, ["--lock", "2=V", "--lock", "2=IV", "-o", str(out)],
             "--lock '2=V' and --lock '2=IV': two different chords locked at position 2")
    assert not out.exists()
    _refused(capsys, ["--progression", "I ii V I", "--regenerate", "3", "--lock", "2=V7/V",
                      "--lock", "2=ii"], "two different chords locked at position 2")
    # the same chord twice (also spelt differently) is one lock
    roman = _roman(capsys, ["--lock", "2=V", "--lock", "2=V", "--lock", " 2 =V", "--seed", "4"])
    assert roman[1] == "V"


@pytest.mark.parametrize("item", ["²=V", "=V", "2=", "x=V", "2", "0=V", "9=V"])
def test_malformed_locks_are_refused(capsys, item):
    """'²'.isdigit() is true but int('²') raised: a traceback."""
    assert main(["chords", "--lock", item]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"musicapp: error: --lock {item!r}") and "Traceback" not in err


@pytest.mark.parametrize("option", ["--mood", "--key", "--meter", "--style"])
def test_empty_words_are_refused(capsys, option):
    """--mood '' was ignored: a loop for the default emotion came back."""
    with pytest.raises(SystemExit) as exc:
        main(["chords", option, " "])
    assert exc.value.code == 2
    assert f"argument {option}: the {option[2:]} is empty" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "said"), [
    (["--regenerate", "2"], "need --progression"),
    (["--regenerate-from", "2"], "need --progression"),
    (["--progression", "I V vi IV", "--regenerate", "2", "--regenerate-from", "3"],
     "not both"),
    (["--progression", "I V vi IV", "--length", "16", "--regenerate", "2"],
     "drop --length"),
    (["--midi-action", "fill"], "--midi-action fill needs --from-midi"),
    (["--soundfont", "GeneralUser.sf2"], "--soundfont is used by --wav and --play only"),
    (["--from-midi", "clip.mid", "--lock", "2=V"], "a lock would not be applied"),
    (["--from-midi", "clip.mid", "--midi-action", "fill", "--length", "4"],
     "the result has the clip's length"),
])
def test_options_that_would_be_ignored_are_refused(capsys, argv, said):
    """Each was accepted and ignored (or the other option won silently)."""
    _refused(capsys, ["--mood", "happy", *argv], said)


def test_the_weights_file_is_never_the_output(capsys, tmp_path):
    """--model was not among the inputs: `--model w.bin --wav w.bin --overwrite` replaced it."""
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights")
    _refused(capsys, ["--mood", "sad", "--model", str(weights), "--wav", str(weights),
                      "--overwrite"], "is the input file")
    assert weights.read_bytes() == b"weights"
