"""The CLI registers `evaluate analysis` and `bench analysis` without heavy imports."""

from __future__ import annotations

import subprocess
import sys

from musicapp.cli import build_parser, main


def test_commands_are_registered():
    parser = build_parser()
    args = parser.parse_args(["evaluate", "analysis", "--split", "dev", "--no-baseline"])
    assert args.split == "dev" and args.no_baseline
    args = parser.parse_args(["bench", "analysis", "--no-accuracy", "--seconds", "20"])
    assert args.seconds == 20.0


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
