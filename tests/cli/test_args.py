"""The shared argument checks (``musicapp/cli/_args.py``): ranges, words, plain numbers."""

from __future__ import annotations

import argparse

import pytest

from musicapp.cli import build_parser, main
from musicapp.cli._args import harden, text, value_range


@pytest.mark.parametrize(("given", "low", "high"), [
    ("80-100", 80.0, 100.0), ("80..100", 80.0, 100.0), (" 80 - 100 ", 80.0, 100.0),
    ("80–100", 80.0, 100.0), ("80 to 100", 80.0, 100.0), ("0-95", 0.0, 95.0),
    ("90", 89.5, 90.5), ("0.4", 0.0, 0.9), ("1e2-1.2e2", 100.0, 120.0), ("100-100", 100.0, 100.0),
])
def test_value_range_reads_ranges_and_one_number(given, low, high):
    text_out = value_range("bpm", 1000, example="80-100")(given)
    lo, hi = (float(x) for x in text_out.split("-"))
    assert (lo, hi) == pytest.approx((low, high))


@pytest.mark.parametrize("given", ["100-80", "0-0", "0", "-1", "1-2-3", "nan", "inf-inf", "x",
                                   "", "1001", "80-", "-80"])
def test_value_range_refuses(given):
    with pytest.raises(argparse.ArgumentTypeError):
        value_range("bpm", 1000, example="80-100")(given)


def test_text_refuses_blank_and_nul_and_strips():
    parse = text("mood")
    assert parse("  calm ") == "calm"
    for bad in ("", "   ", "\t", "calm\0"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


def _toy() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="toy", exit_on_error=True)
    sub = p.add_subparsers(dest="cmd")
    t = sub.add_parser("run")
    t.add_argument("--repeats", type=int, default=3)
    t.add_argument("--limit", type=int, default=None)
    t.add_argument("--seconds", type=float, default=180.0)
    t.add_argument("--offset", type=float, default=-1.0)
    t.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    t.add_argument("--cache", default="data/cache")
    t.add_argument("--tag", action="append", default=[])
    t.add_argument("--shift", type=int, default="-2")  # a string default goes through the type
    t.add_argument("--note", default="")  # a blank default stays possible
    return harden(p)


@pytest.mark.parametrize("argv", [
    ["--repeats", "0"], ["--repeats", "-2"], ["--limit", "-1"], ["--seconds", "nan"],
    ["--seconds", "inf"], ["--seconds", "-5"], ["--offset", "nan"], ["--threads", "1", "0"],
    ["--repeats", "2.5"], ["--cache", ""], ["--cache", "  "], ["--tag", "x", "--tag", ""],
])
def test_harden_refuses_nan_and_negative_or_zero_counts(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _toy().parse_args(["run", *argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and ("must be a" in err or "is empty" in err), err


def test_harden_keeps_sensible_values():
    args = _toy().parse_args(["run", "--repeats", "1", "--limit", "0", "--seconds", "0.5",
                              "--offset", "-7.5", "--threads", "1", "4", "--cache", " c "])
    assert (args.repeats, args.limit, args.seconds, args.offset, args.threads) == (1, 0, 0.5, -7.5,
                                                                                  [1, 4])
    assert args.cache == " c "  # kept as given
    assert (args.shift, args.note) == (-2, "")


def test_every_command_is_hardened():
    """No option of any command (the lab's plug-ins included) keeps a bare int or float type."""
    seen = []

    def walk(p):
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            else:
                seen.append(action)
                assert action.type not in (int, float), (p.prog, action.option_strings)
                if (action.option_strings and isinstance(action, argparse._StoreAction)
                        and action.nargs in (None, "?")):
                    assert action.type is not None, (p.prog, action.option_strings)

    walk(build_parser())
    assert len(seen) > 50


def test_a_lab_count_of_zero_is_refused_on_the_command_line(capsys):
    pytest.importorskip("musicapp_lab")
    for argv in (["bench", "audio", "--repeats", "0"], ["bench", "audio", "--seconds", "nan"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "must be a" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "said"), [
    (["chords", "--mood", "sad", "-o", "idea.wav"], "writes a MIDI file, and this name ends in "
     ".wav (name it *.mid); did you mean --wav?"),
    (["chords", "--mood", "sad", "--wav", "idea.mid"], "did you mean -o?"),
    (["chords", "--mood", "sad", "--wav", "idea.MP3"], "writes a WAV file"),
    (["record", "take.flac", "--seconds", "1"], "record writes a WAV file"),
    (["analyze", "song.wav", "--midi", "song.flac"], "--midi writes a MIDI file"),
    (["analyze", "song.wav", "--jams", "song.csv"], "--jams writes a JAMS file"),
    (["analyze", "song.wav", "--csv", "song.mid"], "--csv writes a CSV file"),
])
def test_an_output_named_like_another_kind_of_file_is_refused(argv, said, tmp_path, monkeypatch,
                                                              capsys):
    """`chords -o idea.wav` wrote MIDI data into a .wav; `--midi song.flac` could replace a
    track with a MIDI file (with --overwrite)."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("musicapp: error: ") and said in err, err
    assert list(tmp_path.iterdir()) == []


def test_output_kind_accepts_its_own_kind_and_unknown_endings():
    from musicapp.cli._args import check_output_kind

    for name in ("idea.mid", "idea.MIDI", "idea", "take.v2", "my idea.mid", None):
        check_output_kind(name, "MIDI", "-o")  # no error
