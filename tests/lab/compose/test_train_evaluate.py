"""`musicapp train chords` and `musicapp evaluate chords` run end to end (small settings)."""

from __future__ import annotations

import json

import pytest

from musicapp.cli import main
from musicapp.compose.model import ChordModel


@pytest.mark.slow
def test_train_one_epoch_then_evaluate(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "g.safetensors"
    assert main(["train", "chords", "--epochs", "1", "-o", str(out)]) == 0
    log = capsys.readouterr().out
    assert "epoch   1" in log and "sha256" in log
    model = ChordModel.load(out)  # checksum sidecar written and verified
    assert model.meta["training"]["epochs"] == 1 and len(model.train_ngram8) > 1000
    res_path = tmp_path / "eval.json"
    assert main(["evaluate", "chords", "--model", str(out), "--constraint-loops", "200",
                 "--condition-loops", "20", "--loops", "40", "--regenerate-trials", "50",
                 "--json", str(res_path)]) == 0
    table = capsys.readouterr().out
    assert "trigram (interpolated)" in table and "constraints satisfied: 200/200" in table
    res = json.loads(res_path.read_text())
    ppl = res["perplexity"]
    assert ppl["unigram"]["perplexity"] > ppl["bigram"]["perplexity"]
    assert res["constraints"]["rate"] == 1.0 and res["constraints"]["bar_aligned"] == 200
    assert res["regenerate"]["returned_current"] == 0
