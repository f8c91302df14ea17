"""The CLI registers `evaluate analysis` and `bench analysis` without heavy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from musicapp.cli import build_parser, main


def test_commands_are_registered():
    parser = build_parser()
    args = parser.parse_args(["evaluate", "analysis", "--split", "dev", "--no-baseline"])
    assert args.split == "dev" and args.no_baseline
    args = parser.parse_args(["bench", "analysis", "--no-accuracy", "--seconds", "20"])
    assert args.seconds == 20.0
    assert args.split == "dev"  # a benchmark never scores the evaluation split by default


def test_evaluate_chooses_the_chord_emission():
    from musicapp_lab.cli.analysis import _chord_kwargs

    args = build_parser().parse_args(["evaluate", "analysis", "--chords", "templates"])
    assert _chord_kwargs(args.chords)["chord_params"].emission == "templates"
    assert _chord_kwargs("learned")["chord_params"].emission == "learned"
    assert build_parser().parse_args(["evaluate", "analysis"]).chords is None
    assert _chord_kwargs(None) is None  # the product's defaults


def test_missing_set_is_a_clean_error(tmp_path, capsys):
    rc = main(["evaluate", "analysis", "--cache-dir", str(tmp_path), "--no-baseline"])
    assert rc == 2
    assert "--build" in capsys.readouterr().err


def test_cli_module_imports_no_librosa():
    code = ("import sys, musicapp.cli, musicapp_lab.cli.analysis; musicapp.cli.build_parser(); "
            "print('librosa' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_analyze_exports_midi_jams_csv(tmp_path, capsys):
    import mido
    import pretty_midi

    from tests.analysis.conftest import HAVE_SF, render, steady_piece
    from tests.helpers.signals import chord, write_audio

    if HAVE_SF:
        y = render(steady_piece(110.0, 2, "major", 4, max_seconds=20.0))
    else:
        y = np.concatenate([chord(f, 1.0, 22050) for f in ([261.63, 329.63, 392.0],) * 12])
    audio = write_audio(tmp_path / "song.wav", y, 22050)
    mid, jam, table = tmp_path / "a.mid", tmp_path / "a.jams", tmp_path / "a.csv"
    rc = main(["analyze", "--no-tags", str(audio), "--midi", str(mid), "--jams", str(jam),
               "--csv", str(table)])
    assert rc == 0
    assert mido.MidiFile(str(mid)).type == 1
    assert pretty_midi.PrettyMIDI(str(mid)).instruments[0].notes
    assert table.read_text().startswith("type,start,end,value,confidence")
    assert jam.stat().st_size > 100
    # existing outputs are refused before anything is analysed, and left alone
    capsys.readouterr()
    rc = main(["analyze", "--no-tags", str(audio), "--midi", str(mid)])
    assert rc == 2 and "--overwrite" in capsys.readouterr().err
    rc = main(["analyze", "--no-tags", str(audio), str(audio), "--csv", str(tmp_path / "b.csv")])
    assert rc == 2 and "exactly one" in capsys.readouterr().err


def test_bench_without_a_built_set_times_and_exits_0(tmp_path, capsys):
    rc = main(["bench", "analysis", "--seconds", "4", "--repeats", "1", "--split", "dev",
               "--cache-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "not built" in out and "--build" in out
    assert "ratio ours / baseline" in out
