"""Issue 14 C9, library commands: bad numbers, ranges and scheduler addresses give a clear error."""

from __future__ import annotations

import pytest

from musicapp.cli import main


@pytest.mark.parametrize("argv", [
    ["similar", "1", "-k", "0"], ["similar", "1", "-k", "-3"], ["similar", "1", "-k", "100000000"],
    ["search", "--mood-percentile", "nan"], ["identify", "x.wav", "--threshold", "inf"],
    ["add", "x", "--workers", "-1"], ["add", "x", "--dask", "nonsense"],
])  # fmt: skip
def test_bad_options_are_refused_by_the_parser(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["library", *argv, "--db", str(tmp_path / "l.sqlite3")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "error: argument" in err and "Traceback" not in err


@pytest.mark.parametrize(("argv", "needle"), [
    (["search", "--bpm", "nan"], "bad range"), (["search", "--duration", "1-2-3"], "bad range"),
    (["search", "--key", "H minor"], "bad key"), (["similar", "²"], "No such file"),
    (["similar", "."], "not a regular audio file"), (["similar", "999"], "no track with id 999"),
])  # fmt: skip
def test_bad_values_give_a_clear_error(argv, needle, tmp_path, capsys):
    from tests.attack.test_library_db import _synthetic_library

    _synthetic_library(tmp_path / "l.sqlite3", 3)
    rc = main(["library", *argv, "--db", str(tmp_path / "l.sqlite3")])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and "Traceback" not in err, err
