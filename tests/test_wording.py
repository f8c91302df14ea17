"""How percentiles and ordinals are written (one rule for the CLI and the GUI)."""

from __future__ import annotations

from musicapp.wording import ordinal, percentile_ordinal, percentile_text, whole_percentile


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 100, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "100th",
        "101st", "111th"]


def test_a_rounded_percentile_never_reads_as_certainty():
    """99.6 is "99%" (the CLI printed "100%" where the GUI showed 99%); 100 only at the top."""
    assert whole_percentile(99.6) == 99 and whole_percentile(100.0) == 100
    assert percentile_text(99.6) == "99%" and percentile_text(84.4) == "84%"
    assert percentile_ordinal(99.6) == "99th percentile"
    assert percentile_ordinal(1.2) == "1st percentile" and percentile_ordinal(22.0) == "22nd percentile"


def test_cli_and_gui_print_the_same_percentile():
    from musicapp.cli.analyze import summarise
    from musicapp.gui.analysis_view import percent_text

    result = {"path": "t.ogg", "duration_s": 60.0,
              "moods": [{"tag": "mellow", "score": 0.9, "percentile": 99.6}],
              "mood_reference": "among 1686 3-s clips of game music (6 Debian soundtracks)"}
    text = summarise(result)
    assert "moods (percentile among 1686 3-s clips of game music): mellow 99%" in text
    assert percent_text(0.996) == "99%"


def test_a_signed_value_that_rounds_to_zero_has_no_sign():
    from musicapp.wording import signed

    assert [signed(v) for v in (-0.001, 0.0, -0.0, 0.004, 0.005001, -0.35, 0.35)] == [
        "0.00", "0.00", "0.00", "0.00", "+0.01", "-0.35", "+0.35"]
    assert signed(-0.4, 0) == "0" and signed(-3.2, 0) == "-3" and signed(12.6, 1) == "+12.6"
