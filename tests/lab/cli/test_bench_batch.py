"""``musicapp bench batch --out``: an existing figures file is refused before any track is
made."""

from __future__ import annotations

from musicapp.cli import main


def test_existing_figures_file_is_refused_before_the_benchmark(tmp_path, capsys):
    out = tmp_path / "figures.json"
    out.write_text("the quiet-machine figures")
    work = tmp_path / "bench"
    assert main(["bench", "batch", "--tracks", "2", "--seconds", "1", "--dir", str(work),
                 "--out", str(out)]) == 2
    assert "exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "the quiet-machine figures"
    assert not work.exists()  # nothing was generated
