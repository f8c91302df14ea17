"""The judged emotion evaluation: real renders, real pipeline, the shipped fusion model."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from musicapp_lab.compose import judge
from scipy.stats import spearmanr

from musicapp.cli import main
from musicapp.errors import FileExistsRefusal
from musicapp.models.calibration import fit_quantiles
from musicapp.models.va_fusion import FEATURES, FusionModel, load_model

CHORD_MAJOR = FEATURES.index("chord_major")
SWAP = {"maj": "min", "min": "maj", "7": "min7", "min7": "7", "maj7": "min7"}


def _flip_qualities(music: dict) -> tuple[dict, int]:
    """A copy of a music part with every major-type chord made minor and vice versa (times,
    roots and everything else unchanged); and how many labels changed."""
    out = copy.deepcopy(music)
    changed = 0
    for c in out["chords"]:
        label = str(c.get("label", "N"))
        if ":" not in label:
            continue
        root, rest = label.split(":", 1)
        quality, _, tail = rest.partition("/")
        if quality in SWAP:
            c["label"] = f"{root}:{SWAP[quality]}" + (f"/{tail}" if tail else "")
            changed += 1
    return out, changed


@pytest.fixture(scope="module")
def loop_analysis():
    """The product pipeline's analysis of a rendered I-IV-V-vi loop in C major (9 s)."""
    from musicapp.compose.generate import Progression
    from musicapp.compose.rhythm import Meter, fixed_plan, plan_beats
    from musicapp.compose.theory import ChordToken, Key
    from musicapp.pipeline import analyze_samples

    meter = Meter(4, 4)
    toks = [ChordToken.parse(t) for t in ("I", "IV", "V", "vi") * 2]
    prog = Progression(Key("C", "major"), toks, plan_beats(fixed_plan(8, "2"), meter), 0.5,
                       0.0, meter=meter)
    y = judge.render_patch(prog, seed=0, patches=3)
    res = analyze_samples(y, judge.RATE, device="cpu", threads=1)
    assert res.status == "ok" and res.tags and res.music
    return res


def test_no_chords_judge_ignores_chord_qualities_the_shipped_judge_does_not(loop_analysis):
    res = loop_analysis
    models, _ = judge.fusion_judges(None)
    flipped, changed = _flip_qualities(res.music)
    assert changed >= 2  # the analysis heard major and minor chords, now swapped
    before = judge.judge_parts(res.tags, res.music, res.level_dbfs, res.duration_s, models)
    after = judge.judge_parts(res.tags, flipped, res.level_dbfs, res.duration_s, models)
    assert np.isfinite(before["fusion"]).all() and np.isfinite(before["fusion-no-chords"]).all()
    assert after["fusion-no-chords"] == before["fusion-no-chords"]
    assert after["fusion"][0] != before["fusion"][0]  # valence follows the chord share
    assert after["fusion"][1] == before["fusion"][1]  # arousal never weighed chord_major


def test_no_chords_model_changes_only_the_chord_weight():
    shipped = load_model()
    nc, note = judge.no_chords_model(shipped, None)
    assert (nc.weight[:, CHORD_MAJOR] == 0).all()
    keep = [i for i in range(len(FEATURES)) if i != CHORD_MAJOR]
    assert np.array_equal(nc.weight[:, keep], shipped.weight[:, keep])
    for a, b in ((nc.mean, shipped.mean), (nc.scale, shipped.scale), (nc.bias, shipped.bias),
                 (nc.quantiles, shipped.quantiles)):
        assert np.array_equal(a, b)
    assert "shipped percentile table" in note
    assert shipped.weight[0, CHORD_MAJOR] != 0  # the shipped model itself is untouched


def test_no_chords_table_is_recomputed_only_on_the_collection_that_reproduces_the_shipped():
    shipped = load_model()
    rng = np.random.default_rng(1)
    segs = shipped.mean + shipped.scale * rng.standard_normal((3000, len(FEATURES)))
    # a base model whose table was fitted on `segs`, as the shipped one was on its collection
    base = FusionModel(shipped.features, shipped.mean, shipped.scale, shipped.weight,
                       shipped.bias, fit_quantiles(shipped.z(segs)).astype(np.float64),
                       shipped.config)
    nc, note = judge.no_chords_model(base, segs)
    assert "recomputed" in note
    assert np.allclose(nc.quantiles, fit_quantiles(nc.z(segs)))
    assert np.array_equal(nc.quantiles[1], base.quantiles[1])  # arousal: same z, same table
    assert not np.allclose(nc.quantiles[0], base.quantiles[0])
    other, note2 = judge.no_chords_model(shipped, segs)  # not the shipped reference collection
    assert np.array_equal(other.quantiles, shipped.quantiles) and "do not reproduce" in note2


def test_spearman_and_its_bootstrap_interval():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 300)
    y = np.round(x + rng.normal(0, 0.8, 300), 1)  # ties on one side
    rho = judge.spearman(x, y)
    assert rho == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    lo, hi = judge.bootstrap_spearman(x, y)
    assert lo < rho < hi and 0.05 < hi - lo < 0.4
    assert judge.bootstrap_spearman(x, y) == (lo, hi)  # fixed seed
    lo0, hi0 = judge.bootstrap_spearman(x, rng.uniform(-1, 1, 300))
    assert lo0 < 0 < hi0
    assert np.isnan(judge.spearman(x[:2], y[:2])) and np.isnan(judge.spearman(x, np.ones(300)))


