"""``musicapp chords`` options that combine: --lock with --progression."""

from __future__ import annotations

import json

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
