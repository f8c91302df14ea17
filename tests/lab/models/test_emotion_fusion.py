"""Fitting, saving and evaluating the valence/arousal fusion (lab side)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from musicapp_lab.models import emotion_features as feats
from musicapp_lab.models import emotion_fusion as ef

from musicapp.models import va_fusion as vf


def test_windows_cover_short_tracks_whole_and_long_tracks_in_excerpts():
    assert feats.windows(50.0) == [(0.0, 50.0)]
    w = feats.windows(600.0)
    assert len(w) == len(feats.WINDOWS) and all(n == feats.WINDOW_S for _, n in w)
    assert all(0 <= o <= 600 - feats.WINDOW_S for o, _ in w)


def test_fit_axis_follows_the_labels_and_lambda_inf_keeps_the_prior():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, len(vf.FEATURES)))
    y = np.where(x[:, 2] - 0.2 * x[:, 0] > 0, 1, -1)  # key_major decides, tagger slightly against
    w0 = ef.prior_vector({"tagger_valence": 1.0, "key_major": 1.0})
    w, _ = ef.fit_axis(x, y, w0, 0.001)
    assert w[2] > w[0] and w[2] > 1.0
    assert np.count_nonzero(w) == 2  # features without a prior weight stay out
    w_inf, b_inf = ef.fit_axis(x, y, w0, math.inf)
    assert np.array_equal(w_inf, w0) and b_inf == 0.0
    w_strong, _ = ef.fit_axis(x, y, w0, 1e6)
    assert np.allclose(w_strong, w0, atol=1e-3)


def _analysis(package: str, key: str, title: str, quality: str, split: str) -> dict:
    segs = [{"start": 3.0 * i, "end": 3.0 * i + 3.0, "valence": 0.1, "arousal": 0.0,
             "energy": 5.0, "moods": []} for i in range(3)]
    return {"status": "ok", "duration_s": 9.0, "valence": 0.1, "arousal": 0.0, "energy": 5,
            "segments": segs, "moods": [], "level_dbfs": -14.0,
            "key_candidates": [{"mode": "major" if quality == "maj" else "minor",
                                "probability": 0.9}],
            "chords": [{"start": 0.0, "end": 9.0, "label": f"C:{quality}"}], "tempo_bpm": 100.0,
            "track_path": f"/x/usr/share/{package}/music/{title}.ogg", "package": package,
            "track_key": key, "split": split, "window": 0}


def test_load_tracks_labels_from_titles_and_model_round_trips(tmp_path):
    analyses = [_analysis("pa", "k1", "HappyVictory", "maj", "train"),
                _analysis("pa", "k2", "SadDefeat", "min", "train"),
                _analysis("pb", "k3", "Sun", "maj", "val"),
                _analysis("pb", "k4", "DarkHell", "min", "val"),
                {"status": "silence", "valence": None, "package": "pb", "track_key": "k5"}]
    tracks = ef.load_tracks(analyses)
    assert [t.labels[0] for t in tracks] == [1, -1, -1, 1]  # sorted by package, title
    mean, scale = ef.standardisation(tracks)
    m = ef.fit_model(tracks, mean, scale, ef.PRIOR, {"valence": 1.0, "arousal": math.inf},
                     np.ones(len(tracks), bool))
    out = ef.track_outputs(m, tracks)
    assert out[0, 0] > out[1, 0] and out[3, 0] > out[2, 0]  # major (bright titles) above minor
    path = tmp_path / vf.WEIGHTS_NAME
    ef.save_model(path, m, {"valence": 1.0, "arousal": math.inf}, len(tracks))
    loaded = vf.load_model(path)
    assert loaded.features == vf.FEATURES and loaded.config["lambda"]["arousal"] == "inf"
    np.testing.assert_allclose(loaded.weight, m.weight, rtol=1e-6)
    back = ef.track_outputs(loaded, tracks)
    np.testing.assert_allclose(back, out, atol=0.02)
    res = ef.aucs(out, tracks, np.ones(len(tracks), bool), n_boot=50)
    assert res["valence"]["auc"] == pytest.approx(1.0)


def test_final_report_scores_the_test_packages_and_saves_nothing():
    analyses = [_analysis("pa", "k1", "HappyVictory", "maj", "train"),
                _analysis("pa", "k2", "SadDefeat", "min", "train"),
                _analysis("pc", "k6", "WinParty", "maj", "val"),
                _analysis("pc", "k7", "LostDeath", "min", "val"),
                _analysis("pb", "k3", "Sun", "maj", "test"),
                _analysis("pb", "k4", "DarkHell", "min", "test")]
    tracks = ef.load_tracks(analyses)
    before = vf.default_path().read_bytes()
    res = ef.final_report(tracks, {"valence": 1.0, "arousal": math.inf}, log=lambda _m: None)
    assert vf.default_path().read_bytes() == before
    rows = res["test packages"]
    assert set(rows) == {"tagger only (baseline)", "prior weights (no fit)",
                         "fusion, fitted (selected)"}
    assert rows["prior weights (no fit)"]["valence"]["auc"] == pytest.approx(1.0)
    assert res["labelled"]["valence test"] == [1, 1]
    assert "| tagger only (baseline) |" in ef.card_tables(
        {"table": {}, "lambda": {"valence": "1.0", "arousal": "inf"}}, res)