def test_paired_difference_against_the_random_row():
    rng = np.random.default_rng(5)
    req = rng.uniform(-1, 1, (300, 2))
    good = req + rng.normal(0, 0.3, (300, 2))
    noise = rng.uniform(-1, 1, (300, 2))
    same = judge.paired_difference(req, good, good)
    assert same["valence"] == [0.0, 0.0, 0.0]
    d = judge.paired_difference(req, good, noise)
    for k, ax in enumerate(("valence", "arousal")):
        delta, lo, hi = d[ax]
        assert 0 < lo < delta < hi
        assert delta == pytest.approx(judge.spearman(req[:, k], good[:, k])
                                      - judge.spearman(req[:, k], noise[:, k]))


def test_small_run_scores_both_fusion_judges_and_saves_records(tmp_path):
    path = tmp_path / "records.json"
    out = judge.run(4, patches=1, rows=("GRU alone",), chunk=2, records_path=path,
                    n_boot=50, log=lambda _m: None)
    assert set(out["judges"]) == {"fusion", "fusion-no-chords"}
    for j in ("fusion", "fusion-no-chords"):
        row = out["judges"][j]["rows"]["GRU alone"]
        assert row["n_judged"] == 4 and np.isfinite(row["rho_arousal"])
    data = json.loads(path.read_text())
    assert data["meta"]["judges"] == ["fusion", "fusion-no-chords"]
    loops = data["loops"]
    assert len(loops) == 4 and [r["index"] for r in loops] == [0, 1, 2, 3]
    for r in loops:
        assert np.isfinite(r["measured"]["fusion"]).all()
        assert np.isfinite(r["measured"]["fusion-no-chords"]).all()
        assert r["measured"]["fusion"][1] == r["measured"]["fusion-no-chords"][1]
        assert r["mode"] == ("minor" if r["requested"][0] < judge.MINOR_BELOW else "major")
        assert len(r["descriptors"]) == len(FEATURES) and len(r["chords"]) == 8
        assert len(r["segment_descriptors"]) >= 1
    again = judge.figures_from_records(judge.load_records([path]), n_boot=50)
    assert again["fusion"]["GRU alone"] == out["judges"]["fusion"]["rows"]["GRU alone"]
    before = path.read_bytes()
    with pytest.raises(FileExistsRefusal):
        judge.run(2, rows=("GRU alone",), records_path=path, log=lambda _m: None)
    assert path.read_bytes() == before


def test_cli_recomputes_the_table_from_records(tmp_path, capsys):
    recs = {"meta": {}, "loops": [
        {"row": row, "index": i, "requested": [v, a],
         "mode": "minor" if v < judge.MINOR_BELOW else "major",
         "measured": {"fusion": [v + 0.1 * np.sin(7 * i), a], "fusion-no-chords": [0.3, a]}}
        for row in ("random in-key", "GRU alone")
        for i, (v, a) in enumerate(np.random.default_rng(0).uniform(-1, 1, (40, 2)).tolist())]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recs))
    assert main(["evaluate", "chord-emotion", "--from-records", str(path)]) == 0
    table = capsys.readouterr().out
    lines = {" ".join(ln.split()[:3]): ln for ln in table.splitlines()}
    assert "+1.000" in lines["fusion random in-key"]  # arousal copied exactly
    assert "nan" in lines["fusion-no-chords random in-key"]  # constant valence
    diff = [ln for ln in table.splitlines() if "GRU alone - random in-key" in ln]
    assert len(diff) == 2 and "valence +0.000 [+0.00, +0.00]" in diff[0]  # identical rows
    assert main(["evaluate", "chord-emotion", "--from-records", str(tmp_path / "no.json")]) == 2


def test_fusion_judge_scores_every_loop_and_names_itself():
    out = judge.run(6, patches=3, rows=("random in-key",), chunk=3, log=lambda _m: None)
    row = out["rows"]["random in-key"]
    assert out["judge"] == "fusion" and row["n_judged"] == 6
    measured = np.array(out["measured"]["random in-key"], dtype=float)
    assert measured.shape == (6, 2) and np.isfinite(measured).all()
    assert (np.abs(measured) <= 1.0).all()
    assert -1.0 <= row["rho_valence"] <= 1.0


def test_unknown_judge_is_refused():
    with pytest.raises(ValueError, match="judge"):
        judge.run(2, judge="listener")


def test_records_from_a_fifo_or_a_folder_are_refused_without_blocking(tmp_path):
    import os

    from musicapp.errors import MusicappError

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(MusicappError, match="not a regular file"):
        judge.load_records([fifo])  # reading it would wait for a writer forever
    with pytest.raises(MusicappError, match="not a regular file"):
        judge.load_records([tmp_path])
    with pytest.raises(MusicappError, match="missing"):
        judge.load_records([tmp_path / "none.json"])
