"""``evaluate tagger-ablation --out``: an existing results file is refused before training."""

from __future__ import annotations

from musicapp.cli import main


def test_existing_ablation_results_are_refused(tmp_path, capsys):
    out = tmp_path / "ablation.json"
    out.write_text('{"rows": []}')
    assert main(["evaluate", "tagger-ablation", "--epochs", "1", "--out", str(out)]) == 2
    assert f"{out} exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == '{"rows": []}'
