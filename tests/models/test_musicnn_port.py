"""Parity of the torch musicnn port with the original TensorFlow graph (no TensorFlow needed):
the fixture holds the TF outputs of all four checkpoints on a fixed batch of 8 log-Mel patches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from musicapp.errors import ModelError
from musicapp.models.musicnn import (
    MODEL_NAMES,
    MSD_TAGS,
    MTT_TAGS,
    Musicnn,
    MusicnnVGG,
    load_musicnn,
    models_dir,
    weights_path,
)
from musicapp.models.weights import expected_sha256, load_metadata

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as ref:
        return {k: ref[k] for k in ref.files}


@pytest.fixture(scope="module")
def outputs(reference) -> dict[str, dict[str, np.ndarray]]:
    x = torch.from_numpy(reference["input_logmel"])
    result = {}
    for name in MODEL_NAMES:
        with torch.inference_mode():
            out = load_musicnn(name)(x)
        result[name] = {k: v.numpy() for k, v in out.items()}
    return result


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_probabilities_match_tensorflow(name, reference, outputs):
    np.testing.assert_allclose(outputs[name]["prob"], reference[f"{name}_prob"], rtol=0, atol=1e-5)
    # The tags ranked first agree exactly.
    assert (outputs[name]["prob"].argmax(1) == reference[f"{name}_prob"].argmax(1)).all()


@pytest.mark.parametrize("name", ["MSD_musicnn", "MTT_musicnn"])
@pytest.mark.parametrize("key", ["logits", "penultimate", "mean_pool", "max_pool"])
def test_intermediate_features_match_tensorflow(name, key, reference, outputs):
    ref = reference[f"{name}_{key}"]
    scale = max(1.0, float(np.abs(ref).max()))  # 1e-5 of the tensor's range (float32 sums)
    np.testing.assert_allclose(outputs[name][key], ref, rtol=0, atol=1e-5 * scale)


def test_pooled_vector_is_interleaved_max_mean(outputs):
    out = outputs["MSD_musicnn"]
    np.testing.assert_array_equal(out["pooled"][:, 0::2], out["max_pool"])
    np.testing.assert_array_equal(out["pooled"][:, 1::2], out["mean_pool"])


def test_output_shapes(outputs):
    out = outputs["MTT_musicnn"]
    expected = {"timbral": (8, 408, 187), "temporal": (8, 153, 187), "frontend": (8, 561, 187),
                "mid1": (8, 64, 187), "mid2": (8, 64, 187), "mid3": (8, 64, 187),
                "pooled": (8, 1506), "penultimate": (8, 200), "logits": (8, 50),
                "prob": (8, 50)}  # fmt: skip
    for key, shape in expected.items():
        assert out[key].shape == shape, key
    np.testing.assert_array_equal(out["frontend"][:, :408], out["timbral"])
    assert outputs["MSD_vgg"]["pool5"].shape == (8, 128, 2, 1)


def test_other_patch_lengths_work():
    model = load_musicnn("MSD_musicnn")
    with torch.inference_mode():
        out = model(torch.zeros(2, 40, 96))
    assert out["frontend"].shape == (2, 561, 40) and out["prob"].shape == (2, 50)
    assert torch.isfinite(out["prob"]).all()


def test_batch_independence_in_eval_mode(reference):
    """Eval mode: a patch's output does not depend on the rest of the batch."""
    model = load_musicnn("MSD_musicnn")
    assert not model.training
    x = torch.from_numpy(reference["input_logmel"])
    with torch.inference_mode():
        full = model(x)["prob"]
        single = model(x[3:4])["prob"]
    torch.testing.assert_close(single[0], full[3], rtol=0, atol=1e-6)


def test_bad_input_shape_raises_model_error():
    with pytest.raises(ModelError, match="expects input"):
        Musicnn()(torch.zeros(1, 187, 40))
    with pytest.raises(ModelError, match="expects input"):
        MusicnnVGG()(torch.zeros(1, 100, 96))


def test_unknown_model_name():
    with pytest.raises(ModelError, match="unknown musicnn model"):
        load_musicnn("GTZAN_musicnn")


def test_tag_lists():
    assert len(MSD_TAGS) == len(set(MSD_TAGS)) == 50
    assert len(MTT_TAGS) == len(set(MTT_TAGS)) == 50
    assert MSD_TAGS[0] == "rock" and MSD_TAGS[-1] == "happy" and MSD_TAGS[47] == "sad"
    assert MTT_TAGS[2] == "slow" and MTT_TAGS[8] == "fast"
    meta = load_metadata(weights_path("MSD_musicnn"))
    assert tuple(json.loads(meta["tags"])) == MSD_TAGS
    assert tuple(json.loads(load_metadata(weights_path("MTT_vgg"))["tags"])) == MTT_TAGS


def test_model_card_lists_the_shipped_checksums_and_licence():
    card = (models_dir() / "MUSICNN_MODEL_CARD.md").read_text()
    for name in MODEL_NAMES:
        path = weights_path(name)
        assert f"{expected_sha256(path)}  {path.name}" in card
    assert "Music Technology Group, Universitat Pompeu Fabra" in card
    assert "Permission to use, copy, modify, and/or distribute" in card
    assert "0.8802" in card and "0.9067" in card  # reported ROC-AUC, MSD and MTT
    calibration = models_dir() / "musicnn_calibration.safetensors"
    if calibration.exists():
        assert f"sha256 `{expected_sha256(calibration)}`" in card
