"""The lab's learned key scorer: features from a real render, transposition, weights files."""

from __future__ import annotations

import numpy as np
import pytest
from musicapp_lab.analysis.chord_model.data import beat_segments
from musicapp_lab.analysis.key_model.data import excerpt_inputs
from musicapp_lab.analysis.key_model.features import (
    N_FEATURES,
    KeyModel,
    key_inputs,
    load_key_model,
    save_key_model,
)

from musicapp import pitch
from musicapp.analysis import key as key_mod
from musicapp.analysis.features import SAMPLE_RATE
from musicapp.errors import ModelError
from tests.analysis.conftest import needs_soundfont, render, steady_piece


@pytest.fixture(scope="module")
def e_minor_inputs() -> dict:
    """What the key reads from a rendered E minor progression (the product's own code)."""
    y = render(steady_piece(110.0, 4, "minor", 4, max_seconds=24.0), SAMPLE_RATE)
    spec, bounds, silent = beat_segments(y)
    return excerpt_inputs(spec, bounds, silent, 0, spec.shape[1])


def _transpose_label(label: str, k: int) -> str:
    if label in ("N", "X"):
        return label
    root, _, rest = label.partition(":")
    return f"{pitch.SHARP_NAMES[(pitch.note_pc(root) + k) % 12]}:{rest}"


@needs_soundfont
def test_rule_features_of_a_render_name_its_key(e_minor_inputs):
    ex = e_minor_inputs
    assert any(lab != "N" for lab in ex["learned"])
    x = key_inputs(np.array(ex["key_chroma"]), np.array(ex["bass_chroma"]), ex["learned"],
                   np.array(ex["durations"]))
    assert x.shape == (24, N_FEATURES)
    # the last block is the product rule's evidence: the rule alone names E minor (or G major)
    p = key_mod.key_probabilities(x[:, -len(key_mod.KEY_FEATURES):])
    assert int(np.argmax(p)) in (12 + 4, 7)
    # chord-time shares of a key sum to the share of major/minor/other chords: at most 1
    assert 0.5 < x[0, 24:60].sum() <= 1.0 + 1e-9


@needs_soundfont
@pytest.mark.parametrize("k", [1, 5, 11])
def test_probabilities_move_with_a_transposition(e_minor_inputs, k):
    ex = e_minor_inputs
    rng = np.random.default_rng(k)
    model = KeyModel(rng.normal(size=(2, N_FEATURES)), rng.normal(size=2), 0.7)
    kc, bc = np.array(ex["key_chroma"]), np.array(ex["bass_chroma"])
    dur = np.array(ex["durations"])
    p = model.probabilities(key_inputs(kc, bc, ex["learned"], dur))
    moved = model.probabilities(key_inputs(np.roll(kc, k), np.roll(bc, k),
                                           [_transpose_label(lab, k) for lab in ex["learned"]],
                                           dur))
    expected = np.concatenate([np.roll(p[:12], k), np.roll(p[12:], k)])
    np.testing.assert_allclose(moved, expected, rtol=1e-9, atol=1e-12)


def test_weights_round_trip_and_damaged_files_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    model = KeyModel(rng.normal(size=(2, N_FEATURES)), rng.normal(size=2), 0.9, {"l2": 0.01})
    path = tmp_path / "key.safetensors"
    save_key_model(path, model)
    back = load_key_model(path)
    np.testing.assert_array_equal(back.weights, model.weights)
    np.testing.assert_array_equal(back.bias, model.bias)
    assert back.temperature == 0.9 and back.meta["l2"] == 0.01
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        load_key_model(path)
    with pytest.raises(ModelError, match="not found"):
        load_key_model(tmp_path / "missing.safetensors")
    pickle = tmp_path / "key.pt"
    pickle.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="never pickles"):
        load_key_model(pickle)


def test_bad_weights_are_refused(tmp_path):
    with pytest.raises(ValueError):
        KeyModel(np.zeros((2, N_FEATURES - 1)), np.zeros(2), 1.0)
    with pytest.raises(ValueError):
        KeyModel(np.full((2, N_FEATURES), np.nan), np.zeros(2), 1.0)
    with pytest.raises(ValueError):
        KeyModel(np.zeros((2, N_FEATURES)), np.zeros(2), 0.0)
