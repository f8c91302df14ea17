"""Training of the lab's key scorer: the fit, song-grouped folds, temperature, scores."""

from __future__ import annotations

import numpy as np
from musicapp_lab.analysis.key_model import train
from musicapp_lab.analysis.key_model.data import main_key
from musicapp_lab.analysis.key_model.features import N_FEATURES, KeyModel


def _synthetic(n: int, seed: int) -> dict:
    """Excerpts whose keys are drawn from a known equivariant model (a fit must find it)."""
    rng = np.random.default_rng(seed)
    true = KeyModel(rng.normal(size=(2, N_FEATURES)), np.array([0.0, -0.3]), 0.5)
    X = rng.normal(size=(n, 24, N_FEATURES))
    y = np.array([rng.choice(24, p=true.probabilities(x)) for x in X])
    songs = np.array([f"{i // 3:03d}" for i in range(n)])
    return {"X": X, "y": y, "songs": songs, "opening": np.arange(n) % 3 == 0,
            "rule": np.full((n, 24), 1 / 24)}


def test_fit_recovers_a_known_model_better_than_chance():
    data = _synthetic(600, 1)
    W, b = train.fit(data["X"][:450], data["y"][:450], 1e-3)
    S = train._scores(data["X"][450:], W, b)
    accuracy = float(np.mean(S.argmax(axis=1) == data["y"][450:]))
    assert accuracy > 0.5  # chance is 1/24
    T = train.fit_temperature(S, data["y"][450:])
    assert 0.2 < T < 5.0


def test_folds_keep_every_song_in_one_fold():
    data = _synthetic(90, 2)
    folds = train.folds_of(data["songs"])
    for song in set(data["songs"].tolist()):
        assert len(set(folds[data["songs"] == song].tolist())) == 1
    assert set(folds.tolist()) == set(range(train.FOLDS))


def test_rule_prior_with_a_strong_penalty_keeps_the_rule():
    data = _synthetic(60, 3)
    W, _ = train.fit(data["X"], data["y"], 1e6, prior="rule")
    np.testing.assert_allclose(W, train.rule_weights(N_FEATURES), atol=1e-3)


def test_metrics_and_relative_keys():
    y = np.array([0, 12 + 9, 7, 0])  # C major, A minor, G major, C major
    P = np.full((4, 24), 0.01)
    P[0, 0] = P[1, 0] = P[2, 7] = P[3, 12 + 9] = 0.77  # right, relative, right, relative
    m = train.metrics(P, y)
    assert m["exact"][0] == 0.5 and m["relative"][0] == 0.5
    assert abs(m["mirex"][0] - (1 + 0.3 + 1 + 0.3) / 4) < 1e-9
    assert train._relative(0) == 12 + 9 and train._relative(12 + 9) == 0


def test_main_key_is_the_longest_key_inside_the_excerpt():
    segs = [(0.0, 10.0, 0, "major"), (10.0, 40.0, 9, "minor"), (40.0, 90.0, 7, "major")]
    assert main_key(segs, 0.0, 35.0) == (9, "minor")
    assert main_key(segs, 30.0, 75.0) == (7, "major")
    assert main_key(segs, 100.0, 130.0) is None


def test_one_file_for_weights_and_report_is_refused_before_any_work(tmp_path, capsys):
    import pytest

    out = tmp_path / "keylinear.safetensors"
    with pytest.raises(SystemExit) as info:  # no excerpts file: it stops before reading one
        train.main(["--excerpts", str(tmp_path / "none.json"), "--out", str(out),
                    "--report", str(tmp_path / "." / out.name)])
    assert info.value.code == 2
    assert "the same file is named for --out and --report" in capsys.readouterr().err
