"""The torch log-Mel front end equals the numpy one (CPU, the same code path as on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.features import log_mel
from musicapp.features.torch_mel import TorchLogMel
from tests.helpers.signals import chord, noise

torch = pytest.importorskip("torch")


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seconds", [0.01, 0.0317, 1.0, 2.5, 180.0])
def test_equal_to_numpy_front_end(seconds, device):
    n = int(seconds * 16000)
    reps = int(np.ceil(seconds / 3.0))
    y = np.tile(chord([220, 277, 330], 3.0, 16000) + noise(3.0, 16000, seed=4), reps)[:n]
    y = y.astype(np.float32)
    ours = TorchLogMel(device)(y)
    ref = log_mel(y)
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32
    assert ours.device.type == device
    assert tuple(ours.shape) == ref.shape == (1 + n // 256, 96)
    np.testing.assert_allclose(ours.cpu().numpy(), ref, atol=1e-4, rtol=0)


def test_batch_and_chunks_equal_single_signals(monkeypatch):
    import musicapp.features.torch_mel as tm

    monkeypatch.setattr(tm, "CHUNK_FRAMES", 7)  # many chunks: the chunk seams must be exact
    rng = np.random.default_rng(1)
    batch = rng.uniform(-1, 1, (3, 16000)).astype(np.float32)
    front = TorchLogMel("cpu")
    out = front(torch.from_numpy(batch))
    assert tuple(out.shape) == (3, 63, 96)
    for i in range(3):
        np.testing.assert_allclose(out[i].numpy(), log_mel(batch[i]), atol=1e-4, rtol=0)


def test_loud_input_stays_finite():
    y = np.sign(noise(1.0, 16000, seed=2)).astype(np.float32)  # full-scale square noise
    out = TorchLogMel("cpu")(y).numpy()
    assert np.isfinite(out).all() and out.max() > 4.0
    np.testing.assert_allclose(out, log_mel(y), atol=1e-4, rtol=0)


def test_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        TorchLogMel("cpu")(np.zeros((2, 2, 100), np.float32))
