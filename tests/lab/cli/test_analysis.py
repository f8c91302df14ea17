"""``musicapp train chord-prior`` and ``evaluate analysis --reliability``: an existing output is
refused (and kept) without --force, replaced with it."""

from __future__ import annotations

import json

from musicapp.cli import main

LAB = "0.0 2.0 C:maj\n2.0 4.0 A:min\n4.0 6.0 F:maj\n6.0 8.0 G:7\n8.0 10.0 C:maj\n"


def test_chord_prior_refused_then_replaced_with_force(tmp_path, capsys):
    song = tmp_path / "billboard" / "0001"
    song.mkdir(parents=True)
    (song / "full.lab").write_text(LAB)
    out = tmp_path / "prior.json"
    out.write_text("the shipped prior")
    command = ["train", "chord-prior", "--billboard", str(tmp_path / "billboard"),
               "-o", str(out)]
    assert main(command) == 2
    assert f"musicapp: error: {out} exists; pass --force to replace it" in \
        capsys.readouterr().err
    assert out.read_text() == "the shipped prior"
    assert main([*command, "--force"]) == 0
    prior = json.loads(out.read_text())
    assert prior["transitions"] >= 4 and prior["sources"]["mcgill_billboard"]["songs"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["billboard", "prior.json"]


def test_reliability_plot_is_refused_before_any_scoring(tmp_path, capsys):
    plot = tmp_path / "reliability.png"
    plot.write_bytes(b"an earlier diagram")
    # the split is not built in this cache: the refusal comes first, before that error
    assert main(["evaluate", "analysis", "--split", "dev", "--cache-dir", str(tmp_path / "c"),
                 "--reliability", str(plot)]) == 2
    err = capsys.readouterr().err
    assert "exists; pass --force to replace it" in err and "not built" not in err
    assert plot.read_bytes() == b"an earlier diagram"
