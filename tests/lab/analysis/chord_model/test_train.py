"""Training helpers of the learned chord recogniser: transposition, class prior, batches."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.analysis.chord_model.data import IGNORE
from musicapp_lab.analysis.chord_model.train import class_log_prior, make_batch, transpose

from musicapp.analysis.labels import N_CHORDS, chord_index


def test_transpose_moves_spectrum_and_roots_together():
    spec = np.zeros((84, 3), dtype=np.float32)
    spec[10, :] = 1.0
    spec[83, 0] = 5.0  # pushed off the top when shifted up
    labels = np.array([chord_index(0, "maj"), N_CHORDS, IGNORE])
    up, lab = transpose(spec, labels, 3)
    assert up[13].tolist() == [1.0, 1.0, 1.0] and up[10].sum() == 0 and up.max() == 1.0
    assert lab.tolist() == [chord_index(3, "maj"), N_CHORDS, IGNORE]
    down, lab = transpose(spec, np.array([chord_index(1, "min7")] * 3), -2)
    assert down[8].tolist() == [1.0, 1.0, 1.0] and down[82, 0] == 0.0 and down[81, 0] == 5.0
    assert lab.tolist() == [chord_index(11, "min7")] * 3


def test_class_prior_is_the_same_for_every_root():
    songs = [{"labels": np.array([chord_index(0, "maj")] * 5 + [chord_index(2, "min7"), N_CHORDS,
                                                               IGNORE])}]
    lp = class_log_prior(songs)
    assert lp.shape == (N_CHORDS + 1,)
    np.testing.assert_allclose(np.exp(lp).sum(), 1.0)
    per_root = lp[:N_CHORDS].reshape(12, -1)
    np.testing.assert_allclose(per_root, np.tile(per_root[0], (12, 1)))
    assert per_root[0, 0] > per_root[0, 4] > per_root[0, 1]  # maj > min7 > unseen min


def test_batches_are_crops_with_their_labels():
    rng = np.random.default_rng(0)
    spec = rng.random((84, 50)).astype(np.float32)
    labels = rng.integers(0, N_CHORDS + 1, 50)
    x, y = make_batch([{"spec": spec, "labels": labels}], rng)
    assert x.shape[1] == 84 and x.shape[:1] == y.shape[:1]
    assert (y[:, 50:] == IGNORE).all()  # the song is shorter than a crop: padding is ignored
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_existing_weights_are_refused_before_training(tmp_path, capsys):
    from musicapp_lab.analysis.chord_model.train import main

    out = tmp_path / "chordcnn.safetensors"
    out.write_bytes(b"twenty minutes of training")
    with pytest.raises(SystemExit) as exit_:
        main(["--data", str(tmp_path / "no-data"), "--out", str(out), "--minutes", "0.01"])
    assert exit_.value.code == 2
    assert f"musicapp: error: {out} exists; pass --force to replace it" in \
        capsys.readouterr().err
    assert out.read_bytes() == b"twenty minutes of training"


def test_comparison_json_is_refused_before_scoring(tmp_path, capsys):
    from musicapp_lab.analysis.chord_model.compare import main

    out = tmp_path / "compare.json"
    out.write_text("an earlier comparison")
    with pytest.raises(SystemExit) as exit_:
        main(["--cache-dir", str(tmp_path / "no-cache"), "--json", str(out)])
    assert exit_.value.code == 2 and "pass --force" in capsys.readouterr().err
    assert out.read_text() == "an earlier comparison"
